"""Bundle files: sync messages on a USB stick, for runners (pure).

Layout: ``FKBUNDLE`` + version byte, then each envelope as a varint length and its bytes
(each envelope authenticated as on air), then an HMAC-SHA256 of everything before it under a
key derived from the network key, so a bundle cut short, reordered or altered is refused
whole. Importing a bundle twice changes nothing: ops are known by their ids.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from fieldkit.errors import BundleError as BundleError
from fieldkit.wire import frame as codec
from fieldkit.wire.messages import Envelope

MAGIC = b"FKBUNDLE\x01"
TAG = 32


def _key(network_key: bytes) -> bytes:
    return hmac.new(network_key, b"fieldkit bundle v1", hashlib.sha256).digest()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


class BundleWriter:
    """Writes a bundle one envelope at a time, so a bundle of any size needs bounded memory.

    Each :meth:`add` returns the bytes to append; :meth:`finish` the closing tag. The bytes
    are exactly those of :func:`write_bundle` for the same envelopes.
    """

    def __init__(self, network_key: bytes) -> None:
        self._network_key = network_key
        self._mac = hmac.new(_key(network_key), MAGIC, hashlib.sha256)

    def start(self) -> bytes:
        return MAGIC

    def add(self, env: Envelope) -> bytes:
        frame = codec.encode_envelope(self._network_key, env)
        chunk = _varint(len(frame)) + frame
        self._mac.update(chunk)
        return chunk

    def finish(self) -> bytes:
        return self._mac.digest()


def write_bundle(network_key: bytes, envelopes: Iterable[Envelope]) -> bytes:
    writer = BundleWriter(network_key)
    chunks = [writer.start(), *(writer.add(env) for env in envelopes)]
    return b"".join(chunks) + writer.finish()


def read_bundle(network_key: bytes, data: bytes) -> list[Envelope]:
    if not data.startswith(MAGIC[:-1]):
        raise BundleError("not a fieldkit bundle")
    if not data.startswith(MAGIC):
        raise BundleError("bundle from another fieldkit version")
    body, tag = data[:-TAG], data[-TAG:]
    expected = hmac.new(_key(network_key), body, hashlib.sha256).digest()
    if len(data) < len(MAGIC) + TAG or not hmac.compare_digest(tag, expected):
        raise BundleError("bundle failed authentication: altered, cut short, or another network's")
    out, pos = [], len(MAGIC)
    while pos < len(body):
        length, shift = 0, 0
        while True:
            if pos >= len(body) or shift > 28:
                raise BundleError("bundle is malformed")
            byte = body[pos]
            pos += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        frame = body[pos : pos + length]
        pos += length
        if len(frame) != length:
            raise BundleError("bundle is malformed")
        try:
            out.append(codec.decode_envelope(network_key, frame))
        except codec.DecodeError as exc:
            raise BundleError(f"bundle holds a bad message: {exc.reason}") from None
    return out
