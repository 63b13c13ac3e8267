"""Bit-level reading and writing for the wire codec (pure).

The codec's structured part is one little-endian bitstream: fixed-width fields (an enum in 2
bits, a hub id in 32) and variable-length unsigned integers written as groups of ``chunk`` data
bits, each followed by a continuation bit (LEB128 with a per-field group size: a seq step that
is usually 0 costs 5 bits with ``chunk=4``, a clock delta of minutes 24 bits with ``chunk=7``).
Signed values go through :func:`zigzag` first.

:class:`BitReader` never reads past its data and never builds an integer wider than 64 bits: a
malformed stream raises :class:`BitError`, a :class:`~fieldkit.errors.DecodeError` with a
reason code.
"""

from __future__ import annotations

from fieldkit.errors import DecodeError

#: Widest integer a uvar may carry: 64-bit values, zigzagged differences of 64-bit values.
MAX_UVAR_BITS = 66


class BitError(DecodeError):
    """A malformed bitstream; ``reason`` is ``truncated`` or ``bad_varint``."""


def zigzag(value: int) -> int:
    """Map a signed integer onto an unsigned one: 0, -1, 1, -2, 2 → 0, 1, 2, 3, 4."""
    return value * 2 if value >= 0 else -value * 2 - 1


def unzigzag(value: int) -> int:
    return value >> 1 if value % 2 == 0 else -((value + 1) >> 1)


def uvar_bits(value: int, chunk: int) -> int:
    """Bits :meth:`BitWriter.uvar` spends on ``value``."""
    groups = 1
    while value >> (chunk * groups):
        groups += 1
    return groups * (chunk + 1)


class BitWriter:
    def __init__(self) -> None:
        self._out = bytearray()
        self._acc = 0
        self._nacc = 0

    @property
    def bit_length(self) -> int:
        return len(self._out) * 8 + self._nacc

    def copy(self) -> BitWriter:
        twin = BitWriter()
        twin._out, twin._acc, twin._nacc = bytearray(self._out), self._acc, self._nacc
        return twin

    def bits(self, value: int, width: int) -> None:
        """Write ``value`` (0 ≤ value < 2**width) in ``width`` bits."""
        if not 0 <= value < 1 << width:
            raise ValueError(f"{value} does not fit in {width} bits")
        self._acc |= value << self._nacc
        self._nacc += width
        while self._nacc >= 8:
            self._out.append(self._acc & 0xFF)
            self._acc >>= 8
            self._nacc -= 8

    def flag(self, value: bool) -> None:
        self.bits(1 if value else 0, 1)

    def uvar(self, value: int, chunk: int) -> None:
        """An unsigned integer (< 2**66) in groups of ``chunk`` bits plus a continuation bit."""
        if not 0 <= value < 1 << MAX_UVAR_BITS:
            raise ValueError(f"{value} does not fit in {MAX_UVAR_BITS} bits")
        mask = (1 << chunk) - 1
        while True:
            rest = value >> chunk
            self.bits(value & mask, chunk)
            self.flag(rest != 0)
            if not rest:
                return
            value = rest

    def svar(self, value: int, chunk: int) -> None:
        self.uvar(zigzag(value), chunk)

    def sized(self, value: int) -> None:
        """An unsigned integer (< 2**63) as its bit length n in 6 bits, then its n - 1 bits
        below the top one (which is 1): a value of any size costs 6 bits over its own."""
        if not 0 <= value < 1 << 63:
            raise ValueError(f"{value} does not fit in 63 bits")
        n = value.bit_length()
        self.bits(n, 6)
        if n > 1:
            self.bits(value - (1 << (n - 1)), n - 1)

    def extend(self, other: BitWriter) -> None:
        """Append everything ``other`` holds, bit for bit."""
        for byte in other._out:
            self.bits(byte, 8)
        if other._nacc:
            self.bits(other._acc, other._nacc)

    def getvalue(self) -> bytes:
        """The stream so far, padded with zero bits to a whole byte."""
        tail = bytes([self._acc]) if self._nacc else b""
        return bytes(self._out) + tail


class BitReader:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0  # in bits

    @property
    def position(self) -> int:
        """Bits read so far."""
        return self._pos

    @property
    def byte_end(self) -> int:
        """The index of the first byte not (even partly) read."""
        return (self._pos + 7) // 8

    def bits(self, width: int) -> int:
        end = self._pos + width
        if end > len(self._data) * 8:
            raise BitError("truncated", "the frame ends in the middle of a field")
        first, last = self._pos // 8, (end + 7) // 8
        chunk = int.from_bytes(self._data[first:last], "little")
        self._pos = end
        return (chunk >> (end - width - first * 8)) & ((1 << width) - 1)

    def flag(self) -> bool:
        return self.bits(1) == 1

    def uvar(self, chunk: int) -> int:
        value = 0
        shift = 0
        while True:
            group = self.bits(chunk)
            more = self.flag()
            if shift and not group and not more:
                raise BitError("bad_varint", "an integer with a superfluous zero group")
            value |= group << shift
            shift += chunk
            if value >> MAX_UVAR_BITS or (more and shift >= MAX_UVAR_BITS):
                raise BitError("bad_varint", f"an integer wider than {MAX_UVAR_BITS} bits")
            if not more:
                return value

    def svar(self, chunk: int) -> int:
        return unzigzag(self.uvar(chunk))

    def sized(self) -> int:
        """What :meth:`BitWriter.sized` wrote (one form for each value: always canonical)."""
        n = self.bits(6)
        return 0 if n == 0 else 1 << (n - 1) | self.bits(n - 1)

    def padding_is_zero(self) -> bool:
        """True if the bits left in the current byte are all zero."""
        used = self._pos % 8
        if not used:
            return True
        return (self._data[self._pos // 8] >> used) == 0
