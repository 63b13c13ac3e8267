"""Sync by bundle file: a runner carries a hub's ops on a USB stick to hubs out of reach.

A bundle is our summary and every op we hold (or those since a date), in envelopes of
:data:`~fieldkit.sync.batches.BATCH` ops, sealed under the network key
(:mod:`fieldkit.wire.bundle_format`): a lost stick leaks nothing to whoever lacks the key. It is
written a chunk at a time and imported in two passes over the file (checked whole, then taken
an envelope at a time): memory stays bounded whatever the size of the log or the file.
Importing a bundle twice changes nothing; a bundle cut short, altered or another network's is
refused whole. Bundles of earlier releases (plain, authenticated only) are still imported.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from typing import IO

from fieldkit.app.hub import Hub
from fieldkit.core.clock import physical_ms
from fieldkit.core.ops import Op, shareable
from fieldkit.sync.batches import BATCH, Written, bundle_chunks, our_summary, take_file


async def _every_op(hub: Hub, since_ms: int | None) -> AsyncIterator[Op]:
    async for op, consented in hub.store.iter_ops(BATCH):
        if since_ms is None or physical_ms(op.hlc) >= since_ms:
            yield shareable(op, consented)


async def stream_bundle(
    hub: Hub, key: bytes, sink: Callable[[bytes], object], since_ms: int | None = None
) -> int:
    """Write a bundle of every op we hold (as it may leave this hub) to ``sink``, a chunk at a
    time. Returns the number of ops."""
    written = Written()
    summary = await our_summary(hub)
    async for chunk in bundle_chunks(hub, key, summary, _every_op(hub, since_ms), written):
        sink(chunk)
    return written.ops


async def bundle_stream(hub: Hub, key: bytes, since_ms: int | None = None) -> AsyncIterator[bytes]:
    """The chunks of :func:`stream_bundle` as an async iterator (an HTTP download)."""
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
    Returns (new ops, ops in the bundle); a bad bundle raises BundleError, storing nothing."""
    taken = await take_file(hub, key, file)
    return taken.new, taken.seen


async def import_bundle(hub: Hub, key: bytes, data: bytes) -> tuple[int, int]:
    """:func:`import_bundle_file` for a bundle in memory (for tests)."""
    return await import_bundle_file(hub, key, io.BytesIO(data))
