"""What someone without the network key reads of a frame: the tag is only a signature, so they
sign the frame again with a key of their own and decode it with the public codec."""

from __future__ import annotations

from fieldkit.wire.frame import TAG_BYTES, DecodeError, decode_envelope, seal

STRANGER_KEY = b"s" * 32


def read_as_stranger(frame: bytes) -> str:
    """The envelope a stranger decodes from ``frame``, as text, or why it is refused."""
    try:
        return repr(decode_envelope(STRANGER_KEY, seal(STRANGER_KEY, frame[:-TAG_BYTES])))
    except DecodeError as exc:
        return f"refused: {exc.reason}"
