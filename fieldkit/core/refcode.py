"""Resident reference codes: short, unambiguous read aloud or copied by hand, with a check symbol.

A record's code is six Crockford base32 symbols (30 random bits), stored and sent as
``7KQ-4XD``. Residents are shown it with a seventh, **check** symbol from the same 32
symbols: ``7KQ-4XDP``. Crockford's alphabet has no I, L, O or U, and reading forgives the
usual slips: lower case, ``O`` for zero, ``I``/``L`` for one, spaces and dashes anywhere.

The check symbol is a weighted sum over GF(32) (weights α¹…α⁶ for a primitive α): it catches
every single wrong symbol and every swap of two different symbols, anywhere in the code, so a
typo is answered as a typo instead of as a code that has "not reached this hub yet". Codes
issued before the check symbol (six symbols) are still read, without that check.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 6
BITS = 5 * LENGTH
_DECODE = {ch: i for i, ch in enumerate(ALPHABET)}
_DECODE.update({"O": 0, "I": 1, "L": 1})
_IGNORED = " -_.\t"
_POLY = 0b100101  # x⁵ + x² + 1, primitive over GF(2)


def _times(a: int, b: int) -> int:
    """Multiplication in GF(32)."""
    out = 0
    while b:
        if b & 1:
            out ^= a
        b >>= 1
        a <<= 1
        if a & 32:
            a ^= _POLY
    return out


def _weights() -> tuple[int, ...]:
    alpha, weights = 1, []
    for _ in range(LENGTH):
        alpha = _times(alpha, 2)
        weights.append(alpha)
    return tuple(weights)


_WEIGHTS = _weights()  # α¹ … α⁶: distinct, none of them 1 (the check symbol's own weight)


def format_code(value: int) -> str:
    """Render a 30-bit number as the stored form ``XXX-XXX``."""
    if not 0 <= value < 1 << BITS:
        raise ValueError(f"reference code value out of range: {value}")
    symbols = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(LENGTH)))
    return f"{symbols[:3]}-{symbols[3:]}"


def _clean(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch not in _IGNORED)


def _values(cleaned: str) -> list[int] | None:
    if any(ch not in _DECODE for ch in cleaned):
        return None
    return [_DECODE[ch] for ch in cleaned]


def parse_code(text: str) -> str | None:
    """Normalise six typed symbols into the stored ``XXX-XXX``, or None if they can't be."""
    values = _values(cleaned := _clean(text))
    if len(cleaned) != LENGTH or values is None:
        return None
    symbols = "".join(ALPHABET[v] for v in values)
    return f"{symbols[:3]}-{symbols[3:]}"


def _check(values: list[int]) -> int:
    total = 0
    for weight, value in zip(_WEIGHTS, values, strict=True):
        total ^= _times(weight, value)
    return total


def check_symbol(ref: str) -> str:
    """The check symbol of a stored code ``XXX-XXX``."""
    values = _values(_clean(ref))
    if values is None or len(values) != LENGTH:
        raise ValueError(f"not a stored reference code: {ref!r}")
    return ALPHABET[_check(values)]


def display_code(ref: str) -> str:
    """What a resident is shown and types: ``7KQ-4XD`` → ``7KQ-4XDP``."""
    return f"{ref}{check_symbol(ref)}"


class Reading(enum.Enum):
    OK = "ok"
    TYPO = "typo"  # the right length, but a symbol is wrong: the check or the alphabet says so
    MALFORMED = "malformed"  # not a code's length at all


@dataclass(frozen=True)
class TypedCode:
    reading: Reading
    ref: str | None = None  # the stored form, when the reading is OK


def read_code(text: str) -> TypedCode:
    """What a resident typed: a stored code (with its check symbol verified, where given), a
    typo, or something that is not a code."""
    cleaned = _clean(text)
    if len(cleaned) not in (LENGTH, LENGTH + 1):
        return TypedCode(Reading.MALFORMED)
    values = _values(cleaned)
    if values is None:
        return TypedCode(Reading.TYPO)  # a U, a symbol no code has
    if len(values) == LENGTH + 1 and _check(values[:LENGTH]) != values[LENGTH]:
        return TypedCode(Reading.TYPO)
    symbols = "".join(ALPHABET[v] for v in values[:LENGTH])
    return TypedCode(Reading.OK, f"{symbols[:3]}-{symbols[3:]}")
