"""Resident reference codes: short, unambiguous read aloud or copied by hand.

Six Crockford base32 symbols (30 random bits) shown as ``7KQ-4XD``. Crockford's alphabet has
no I, L, O or U, and decoding forgives the usual slips: lower case, ``O`` for zero, ``I``/``L``
for one, spaces and dashes anywhere.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 6
BITS = 5 * LENGTH
_DECODE = {ch: i for i, ch in enumerate(ALPHABET)}
_DECODE.update({"O": 0, "I": 1, "L": 1})


def format_code(value: int) -> str:
    """Render a 30-bit number as ``XXX-XXX``."""
    if not 0 <= value < 1 << BITS:
        raise ValueError(f"reference code value out of range: {value}")
    symbols = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(LENGTH)))
    return f"{symbols[:3]}-{symbols[3:]}"


def parse_code(text: str) -> str | None:
    """Normalise what a resident typed into the canonical ``XXX-XXX``, or None if it can't be."""
    cleaned = "".join(ch for ch in text.upper() if ch not in " -_.\t")
    if len(cleaned) != LENGTH or any(ch not in _DECODE for ch in cleaned):
        return None
    value = 0
    for ch in cleaned:
        value = value << 5 | _DECODE[ch]
    return format_code(value)
