"""Sync between a hub and the cloud aggregator: hub-to-hub HTTP sync (:mod:`fieldkit.sync.http`)
in pages, so a cut costs at most the page in flight.

The same sealed, challenged requests and the same messages: each request carries the hub's
summary and at most ``page`` ops the cloud lacks, and each answer the cloud's summary and at
most ``page`` ops the hub lacks (the hub says how many it takes in :data:`PAGE_HEADER`). The
hub asks again while either side lacks something the other holds. Every page is stored an
envelope (one transaction) at a time once it arrived whole, and each request starts from
the summaries: after a cut (the cloud restarted, the link dropped) the next sync sends only
what had not landed. A page sent twice changes nothing: ops are known by their ids.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from fieldkit.app.hub import Hub
from fieldkit.core.ops import Op
from fieldkit.sync.batches import Written, bundle_chunks, ops_lacking, our_summary, version_for
from fieldkit.sync.engine import missing
from fieldkit.sync.http import Body, Peer, _no_ops, _receive
from fieldkit.wire.bundle_format import BundleError
from fieldkit.wire.messages import Summary
from fieldkit.wire.ops_body import WIRE_VERSIONS

#: Ops a request or an answer carries at most: ~0.5 MB sealed, a few seconds on a slow link.
PAGE = 5000
PAGE_HEADER = "fieldkit-page"


def page_asked(text: str | None) -> int:
    """The ops the hub takes in an answer (its header), at most :data:`PAGE`."""
    return min(int(text), PAGE) if text and text.isdecimal() else PAGE


async def first(ops: AsyncIterator[Op], count: int) -> AsyncIterator[Op]:
    """The first ``count`` ops of ``ops`` (the rest is never read from the store)."""
    taken = 0
    if count > 0:
        async for op in ops:
            yield op
            taken += 1
            if taken >= count:
                break
    aclose = getattr(ops, "aclose", None)
    if aclose is not None:  # an async generator: let it close its cursor now
        await aclose()


# --- the cloud ------------------------------------------------------------------------------


async def cloud_answer(
    cloud: Hub, key: bytes, challenge: bytes, body: Body, limit: int, page: int,
    old_keys: tuple[bytes, ...] = (),
) -> AsyncIterator[bytes]:  # fmt: skip
    """The cloud's side of one request (its challenge taken already): the request's ops are
    stored before this returns; the answer — our summary and at most ``page`` ops the hub
    lacks — streams as it is iterated, under the key the request came under (``key``, or
    one of ``old_keys`` during a rotation's grace)."""
    taken = await _receive(cloud, key, body, purpose="sync request", challenge=challenge,
                           limit=limit, old_keys=old_keys)  # fmt: skip
    return _answer(cloud, taken.key or key, challenge, taken.summary, page)


async def _answer(
    cloud: Hub, key: bytes, challenge: bytes, theirs: Summary | None, page: int
) -> AsyncIterator[bytes]:
    summary = await our_summary(cloud)
    if theirs is None:
        ops, version = _no_ops(), WIRE_VERSIONS[-1]
    else:
        ops, version = first(ops_lacking(cloud, theirs), page), version_for(theirs)
    async for chunk in bundle_chunks(cloud, key, summary, ops, version=version,
                                     purpose="sync answer", context=challenge):  # fmt: skip
        yield chunk


# --- the hub --------------------------------------------------------------------------------


@dataclass
class CloudReport:
    requests: int = 0
    sent: int = 0  # ops the hub sent
    received: int = 0  # ops the cloud sent
    received_new: int = 0  # of which the hub lacked
    held_back: int = 0  # ops the cloud reads too old a wire version for
    left_to_send: int = 0  # after the last request: ops the cloud still lacks (0 when done)


async def _lacking_count(hub: Hub, theirs: Summary) -> int:
    return sum(hi - lo + 1 for spans in missing(await hub.store.version_vector(), theirs).values()
               for lo, hi in spans)  # fmt: skip


async def sync_cloud(
    hub: Hub,
    key: bytes,
    peer: Peer,
    *,
    page: int = PAGE,
    pull: bool = True,
    progress: Callable[[CloudReport], object] | None = None,
) -> CloudReport:
    """The hub's side: requests of at most ``page`` ops each way until neither side lacks
    what the other holds (``pull=False``: only send). ``progress`` is told after each (and
    awaited if it answers an awaitable)."""
    report, theirs = CloudReport(), None
    left_before: int | None = None
    while True:
        challenge = await peer.challenge()
        written = Written()
        if theirs is None:
            ops, version = _no_ops(), WIRE_VERSIONS[-1]
        else:
            ops, version = first(ops_lacking(hub, theirs), page), version_for(theirs)
        body = bundle_chunks(hub, key, await our_summary(hub), ops, written, version,
                             purpose="sync request", context=challenge)  # fmt: skip
        reply = await peer.post(challenge, body)
        taken = await _receive(hub, key, reply, purpose="sync answer", challenge=challenge,
                               limit=None)  # fmt: skip
        if taken.summary is None:
            raise BundleError("the cloud did not say what it holds")
        theirs = taken.summary
        report.requests += 1
        report.sent += written.ops
        report.received += taken.seen
        report.received_new += taken.new
        report.held_back = written.held_back
        report.left_to_send = max(0, await _lacking_count(hub, theirs) - written.held_back)
        if progress is not None and inspect.isawaitable(told := progress(report)):
            await told
        cloud_has_more = missing(theirs.vector, await our_summary(hub))
        more_to_pull = pull and taken.seen > 0 and bool(cloud_has_more)
        # Pushing again only helps if the last push landed: ops the cloud does not keep (a
        # revoked hub's, refused there) would otherwise be sent for ever.
        landed = left_before is None or report.left_to_send < left_before
        more_to_push = report.left_to_send > 0 and (written.ops > 0 or report.requests == 1)
        if not (more_to_pull or (more_to_push and landed)):
            return report
        left_before = report.left_to_send if written.ops else None


def page_header(page: int, pull: bool) -> dict[str, str]:
    """What the hub says it takes in each answer."""
    return {PAGE_HEADER: str(page if pull else 0)}
