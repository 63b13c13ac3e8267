"""The poster to tape to the wall: the hub's Wi-Fi, its QR code, what it is for, the emergency line.

One printable A4 page (pure: text in, HTML out), in every language the hub offers, each block
in its own writing direction (Arabic right to left): the Wi-Fi name once, in large type and
isolated from the text around it (``<bdi>``), a QR code
phones' cameras join the open Wi-Fi with (:func:`~.qr.wifi_text`), a few lines on what the hub
is for, and the network's emergency line. The texts are msgids of the web pages' catalogs
(``web/locale``), marked here for extraction (see ``web/babel.cfg``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from fieldkit.provisioning import qr
from fieldkit.web.i18n import Language


def N_(message: str) -> str:
    """Mark a msgid for extraction; it is translated per language below."""
    return message


HEADING = N_("Ask for help, or offer it")
JOIN = N_(
    "Join the free Wi-Fi named above (no password) or scan the code. The help page opens by itself."
)
PURPOSE = N_(
    "Neighbours use it to ask for and offer water, food, medicine, shelter, transport and more. "
    "It works without internet."
)
EMERGENCY = N_("Emergency")
SCAN = N_("Scan to join the Wi-Fi")


@dataclass(frozen=True)
class Block:
    """One language's part of the poster."""

    code: str
    rtl: bool
    heading: str
    join: str
    purpose: str
    emergency: str


def block(language: Language) -> Block:
    _ = language.gettext
    return Block(language.code, language.rtl, _(HEADING), _(JOIN), _(PURPOSE), _(EMERGENCY))


def render_poster(
    hub_name: str, ssid: str, emergency: str, languages: Mapping[str, Language]
) -> str:
    """The poster's HTML: one A4 page (``emergency`` may be empty: the box is left out)."""
    if not languages:
        raise ValueError("a poster needs at least one language")
    env = Environment(
        loader=PackageLoader("fieldkit.provisioning", "templates"),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html.j2"]),
    )
    first = next(iter(languages.values()))
    blocks = [block(lang) for lang in languages.values()]
    return env.get_template("poster.html.j2").render(
        hub_name=hub_name, ssid=ssid, emergency=emergency, first=first, blocks=blocks,
        qr_svg=Markup(qr.svg(qr.wifi_text(ssid), title=first.gettext(SCAN))),
    )  # fmt: skip
