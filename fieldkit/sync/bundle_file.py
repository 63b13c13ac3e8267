"""Sync by bundle file: a runner carries a hub's ops on a USB stick to hubs out of reach.

A bundle is our summary and every op we hold (or those since a date), in envelopes of
:data:`~fieldkit.sync.batches.BATCH` ops, sealed under the network key
(:mod:`fieldkit.wire.bundle_format`): a lost stick leaks nothing to whoever lacks the key. It is
written a chunk at a time and imported in two passes over the file (checked whole, then taken
an envelope at a time): memory stays bounded whatever the size of the log or the file.
Importing a bundle twice changes nothing; a bundle cut short, altered or another network's is
refused whole. Bundles of earlier releases (plain, authenticated only) are still imported.

While the network moves to a new key, a bundle starts with the key notices its hub passes on
(:mod:`fieldkit.app.keyring`): :data:`NOTICES_MAGIC`, their length (4 bytes) and the notices
(:func:`fieldkit.wire.key_notice.pack_many`, each sealed on its own), so a hub not yet moved
takes the new key from the stick before it reads the bundle sealed under it. Otherwise a
bundle is as before, byte for byte.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Sequence
from typing import IO, cast

from fieldkit.app.hub import Hub
from fieldkit.core.clock import physical_ms
from fieldkit.core.ops import Op, shareable
from fieldkit.errors import BundleError, DecodeError
from fieldkit.sync.batches import BATCH, Written, bundle_chunks, our_summary, take_file
from fieldkit.wire.key_notice import pack_many, unpack_many

NOTICES_MAGIC = b"FKNOTICE\x01"
MAX_NOTICES = 1 << 17


def notices_preamble(notices: Sequence[bytes]) -> bytes:
    """What a bundle starts with to carry ``notices`` (nothing for none)."""
    if not notices:
        return b""
    packed = pack_many(notices)
    return NOTICES_MAGIC + len(packed).to_bytes(4, "big") + packed


class _After:
    """A seekable file from ``start`` on (the bundle after its notices)."""

    def __init__(self, file: IO[bytes], start: int) -> None:
        self._file, self._start = file, start

    def seek(self, offset: int, whence: int = 0) -> int:
        assert whence == 0
        return self._file.seek(self._start + offset) - self._start

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)


def read_notices(file: IO[bytes]) -> tuple[list[bytes], IO[bytes]]:
    """The key notices a bundle in a seekable ``file`` starts with (none for a bundle without),
    and the bundle after them."""
    file.seek(0)
    if file.read(len(NOTICES_MAGIC)) != NOTICES_MAGIC:
        file.seek(0)
        return [], file
    size = int.from_bytes(file.read(4), "big")
    data = file.read(size) if size <= MAX_NOTICES else b""
    try:
        if len(data) != size:
            raise DecodeError("truncated", "its key notices are cut short")
        notices = unpack_many(data)
    except DecodeError as exc:
        raise BundleError(f"not a bundle: {exc.detail}") from None
    return notices, cast(IO[bytes], _After(file, len(NOTICES_MAGIC) + 4 + size))


async def _every_op(hub: Hub, since_ms: int | None) -> AsyncIterator[Op]:
    async for op, consented in hub.store.iter_ops(BATCH):
        if since_ms is None or physical_ms(op.hlc) >= since_ms:
            yield shareable(op, consented)


async def stream_bundle(
    hub: Hub,
    key: bytes,
    sink: Callable[[bytes], object],
    since_ms: int | None = None,
    notices: Sequence[bytes] = (),
) -> int:
    """Write a bundle of every op we hold (as it may leave this hub) to ``sink``, a chunk at a
    time, after ``notices`` (see :func:`notices_preamble`). Returns the number of ops."""
    if notices:
        sink(notices_preamble(notices))
    written = Written()
    summary = await our_summary(hub)
    async for chunk in bundle_chunks(hub, key, summary, _every_op(hub, since_ms), written):
        sink(chunk)
    return written.ops


async def bundle_stream(
    hub: Hub, key: bytes, since_ms: int | None = None, notices: Sequence[bytes] = ()
) -> AsyncIterator[bytes]:
    """The chunks of :func:`stream_bundle` as an async iterator (an HTTP download)."""
    if notices:
        yield notices_preamble(notices)
    summary = await our_summary(hub)
    async for chunk in bundle_chunks(hub, key, summary, _every_op(hub, since_ms), Written()):
        yield chunk


async def export_bundle(hub: Hub, key: bytes, since_ms: int | None = None) -> tuple[bytes, int]:
    """The whole bundle in memory (for tests and small hubs; the CLI streams it to a file)."""
    chunks: list[bytes] = []
    count = await stream_bundle(hub, key, chunks.append, since_ms)
    return b"".join(chunks), count


async def import_bundle_file(hub: Hub, key: bytes, file: IO[bytes]) -> tuple[int, int]:
    """Import the bundle in a seekable binary ``file``, read a chunk at a time (twice).
    Returns (new ops, ops in the bundle); a bad bundle raises BundleError, storing nothing.
    Key notices it starts with are skipped (take them first: :func:`read_notices`)."""
    _, body = read_notices(file)
    taken = await take_file(hub, key, body)
    return taken.new, taken.seen


async def import_bundle(hub: Hub, key: bytes, data: bytes) -> tuple[int, int]:
    """:func:`import_bundle_file` for a bundle in memory (for tests)."""
    return await import_bundle_file(hub, key, io.BytesIO(data))
