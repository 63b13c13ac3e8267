"""Envelopes in batches: what the HTTP and bundle file carriers share.

The same messages as on air, without the 200-byte frames: a summary, then the ops in
envelopes of :data:`BATCH` ops, sealed, written and read through
:mod:`fieldkit.wire.bundle_format` a segment at a time, so memory stays bounded whatever the
size of the log. Ops leave the
hub as :func:`~fieldkit.core.ops.shareable` makes them: contact details only with consent.

Our summary says the wire version we read (``Summary.reads``); ops go out in the version the
other end reads, and an op that needs a newer one is left out and counted (``held_back``): it
is sent in a later sync, once the other hub upgrades.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass, replace
from typing import IO

from fieldkit.app.hub import Hub
from fieldkit.core.ops import Op, shareable
from fieldkit.sync.engine import missing, summary_of
from fieldkit.wire.bundle_format import BundleReader, BundleWriter
from fieldkit.wire.messages import Envelope, Ops, Summary
from fieldkit.wire.ops_body import WIRE_VERSIONS, op_version
from fieldkit.wire.sealed import Purpose

BATCH = 500  # ops per envelope, and per page read from the store
READ = 1 << 16  # bytes read from a bundle file at a time


async def our_summary(hub: Hub) -> Summary:
    summary = summary_of(await hub.store.version_vector(), await hub.store.held_beyond())
    return replace(summary, reads=WIRE_VERSIONS[-1])


def version_for(theirs: Summary) -> int:
    """The wire version to write towards the sender of ``theirs``: the lower of ours and its."""
    return min(WIRE_VERSIONS[-1], theirs.reads)


async def ops_lacking(hub: Hub, theirs: Summary) -> AsyncIterator[Op]:
    """Every op we hold that the summary's sender lacks, as it may leave this hub, in (origin,
    seq) order, read a page of at most :data:`BATCH` seqs at a time."""
    ranges = missing(await hub.store.version_vector(), theirs)
    for origin, spans in sorted(ranges.items()):
        for lo, hi in spans:  # within our contiguous log: every seq of a span is held
            for start in range(lo, hi + 1, BATCH):
                page = {origin: [(start, min(start + BATCH - 1, hi))]}
                rows = await hub.store.ops_for_offer(page, limit=BATCH)
                for op, consented in sorted(rows, key=lambda row: row[0].seq):
                    yield shareable(op, consented)


@dataclass
class Written:
    """How many ops a bundle being written holds so far (known once it is written), and how
    many it left out because the reader reads an older wire version."""

    ops: int = 0
    held_back: int = 0


async def bundle_chunks(
    hub: Hub, key: bytes, summary: Summary, ops: AsyncIterable[Op],
    written: Written | None = None, version: int = WIRE_VERSIONS[-1], *,
    purpose: Purpose = "bundle", context: bytes = b"",
) -> AsyncIterator[bytes]:  # fmt: skip
    """A sealed bundle of our summary and ``ops`` (in envelopes of :data:`BATCH` ops), for
    readers of wire ``version``, as chunks of at most a segment or an envelope (never empty).
    Counts the ops into ``written``."""
    written = written if written is not None else Written()
    writer = BundleWriter(key, version, purpose=purpose, context=context)
    yield writer.start()
    if chunk := writer.add(Envelope(hub.id, 0, summary)):
        yield chunk
    batch: list[Op] = []
    async for op in ops:
        if op_version(op) > version:
            written.held_back += 1
            continue
        batch.append(op)
        if len(batch) == BATCH:
            written.ops += len(batch)
            if chunk := writer.add(Envelope(hub.id, 0, Ops(tuple(batch)))):
                yield chunk
            batch = []
    if batch:
        written.ops += len(batch)
        if chunk := writer.add(Envelope(hub.id, 0, Ops(tuple(batch)))):
            yield chunk
    yield writer.finish()


@dataclass
class Taken:
    """What taking a bundle's envelopes did: new ops, ops seen, the sender's summary."""

    new: int = 0
    seen: int = 0
    summary: Summary | None = None
    #: The key the bundle was sealed under, where more than one was accepted (a key rotation).
    key: bytes | None = None


async def take(hub: Hub, envelopes: Iterable[Envelope], taken: Taken | None = None) -> Taken:
    """Store the ops of some envelopes (one transaction per envelope), adding to ``taken``."""
    taken = taken if taken is not None else Taken()
    for env in envelopes:
        if isinstance(env.message, Ops):
            taken.new += await hub.receive(env.message.ops)
            taken.seen += len(env.message.ops)
        elif isinstance(env.message, Summary):
            taken.summary = env.message
    return taken


async def take_file(
    hub: Hub, key: bytes, file: IO[bytes], *, checked: bool = False,
    purpose: Purpose = "bundle", context: bytes = b"",
) -> Taken:  # fmt: skip
    """Take the bundle in a seekable ``file`` (a bundle on a stick, a spooled HTTP body) in
    bounded memory: unless it was ``checked`` already, a first pass checks it whole, storing
    nothing; the second stores it an envelope at a time. A bad bundle raises BundleError and
    stores nothing."""
    if not checked:
        check = BundleReader(key, decode=False, purpose=purpose, context=context)
        file.seek(0)
        while chunk := file.read(READ):
            check.feed(chunk)
        check.finish()
    reader, taken = BundleReader(key, purpose=purpose, context=context), Taken()
    file.seek(0)
    while chunk := file.read(READ):
        await take(hub, reader.feed(chunk), taken)
    return await take(hub, reader.finish(), taken)
