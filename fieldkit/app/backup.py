"""Backing a hub up and restoring it: its id, its metadata and its whole operation log, sealed.

A failed SD card is replaced by restoring the last backup onto a new one: the hub keeps its id
(so the records it made keep their names) and its log (every op it held, its own and the
network's, contact details included: the backup is the hub itself, not what may leave it).
The ops it made *after* the backup live on only in the hubs it synced with, so a restore
syncs with one of them before the hub takes new records: its next op then follows the last
one it ever made, and no op id is used twice. The radio's frame counter jumps far ahead for
the same reason (a counter the lost card used would be taken for a replay).

The file is sealed under the network key (whoever can read the network's traffic can read
the backup; nobody else), with the ``cryptography`` library's primitives only:

- ``FKBACKUP`` + version byte, then a random 16-byte salt;
- the key: HKDF-SHA256 of the network key with that salt and ``fieldkit backup v1``;
- the content in chunks of at most :data:`CHUNK` bytes, each a 4-byte length and its
  ChaCha20-Poly1305 ciphertext; nonce = the chunk's index (11 bytes) + 1 if it is the last
  chunk else 0 (the STREAM construction), the header as associated data. A file cut short,
  reordered, altered or of another network is refused whole, before anything is written.

The content is zlib-compressed JSON lines: a header (hub id, the metadata), each op in its JSON
form (:func:`fieldkit.core.ops.op_to_json`), then the number of ops (a running hub may add
ops while they are read: the backup holds what was read).
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fieldkit.app import netkey, network
from fieldkit.app.hub import HUB_ID_KEY
from fieldkit.core.ops import InvalidOp, Op, op_from_json, op_to_json
from fieldkit.errors import BackupError
from fieldkit.store.port import StorePort
from fieldkit.sync.radio import COUNTER_BLOCK, COUNTER_KEY

MAGIC = b"FKBACKUP\x01"
SALT_BYTES = 16
CHUNK = 1 << 16  # plaintext bytes per sealed chunk: memory stays bounded at any log size
FORMAT = 1
#: The hub's metadata a backup keeps (its id, the network key, the network, the frame counter).
META_KEYS = (HUB_ID_KEY, netkey.META_KEY, network.META_KEY, COUNTER_KEY)
#: After a restore the frame counter starts this far past the backed-up one: beyond what the
#: lost card can have used (a block per start of ``fieldkit run``; ten thousand starts).
COUNTER_JUMP = COUNTER_BLOCK * 10_000
_END = "fieldkit_backup_end"  # the last line: how many ops came before it
_TAG = 16
_LENGTH = struct.Struct(">I")
_BATCH = 500


@dataclass(frozen=True)
class Backup:
    """What a backup holds, from its header (and checked against its content)."""

    hub: int
    ops: int  # how many ops it holds (0 in a header not yet read through)
    own_seq: int  # the highest seq of the hub's own ops in it
    made_at_ms: int


def _key(network_key: bytes, salt: bytes) -> ChaCha20Poly1305:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"fieldkit backup v1")
    return ChaCha20Poly1305(hkdf.derive(network_key))


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class _Sealer:
    """Seals plaintext into length-prefixed chunks; every chunk is whole when yielded."""

    def __init__(self, network_key: bytes, salt: bytes) -> None:
        self._aead = _key(network_key, salt)
        self._aad = MAGIC + salt
        self._buffer = bytearray()
        self._index = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._buffer += data
        # full chunks only: the last, shorter one (maybe empty) is sealed as last by finish()
        while len(self._buffer) >= CHUNK:
            yield self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]

    def finish(self) -> bytes:
        return self._seal(bytes(self._buffer), last=True)

    def _seal(self, plain: bytes, *, last: bool) -> bytes:
        sealed = self._aead.encrypt(_nonce(self._index, last), plain, self._aad)
        self._index += 1
        return _LENGTH.pack(len(sealed)) + sealed


def _line(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


async def _meta(store: StorePort) -> dict[str, str]:
    out = {}
    for key in META_KEYS:
        value = await store.meta(key)
        if value is not None:
            out[key] = value
    return out


async def write_backup(
    store: StorePort,
    sink: Callable[[bytes], object],
    *,
    made_at_ms: int,
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> Backup:
    """Stream a sealed backup of the hub in ``store`` into ``sink``, a chunk at a time."""
    meta = await _meta(store)
    if HUB_ID_KEY not in meta:
        raise BackupError(f"{store.location} has no hub identity: nothing to back up")
    hub = int(meta[HUB_ID_KEY], 16)
    key = await netkey.network_key(store)
    own_seq = max([(await store.version_vector()).get(hub, 0),
                   *(await store.held_beyond()).get(hub, [])])  # fmt: skip
    header = {"fieldkit_backup": FORMAT, "hub": meta[HUB_ID_KEY], "meta": meta,
              "own_seq": own_seq, "made_at_ms": made_at_ms}  # fmt: skip
    salt = random_bytes(SALT_BYTES)
    sealer = _Sealer(key, salt)
    packer = zlib.compressobj(6)
    sink(MAGIC + salt)
    for chunk in sealer.feed(packer.compress(_line(header))):
        sink(chunk)
    count = 0
    async for op, _consent in store.iter_ops(_BATCH):
        count += 1
        for chunk in sealer.feed(packer.compress(_line(op_to_json(op)))):
            sink(chunk)
    # the count closes the content (a running hub may add ops while they are read)
    for chunk in sealer.feed(packer.compress(_line({_END: count})) + packer.flush()):
        sink(chunk)
    sink(sealer.finish())
    return Backup(hub, count, own_seq, made_at_ms)


def _read_exactly(source: BinaryIO, size: int) -> bytes:
    data = source.read(size)
    if len(data) != size:
        raise BackupError("the backup is cut short: copy it again")
    return data


def _plaintext(source: BinaryIO, network_key: bytes) -> Iterator[bytes]:
    """The backup's decrypted, decompressed content, a chunk at a time (all of it checked:
    the caller must consume it to the end before trusting any of it)."""
    head = source.read(len(MAGIC))
    if head != MAGIC:
        if head.startswith(MAGIC[:-1]):
            raise BackupError("made by a newer fieldkit: upgrade this hub first")
        raise BackupError("not a fieldkit backup")
    salt = _read_exactly(source, SALT_BYTES)
    aead, aad = _key(network_key, salt), MAGIC + salt
    unpacker = zlib.decompressobj()
    index = 0
    while True:
        (size,) = _LENGTH.unpack(_read_exactly(source, _LENGTH.size))
        if not _TAG <= size <= CHUNK + _TAG:
            raise BackupError("the backup is damaged")
        sealed = _read_exactly(source, size)
        last = size < CHUNK + _TAG
        try:
            plain = aead.decrypt(_nonce(index, last), sealed, aad)
        except InvalidTag:
            if index == 0:
                raise BackupError(
                    "the backup does not open with this network's key (another network's "
                    "backup, or a damaged one)"
                ) from None
            raise BackupError("the backup is damaged") from None
        index += 1
        try:
            yield unpacker.decompress(plain)
            if last:
                yield unpacker.flush()
        except zlib.error:
            raise BackupError("the backup is damaged") from None
        if last:
            if source.read(1):
                raise BackupError("the backup has data after its end")
            return


def _lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    pending = b""
    for chunk in chunks:
        pending += chunk
        *whole, pending = pending.split(b"\n")
        yield from whole
    if pending:
        raise BackupError("the backup is damaged")


def _header(line: bytes) -> tuple[Backup, dict[str, str]]:
    try:
        data = json.loads(line)
        if data.get("fieldkit_backup") != FORMAT:
            raise BackupError("made by a newer fieldkit: upgrade this hub first")
        meta = {str(k): str(v) for k, v in data["meta"].items() if k in META_KEYS}
        info = Backup(int(data["hub"], 16), 0, int(data["own_seq"]), int(data["made_at_ms"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise BackupError("the backup's header is not readable") from None
    if meta.get(HUB_ID_KEY) != f"{info.hub:08x}":
        raise BackupError("the backup's header is not readable")
    return info, meta


def _ops(lines: Iterator[bytes]) -> Iterator[Op]:
    """The ops, up to the closing count (checked: a missing or wrong count is refused)."""
    for count, line in enumerate(lines):  # count: the ops before this line
        try:
            data = json.loads(line)
            if isinstance(data, dict) and _END in data:
                if data[_END] != count or next(lines, None) is not None:
                    raise BackupError("the backup is damaged")
                return
            yield op_from_json(data)
        except (ValueError, InvalidOp):
            raise BackupError("the backup holds an op that is not readable") from None
    raise BackupError("the backup is cut short: copy it again")


def check_backup(source: BinaryIO, network_key: bytes) -> Backup:
    """Read a backup through to its end, checking every chunk; nothing is written."""
    lines = _lines(_plaintext(source, network_key))
    info, _meta = _header(next(lines, b""))
    count = sum(1 for _ in _ops(lines))
    return dataclasses.replace(info, ops=count)


async def restore_backup(store: StorePort, source: BinaryIO, network_key: bytes) -> Backup:
    """Put a backup into ``store``, a fresh database (the caller checks the file first with
    :func:`check_backup`, and puts the database in place only once this returns)."""
    if await store.meta(HUB_ID_KEY) is not None:
        raise BackupError(f"{store.location} already has a hub: restore into a fresh one")
    lines = _lines(_plaintext(source, network_key))
    info, meta = _header(next(lines, b""))
    count = 0
    batch: list[Op] = []
    for op in _ops(lines):
        batch.append(op)
        if len(batch) == _BATCH:
            count += await _add(store, batch)
            batch = []
    count += await _add(store, batch)
    meta[COUNTER_KEY] = str(int(meta.get(COUNTER_KEY, "0")) + COUNTER_JUMP)
    for key in META_KEYS:  # the hub id last: until it is there, this is no hub
        if key in meta and key != HUB_ID_KEY:
            await store.set_meta(key, meta[key])
    await store.set_meta(HUB_ID_KEY, meta[HUB_ID_KEY])
    return dataclasses.replace(info, ops=count)


async def _add(store: StorePort, ops: list[Op]) -> int:
    async with store.transaction() as tx:
        await tx.ingest(ops)
    return len(ops)
