"""Text on the wire (pure): one compressed stream per frame, and phone numbers as nibbles.

Every text of a frame (areas, notes, names, messages…) is concatenated as UTF-8 into one
stream; the bitstream carries each text's byte length. The stream goes on air in the smaller
of two forms: as is, or as raw deflate (``wbits=-15``: no zlib header or checksum, the frame
MAC protects it) primed with a preset dictionary, ``fieldkit/data/zdict.txt`` — common words
and phrases of requests for help in English, Spanish, Haitian Creole, Vietnamese, Chinese and
Arabic, plus our category words. Deflate finds a word that is in the dictionary as a
back-reference of ~2-3 bytes instead of its letters, which is what makes a 60-byte note
compress at all: without a dictionary, deflate has nothing to refer back to in one short frame.

The dictionary is part of the wire format: both ends must hold the very same bytes, so its
SHA-256 is pinned here and a changed file fails loudly; changing it means a new wire version.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from functools import cache
from importlib import resources

from fieldkit.errors import DecodeError

#: SHA-256 of ``fieldkit/data/zdict.txt`` for :data:`fieldkit.wire.frame.WIRE_VERSION` 1.
ZDICT_SHA256 = "d4eb06851f2044295c79fca9adeed02a839194725ba170a4c3be1023862d02ff"

TEXT_NONE, TEXT_RAW, TEXT_DEFLATE = 0, 1, 2

#: Phone numbers as the intake form accepts them (an optional leading +, then 16 symbols).
PHONE_ALPHABET = "0123456789 ()./-"
_PHONE_RE = re.compile(r"\+?[0-9 ()./-]*")


class TextError(DecodeError):
    """A text stream that does not decompress to exactly the announced size (``bad_text``)."""

    def __init__(self, message: str, reason: str = "bad_text") -> None:
        super().__init__(reason, message)


@cache
def zdict() -> bytes:
    """The preset dictionary (read once from the package, checked against its pinned hash)."""
    data = resources.files("fieldkit").joinpath("data/zdict.txt").read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != ZDICT_SHA256:
        raise RuntimeError(
            f"fieldkit/data/zdict.txt has SHA-256 {digest}, not the {ZDICT_SHA256} this wire "
            "version was built with: a changed dictionary needs a new WIRE_VERSION"
        )
    return data


def deflate(raw: bytes, *, use_dict: bool = True) -> bytes:
    """Raw deflate at the highest level, primed with the preset dictionary."""
    if use_dict:
        c = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, zdict())
    else:
        c = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY)
    return c.compress(raw) + c.flush()


def pack_text(raw: bytes) -> tuple[int, bytes]:
    """``(mode, stream)``: the smallest form of a frame's concatenated text."""
    if not raw:
        return TEXT_NONE, b""
    packed = deflate(raw)
    if len(packed) < len(raw):
        return TEXT_DEFLATE, packed
    return TEXT_RAW, raw


def unpack_text(mode: int, stream: bytes, size: int) -> bytes:
    """The concatenated text of ``size`` bytes; raises :class:`TextError` if it is not that.

    At most ``size + 1`` bytes are ever inflated, so a decompression bomb costs nothing.
    """
    if mode == TEXT_NONE:
        if stream or size:
            raise TextError("text announced but no text stream")
        return b""
    if mode == TEXT_RAW:
        if len(stream) != size:
            raise TextError(f"text stream of {len(stream)} bytes, {size} announced")
        return stream
    d = zlib.decompressobj(-15, zdict())
    try:
        out = d.decompress(stream, size + 1)
    except zlib.error as exc:
        raise TextError(f"text stream does not inflate: {exc}") from None
    if len(out) != size or not d.eof or d.unused_data or d.unconsumed_tail:
        raise TextError(f"text stream does not inflate to the announced {size} bytes")
    return out


def phone_packable(text: str) -> bool:
    return _PHONE_RE.fullmatch(text) is not None


def phone_symbols(text: str) -> tuple[bool, list[int]]:
    """A packable phone number as (leading plus, 4-bit symbols)."""
    plus = text.startswith("+")
    return plus, [PHONE_ALPHABET.index(ch) for ch in text[1 if plus else 0 :]]


def phone_text(plus: bool, symbols: list[int]) -> str:
    return ("+" if plus else "") + "".join(PHONE_ALPHABET[s] for s in symbols)
