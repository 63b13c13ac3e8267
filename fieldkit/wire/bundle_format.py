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
from fieldkit.wire.ops_body import WIRE_VERSIONS

MAGIC = b"FKBUNDLE\x01"
TAG = 32
MAX_ENVELOPE = 1 << 26  # far beyond any envelope a hub writes; bounds a reader's buffer


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
    are exactly those of :func:`write_bundle` for the same envelopes. ``version`` is the
    highest wire version the readers read (see :func:`fieldkit.wire.frame.encode_envelope`).
    """

    def __init__(self, network_key: bytes, version: int = WIRE_VERSIONS[-1]) -> None:
        self._network_key = network_key
        self._version = version
        self._mac = hmac.new(_key(network_key), MAGIC, hashlib.sha256)

    def start(self) -> bytes:
        return MAGIC

    def add(self, env: Envelope) -> bytes:
        frame = codec.encode_envelope(self._network_key, env, self._version)
        chunk = _varint(len(frame)) + frame
        self._mac.update(chunk)
        return chunk

    def finish(self) -> bytes:
        return self._mac.digest()


def write_bundle(network_key: bytes, envelopes: Iterable[Envelope]) -> bytes:
    writer = BundleWriter(network_key)
    chunks = [writer.start(), *(writer.add(env) for env in envelopes)]
    return b"".join(chunks) + writer.finish()


class BundleReader:
    """Reads a bundle a chunk at a time, in bounded memory (an HTTP answer, a file on a stick).

    :meth:`feed` returns the envelopes its chunk completes, each checked against its own frame
    tag; :meth:`finish` checks the bundle's closing tag, the one thing that says nothing was
    cut, reordered or altered. A caller that refuses a bundle *whole* reads it twice: once with
    ``decode=False`` (the tag only, nothing parsed) and, if that passed, once to take it.
    """

    def __init__(self, network_key: bytes, *, decode: bool = True) -> None:
        self._network_key = network_key
        self._decode = decode
        self._mac = hmac.new(_key(network_key), MAGIC, hashlib.sha256)
        self._buf = bytearray()  # bytes not consumed yet; the last TAG of them may be the tag
        self._started = False

    def feed(self, chunk: bytes) -> list[Envelope]:
        self._buf += chunk
        if not self._started:
            if len(self._buf) < len(MAGIC):
                return []
            if not self._buf.startswith(MAGIC[:-1]):
                raise BundleError("not a fieldkit bundle")
            if not self._buf.startswith(MAGIC):
                raise BundleError("bundle from another fieldkit version")
            del self._buf[: len(MAGIC)]
            self._started = True
        body = len(self._buf) - TAG  # bytes before the last TAG are surely not the tag
        pos, out = 0, []
        if not self._decode:
            pos = max(0, body)
        while self._decode and (found := _frame_at(self._buf, pos, body)) is not None:
            frame, pos = found
            out.append(self._envelope(frame))
        self._mac.update(self._buf[:pos])
        del self._buf[:pos]
        return out

    def _envelope(self, frame: bytes) -> Envelope:
        try:
            return codec.decode_envelope(self._network_key, frame)
        except codec.DecodeError as exc:
            raise BundleError(f"bundle holds a bad message: {exc.reason}") from None

    def finish(self) -> None:
        """Raises BundleError unless the bundle ended whole, under a tag that matches."""
        if not self._started:
            raise BundleError("not a fieldkit bundle")
        self._mac.update(self._buf[:-TAG])
        tag = bytes(self._buf[-TAG:])
        if len(self._buf) < TAG or not hmac.compare_digest(tag, self._mac.digest()):
            raise BundleError(
                "bundle failed authentication: altered, cut short, or another network's"
            )
        if len(self._buf) > TAG:
            raise BundleError("bundle is malformed")  # an envelope cut short


def _frame_at(buf: bytearray, pos: int, end: int) -> tuple[bytes, int] | None:
    """The envelope whose length prefix starts at ``pos`` and where the next one starts, if it
    ends by ``end``."""
    length, shift = 0, 0
    while True:
        if pos >= end:
            return None
        if shift > 28:
            raise BundleError("bundle is malformed")
        byte = buf[pos]
        pos += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    if length > MAX_ENVELOPE:
        raise BundleError("bundle is malformed")
    return (bytes(buf[pos : pos + length]), pos + length) if pos + length <= end else None


def read_bundle(network_key: bytes, data: bytes) -> list[Envelope]:
    """Every envelope of a whole bundle; a bundle that fails any check is refused whole."""
    check = BundleReader(network_key, decode=False)
    check.feed(data)
    check.finish()
    reader = BundleReader(network_key)
    out = reader.feed(data)
    reader.finish()
    return out
