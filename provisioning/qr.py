"""QR codes for what volunteers scan: join codes and the hub's Wi-Fi (segno; pure).

SVG for pages and printing (scales without blur), PNG for phones and chat apps. Error
correction "M" (15%) survives a creased or smudged printout.
"""

from __future__ import annotations

import io

import segno

PNG_SCALE = 8  # pixels per module: readable from a phone held at arm's length
_WIFI_SPECIAL = '\\;,:"'


def _qr(text: str) -> segno.QRCode:
    # Byte mode in UTF-8, never Kanji mode (Shift JIS), which phones would misread in a name.
    return segno.make(text, error="m", micro=False, mode="byte", encoding="utf-8")


def svg(text: str, *, title: str) -> str:
    """An inline ``<svg>`` element for ``text`` (``title`` is what screen readers say)."""
    return str(_qr(text).svg_inline(scale=4, border=4, title=title, omitsize=True))


def png(text: str) -> bytes:
    out = io.BytesIO()
    _qr(text).save(out, kind="png", scale=PNG_SCALE, border=4)
    return out.getvalue()


def wifi_text(ssid: str) -> str:
    """The ``WIFI:`` text phones' cameras understand, for an open network."""
    escaped = "".join("\\" + ch if ch in _WIFI_SPECIAL else ch for ch in ssid)
    return f"WIFI:S:{escaped};T:nopass;;"
