"""Sync over HTTP between hubs on one network: ``POST /sync/v1`` (served by
:mod:`fieldkit.web.sync_api`), two round trips whatever the number of records.

A request and its answer are bundles (:mod:`fieldkit.wire.bundle_format`): the client sends
its summary; the server stores the ops a request carries and answers with its summary and the
ops the client lacks; the client stores those and sends, in a second request, the ops the
server lacks. Both ends stream: the server writes its answer an envelope at a time as it reads
the store a page at a time, and the client spools the answer (a temporary file beyond
:data:`SPOOL` bytes), checks its tag, then takes it an envelope at a time — a bundle that fails
its tag is refused whole, as before, and memory stays bounded at both ends. Each end writes
ops in the wire version the other's summary says it reads (an earlier release says nothing:
version 1), leaving out ops that need a newer one (:attr:`SyncReport.held_back`).
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fieldkit.app.hub import Hub
from fieldkit.core.ops import Op
from fieldkit.errors import FieldkitError
from fieldkit.sync.batches import (
    Taken,
    Written,
    bundle_chunks,
    ops_lacking,
    our_summary,
    take,
    version_for,
)
from fieldkit.wire.bundle_format import BundleError, BundleReader, read_bundle, write_bundle
from fieldkit.wire.messages import Envelope, Summary

if TYPE_CHECKING:
    import httpx

SPOOL = 1 << 20  # bytes of an answer held in memory before it spills to a temporary file
READ = 1 << 16  # bytes read from the spool at a time

#: An answer: whole, or as it arrives.
Reply = bytes | AsyncIterable[bytes]
#: Sends a request's bytes to the other hub and returns its answer.
Post = Callable[[bytes], Awaitable[Reply]]


# --- the server ------------------------------------------------------------------------------


async def answer(hub: Hub, key: bytes, body: bytes) -> AsyncIterator[bytes]:
    """The server's side of one request: the request is checked whole (BundleError, nothing
    stored) and its ops are stored *before* this returns; the answer — our summary, then the
    ops the client lacks — is then produced a chunk per envelope as it is iterated."""
    theirs = (await take(hub, read_bundle(key, body))).summary
    return _answer(hub, key, theirs)


async def _answer(hub: Hub, key: bytes, theirs: Summary | None) -> AsyncIterator[bytes]:
    summary = await our_summary(hub)  # after the request's ops were stored, as it says so
    if theirs is None:  # nothing to answer but what we hold
        chunks = bundle_chunks(hub, key, summary, _no_ops())
    else:
        lacking = ops_lacking(hub, theirs)
        chunks = bundle_chunks(hub, key, summary, lacking, version=version_for(theirs))
    async for chunk in chunks:
        yield chunk


async def _no_ops() -> AsyncIterator[Op]:
    return
    yield  # an async generator that yields nothing


# --- the client ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncReport:
    received_new: int
    received: int
    sent: int
    held_back: int = 0  # ops not sent: the other hub reads an older wire version


async def sync_with(hub: Hub, key: bytes, post: Post) -> SyncReport:
    """The client's side: two round trips, whatever the number of records."""
    hello = write_bundle(key, [Envelope(hub.id, 0, await our_summary(hub))])
    taken = await _take_reply(hub, key, await post(hello))
    if taken.summary is None:
        raise BundleError("the other hub did not say what it holds")
    written, theirs = Written(), taken.summary
    ours = bundle_chunks(hub, key, await our_summary(hub), ops_lacking(hub, theirs), written,
                         version_for(theirs))  # fmt: skip
    upload = b"".join([chunk async for chunk in ours])  # the server reads a request whole
    if written.ops:
        await _check_reply(key, await post(upload))
    return SyncReport(taken.new, taken.seen, written.ops, written.held_back)


async def _chunks(reply: Reply) -> AsyncIterator[bytes]:
    if isinstance(reply, bytes):
        yield reply
    else:
        async for chunk in reply:
            yield chunk


async def _check_reply(key: bytes, reply: Reply) -> None:
    check = BundleReader(key, decode=False)
    async for chunk in _chunks(reply):
        check.feed(chunk)
    check.finish()


async def _take_reply(hub: Hub, key: bytes, reply: Reply) -> Taken:
    """Spool the answer, check its tag, then store it an envelope at a time."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL) as spool:
        check = BundleReader(key, decode=False)
        async for chunk in _chunks(reply):
            check.feed(chunk)
            spool.write(chunk)
        check.finish()
        spool.seek(0)
        reader, taken = BundleReader(key), Taken()
        while chunk := spool.read(READ):
            await take(hub, reader.feed(chunk), taken)
        reader.finish()
    return taken


def streaming_post(client: httpx.AsyncClient, url: str) -> Post:
    """A :data:`Post` to the hub at ``url`` (like ``http://10.0.0.2:8080``) that hands back the
    answer as it arrives. A hub that cannot be reached or refuses is a FieldkitError."""
    import httpx

    async def post(body: bytes) -> AsyncIterator[bytes]:
        return _stream(body)

    async def _stream(body: bytes) -> AsyncIterator[bytes]:
        try:
            async with client.stream("POST", f"{url}/sync/v1", content=body) as reply:
                if reply.status_code != 200:
                    text = (await reply.aread()).decode(errors="replace").strip()
                    raise FieldkitError(f"{url} refused: {text or reply.status_code}")
                async for chunk in reply.aiter_bytes():
                    yield chunk
        except httpx.HTTPError as exc:
            raise FieldkitError(f"cannot reach {url}: {exc}") from None

    return post
