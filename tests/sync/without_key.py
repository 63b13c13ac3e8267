"""What someone without the network key reads in bytes from a hub (a stick, the Wi-Fi).

The codec is public, so a frame's tag stops nobody from *reading* it: re-tag the frame under a
key of one's own and decode it. This reads a plain (version 1) bundle whole; a sealed one
reads as nothing.
"""

from __future__ import annotations

from fieldkit.errors import FieldkitError
from fieldkit.wire.bundle_format import MAGIC, TAG
from fieldkit.wire.frame import TAG_BYTES, decode_envelope, seal

THIEF = b"t" * 32


def readable_without_key(data: bytes) -> str:
    """Every message a thief decodes from ``data``, as text ("" when there is none)."""
    if not data.startswith(MAGIC):
        return ""
    buf, pos, out = data[len(MAGIC) : -TAG], 0, []
    try:
        while pos < len(buf):
            length, shift = 0, 0
            while True:
                byte = buf[pos]
                pos += 1
                length |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            frame, pos = buf[pos : pos + length], pos + length
            try:
                out.append(repr(decode_envelope(THIEF, seal(THIEF, frame[:-TAG_BYTES]))))
            except FieldkitError:
                continue
    except IndexError:
        pass
    return "\n".join(out)
