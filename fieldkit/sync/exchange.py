"""Sync in large batches: over HTTP between hubs on one network, and by bundle file.

The same messages as on air, without the 200-byte frames: a request or a bundle is a
:mod:`fieldkit.wire.bundle_format` of envelopes. Contact details leave the hub only with consent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from fieldkit.app.hub import Hub
from fieldkit.core.clock import physical_ms
from fieldkit.core.ops import Op, shareable
from fieldkit.sync.engine import missing, summary_of
from fieldkit.wire.bundle_format import BundleError, BundleWriter, read_bundle, write_bundle
from fieldkit.wire.messages import Envelope, Ops, Summary

BATCH = 500  # ops per envelope


async def our_summary(hub: Hub) -> Summary:
    return summary_of(await hub.store.version_vector(), await hub.store.held_beyond())


async def ops_lacking(hub: Hub, theirs: Summary, since_ms: int | None = None) -> list[Op]:
    """Every op we hold that the summary's sender lacks, as it may leave this hub."""
    ranges = missing(await hub.store.version_vector(), theirs)
    rows = await hub.store.ops_for_offer(ranges, limit=1 << 62)
    ops = [shareable(op, consented) for op, consented in rows]
    if since_ms is not None:
        ops = [op for op in ops if physical_ms(op.hlc) >= since_ms]
    return sorted(ops, key=lambda op: (op.origin, op.seq))


def _envelopes(hub: Hub, summary: Summary, ops: Sequence[Op]) -> list[Envelope]:
    out = [Envelope(hub.id, 0, summary)]
    out += [Envelope(hub.id, 0, Ops(tuple(ops[i : i + BATCH]))) for i in range(0, len(ops), BATCH)]
    return out


async def _take(hub: Hub, envelopes: Sequence[Envelope]) -> tuple[int, int, Summary | None]:
    """Store the ops of some envelopes; returns (new ops, ops seen, their summary if any)."""
    new = seen = 0
    summary = None
    for env in envelopes:
        if isinstance(env.message, Ops):
            new += await hub.receive(env.message.ops)
            seen += len(env.message.ops)
        elif isinstance(env.message, Summary):
            summary = env.message
    return new, seen, summary


# --- bundles -------------------------------------------------------------------------------


async def stream_bundle(
    hub: Hub, key: bytes, sink: Callable[[bytes], object], since_ms: int | None = None
) -> int:
    """Write a bundle of every op we hold (as it may leave this hub) to ``sink``, a chunk at a
    time: memory stays bounded whatever the size of the log. Returns the number of ops."""
    writer = BundleWriter(key)
    sink(writer.start())
    sink(writer.add(Envelope(hub.id, 0, await our_summary(hub))))
    batch: list[Op] = []
    count = 0
    async for op, consented in hub.store.iter_ops(BATCH):
        if since_ms is not None and physical_ms(op.hlc) < since_ms:
            continue
        batch.append(shareable(op, consented))
        if len(batch) == BATCH:
            sink(writer.add(Envelope(hub.id, 0, Ops(tuple(batch)))))
            count, batch = count + len(batch), []
    if batch:
        sink(writer.add(Envelope(hub.id, 0, Ops(tuple(batch)))))
        count += len(batch)
    sink(writer.finish())
    return count


async def export_bundle(hub: Hub, key: bytes, since_ms: int | None = None) -> tuple[bytes, int]:
    chunks: list[bytes] = []
    count = await stream_bundle(hub, key, chunks.append, since_ms)
    return b"".join(chunks), count


async def import_bundle(hub: Hub, key: bytes, data: bytes) -> tuple[int, int]:
    """Returns (new ops, ops in the bundle); a bad bundle raises BundleError, storing nothing."""
    new, seen, _ = await _take(hub, read_bundle(key, data))
    return new, seen


# --- HTTP ------------------------------------------------------------------------------------


async def answer(hub: Hub, key: bytes, body: bytes) -> bytes:
    """The server's side of one request: take the ops sent, answer with ours they lack."""
    _, _, theirs = await _take(hub, read_bundle(key, body))
    lacking = await ops_lacking(hub, theirs) if theirs is not None else []
    return write_bundle(key, _envelopes(hub, await our_summary(hub), lacking))


@dataclass(frozen=True)
class SyncReport:
    received_new: int
    received: int
    sent: int


async def sync_with(hub: Hub, key: bytes, post: Callable[[bytes], Awaitable[bytes]]) -> SyncReport:
    """The client's side: two round trips, whatever the number of records."""
    reply = read_bundle(
        key, await post(write_bundle(key, [Envelope(hub.id, 0, await our_summary(hub))]))
    )
    new, seen, theirs = await _take(hub, reply)
    if theirs is None:
        raise BundleError("the other hub did not say what it holds")
    ours = await ops_lacking(hub, theirs)
    if ours:
        read_bundle(
            key, await post(write_bundle(key, _envelopes(hub, await our_summary(hub), ours)))
        )
    return SyncReport(new, seen, len(ours))
