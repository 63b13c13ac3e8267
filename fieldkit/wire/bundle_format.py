"""Bundle files: sync messages on a USB stick, for runners (pure).

Two versions, told apart by the byte after ``FKBUNDLE``:

* **1, plain** (earlier releases; still read, never written): each envelope as a varint length
  and its bytes (each authenticated as on air), then an HMAC-SHA256 of everything before it
  under a key derived from the network key. Authenticated, but readable by anyone.
* **2, sealed** (written since): ``FKBUNDLE\\x02``, then a version-1 bundle after its magic,
  sealed as a stream (:mod:`fieldkit.wire.sealed`: ChaCha20-Poly1305 segments under a key
  derived from the network key for the purpose, with ``FKBUNDLE\\x02`` and the carrier's
  context as associated data). Without the key a bundle reads as random bytes: a lost stick
  leaks nothing.

HTTP sync bodies (:mod:`fieldkit.sync.http`) are sealed bundles too, under their own purposes
(``sync request``, ``sync answer``) and bound to the server's challenge; they are never plain.
A bundle cut short, reordered or altered is refused whole. Importing a bundle twice changes
nothing: ops are known by their ids.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from fieldkit.errors import BundleError as BundleError
from fieldkit.wire import frame as codec
from fieldkit.wire.messages import Envelope
from fieldkit.wire.ops_body import WIRE_VERSIONS
from fieldkit.wire.sealed import Opener, Purpose, RandomBytes, Sealer

PREFIX = b"FKBUNDLE"
MAGIC = PREFIX + b"\x01"  # plain: what a sealed bundle holds inside, and earlier releases wrote
SEALED_MAGIC = PREFIX + b"\x02"
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


class _PlainWriter:
    def __init__(self, network_key: bytes, version: int) -> None:
        self._network_key = network_key
        self._version = version
        self._mac = hmac.new(_key(network_key), MAGIC, hashlib.sha256)

    def add(self, env: Envelope) -> bytes:
        frame = codec.encode_envelope(self._network_key, env, self._version)
        chunk = _varint(len(frame)) + frame
        self._mac.update(chunk)
        return chunk

    def finish(self) -> bytes:
        return self._mac.digest()


class BundleWriter:
    """Writes a sealed bundle one envelope at a time, so a bundle of any size needs bounded
    memory.

    :meth:`start` returns the header, each :meth:`add` the bytes to append (whole segments
    only: often nothing), :meth:`finish` the rest. ``version`` is the highest wire version the
    readers read (see :func:`fieldkit.wire.frame.encode_envelope`); ``purpose`` and
    ``context`` say what the bundle is for (a file, or an HTTP request or answer bound to the
    server's challenge): a reader must name the same.
    """

    def __init__(
        self,
        network_key: bytes,
        version: int = WIRE_VERSIONS[-1],
        *,
        purpose: Purpose = "bundle",
        context: bytes = b"",
        random_bytes: RandomBytes = secrets.token_bytes,
    ) -> None:
        self._plain = _PlainWriter(network_key, version)
        self._sealer = Sealer(network_key, purpose, SEALED_MAGIC + context, random_bytes)

    def start(self) -> bytes:
        return SEALED_MAGIC + self._sealer.header()

    def add(self, env: Envelope) -> bytes:
        return self._sealer.seal(self._plain.add(env))

    def finish(self) -> bytes:
        return self._sealer.seal(self._plain.finish()) + self._sealer.finish()


def write_bundle(
    network_key: bytes,
    envelopes: Iterable[Envelope],
    *,
    purpose: Purpose = "bundle",
    context: bytes = b"",
    random_bytes: RandomBytes = secrets.token_bytes,
) -> bytes:
    writer = BundleWriter(network_key, purpose=purpose, context=context, random_bytes=random_bytes)
    chunks = [writer.start(), *(writer.add(env) for env in envelopes)]
    return b"".join(chunks) + writer.finish()


class _PlainReader:
    """A version-1 bundle's envelopes, as its bytes arrive (after the magic)."""

    def __init__(self, network_key: bytes, decode: bool) -> None:
        self._network_key = network_key
        self._decode = decode
        self._mac = hmac.new(_key(network_key), MAGIC, hashlib.sha256)
        self._buf = bytearray()  # bytes not consumed yet; the last TAG of them may be the tag

    def feed(self, chunk: bytes) -> list[Envelope]:
        self._buf += chunk
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
        self._mac.update(self._buf[:-TAG])
        tag = bytes(self._buf[-TAG:])
        if len(self._buf) < TAG or not hmac.compare_digest(tag, self._mac.digest()):
            raise BundleError(
                "bundle failed authentication: altered, cut short, or another network's"
            )
        if len(self._buf) > TAG:
            raise BundleError("bundle is malformed")  # an envelope cut short


class BundleReader:
    """Reads a bundle a chunk at a time, in bounded memory (an HTTP body, a file on a stick).

    :meth:`feed` returns the envelopes its chunk completes, each checked against its own frame
    tag (and, sealed, its segment's); :meth:`finish` returns the last ones and checks that the
    bundle ended whole, the one thing that says nothing was cut, reordered or altered. A
    caller that refuses a bundle *whole* reads it twice: once with ``decode=False`` (checked,
    nothing parsed) and, if that passed, once to take it. ``purpose`` and ``context`` must be
    those it was written with; plain (version 1) bundles are read only as files
    (``purpose="bundle"``): HTTP bodies must be sealed.
    """

    def __init__(
        self,
        network_key: bytes,
        *,
        decode: bool = True,
        purpose: Purpose = "bundle",
        context: bytes = b"",
    ) -> None:
        self._plain = _PlainReader(network_key, decode)
        self._purpose: Purpose = purpose
        self._opener: Opener | None = Opener(network_key, purpose, SEALED_MAGIC + context)
        self._head = bytearray()
        self._started = False

    def feed(self, chunk: bytes) -> list[Envelope]:
        if not self._started:
            self._head += chunk
            if len(self._head) < len(MAGIC):
                return []
            return self._plain.feed(self._start())
        if self._opener is None:
            return self._plain.feed(chunk)
        return self._plain.feed(self._opener.feed(chunk))

    def _start(self) -> bytes:
        head = bytes(self._head)
        if not head.startswith(PREFIX):
            raise BundleError("not a fieldkit bundle")
        if head.startswith(MAGIC) and self._purpose == "bundle":
            self._opener = None  # an earlier release's plain bundle
        elif head.startswith(MAGIC):
            raise BundleError("unsealed sync from an earlier fieldkit: upgrade that hub")
        elif not head.startswith(SEALED_MAGIC):
            raise BundleError("bundle from another fieldkit version")
        self._started = True
        self._head = bytearray()
        rest = head[len(MAGIC) :]
        return rest if self._opener is None else self._opener.feed(rest)

    def finish(self) -> list[Envelope]:
        """The last envelopes; raises BundleError unless the bundle ended whole, under tags
        that match."""
        if not self._started:
            raise BundleError("not a fieldkit bundle")
        out = [] if self._opener is None else self._plain.feed(self._opener.finish())
        self._plain.finish()
        return out


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


def read_bundle(
    network_key: bytes, data: bytes, *, purpose: Purpose = "bundle", context: bytes = b""
) -> list[Envelope]:
    """Every envelope of a whole bundle; a bundle that fails any check is refused whole."""
    check = BundleReader(network_key, decode=False, purpose=purpose, context=context)
    check.feed(data)
    check.finish()
    reader = BundleReader(network_key, purpose=purpose, context=context)
    out = reader.feed(data)
    return out + reader.finish()
