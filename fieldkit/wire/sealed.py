"""Sealed streams (pure): bytes of any length encrypted and authenticated in bounded memory.

The STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár, *Online Authenticated-Encryption
and its Nonce-Reuse Misuse-Resistance*, 2015), as in Tink's streaming AEAD, over
ChaCha20-Poly1305 from ``cryptography``; nothing here is a primitive of our own::

    header:   salt (16 random bytes) | nonce prefix (7 random bytes)
    segments: ChaCha20-Poly1305(segment key, nonce, plaintext, aad) -- SEGMENT bytes of
              plaintext each (+ 16 bytes of tag), the last one shorter (possibly empty)
    segment key = HKDF-SHA256(network key, salt, "fieldkit sealed v1 " + purpose)
    nonce       = prefix | segment number (4 bytes, big-endian) | 1 if last else 0

A fresh salt makes a fresh key for every stream, so nonces never repeat under one key. The
purpose (``bundle``, ``sync request``, ``sync answer``) is in the key: a bundle cannot pass
for a sync answer, nor a request for an answer. ``aad`` (the carrier's magic, and for HTTP the
server's challenge) is authenticated with every segment. Segments are numbered and the last
is marked, so a stream reordered, cut at a segment boundary, or extended is refused: a reader
trusts nothing until :meth:`Opener.finish` has returned. A segment that fails raises at
once, so a reader stops at the first bad 64 KiB whatever the length of the rest.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Callable
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fieldkit.errors import BundleError

Purpose = Literal["bundle", "sync request", "sync answer"]
PURPOSES: tuple[Purpose, ...] = ("bundle", "sync request", "sync answer")
SALT = 16
PREFIX = 7
HEADER = SALT + PREFIX
OVERHEAD = 16  # Poly1305 tag per segment
SEGMENT = 1 << 16  # plaintext bytes per segment
_LAST_SEGMENT = (1 << 32) - 1

RandomBytes = Callable[[int], bytes]


def _aead(network_key: bytes, purpose: Purpose, salt: bytes) -> ChaCha20Poly1305:
    if not network_key:
        raise ValueError("an empty network key")
    if purpose not in PURPOSES:
        raise ValueError(f"no such purpose {purpose!r}")
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=salt,
        info=b"fieldkit sealed v1 " + purpose.encode(),
    )
    return ChaCha20Poly1305(hkdf.derive(network_key))


def _nonce(prefix: bytes, number: int, last: bool) -> bytes:
    if number > _LAST_SEGMENT:
        raise BundleError("sealed stream too long")
    return prefix + struct.pack(">IB", number, 1 if last else 0)


class Sealer:
    """Seals a stream a chunk at a time: :meth:`header` first, then what :meth:`seal` returns
    for each piece of plaintext (whole segments only, so often nothing), then :meth:`finish`.
    Holds at most one segment of plaintext."""

    def __init__(
        self,
        network_key: bytes,
        purpose: Purpose,
        aad: bytes = b"",
        random_bytes: RandomBytes = secrets.token_bytes,
    ) -> None:
        self._header = random_bytes(HEADER)
        if len(self._header) != HEADER:
            raise ValueError("random_bytes returned the wrong length")
        self._aead = _aead(network_key, purpose, self._header[:SALT])
        self._prefix = self._header[SALT:]
        self._aad = aad
        self._buf = bytearray()
        self._number = 0
        self._done = False

    def header(self) -> bytes:
        return self._header

    def seal(self, data: bytes) -> bytes:
        if self._done:
            raise ValueError("sealed stream already finished")
        self._buf += data
        out = bytearray()
        # keep the last full segment back: only finish() knows whether it is the last
        while len(self._buf) > SEGMENT:
            out += self._segment(bytes(self._buf[:SEGMENT]), last=False)
            del self._buf[:SEGMENT]
        return bytes(out)

    def finish(self) -> bytes:
        if self._done:
            raise ValueError("sealed stream already finished")
        self._done = True
        return self._segment(bytes(self._buf), last=True)

    def _segment(self, plain: bytes, last: bool) -> bytes:
        nonce = _nonce(self._prefix, self._number, last)
        self._number += 1
        return self._aead.encrypt(nonce, plain, self._aad)


class Opener:
    """Opens a sealed stream a chunk at a time: :meth:`feed` returns the plaintext of the
    segments its chunk completes (each authenticated), :meth:`finish` checks that the last
    segment came, marked as last, with nothing after it. Raises BundleError at the first
    segment that fails. Holds at most one segment and a header of ciphertext."""

    def __init__(self, network_key: bytes, purpose: Purpose, aad: bytes = b"") -> None:
        self._key = network_key
        self._purpose: Purpose = purpose
        self._aad = aad
        self._aead: ChaCha20Poly1305 | None = None
        self._prefix = b""
        self._buf = bytearray()
        self._number = 0
        self._done = False

    def feed(self, data: bytes) -> bytes:
        if self._done:
            raise BundleError("sealed stream continues after its end")
        self._buf += data
        if self._aead is None:
            if len(self._buf) < HEADER:
                return b""
            self._aead = _aead(self._key, self._purpose, bytes(self._buf[:SALT]))
            self._prefix = bytes(self._buf[SALT:HEADER])
            del self._buf[:HEADER]
        out = bytearray()
        full = SEGMENT + OVERHEAD
        while len(self._buf) > full:  # more follows: this one is not the last
            out += self._open(bytes(self._buf[:full]), last=False)
            del self._buf[:full]
        return bytes(out)

    def finish(self) -> bytes:
        """The last segment's plaintext; raises BundleError unless the stream ended whole."""
        if self._done:
            raise BundleError("sealed stream already finished")
        if self._aead is None:
            raise BundleError("sealed stream cut short")
        self._done = True
        return self._open(bytes(self._buf), last=True)

    def _open(self, sealed: bytes, last: bool) -> bytes:
        assert self._aead is not None
        nonce = _nonce(self._prefix, self._number, last)
        self._number += 1
        try:
            return self._aead.decrypt(nonce, sealed, self._aad)
        except InvalidTag:
            self._done = True
            raise BundleError(
                "sealed data failed authentication: altered, cut short, or another network's"
            ) from None


def seal(
    network_key: bytes,
    purpose: Purpose,
    data: bytes,
    aad: bytes = b"",
    random_bytes: RandomBytes = secrets.token_bytes,
) -> bytes:
    """``data`` sealed whole (for small messages and tests)."""
    sealer = Sealer(network_key, purpose, aad, random_bytes)
    return sealer.header() + sealer.seal(data) + sealer.finish()


def open_sealed(network_key: bytes, purpose: Purpose, data: bytes, aad: bytes = b"") -> bytes:
    opener = Opener(network_key, purpose, aad)
    return opener.feed(data) + opener.finish()
