"""Sync over HTTP between hubs on one network: ``GET /sync/v1/challenge`` and
``POST /sync/v1`` (served by :mod:`fieldkit.web.sync_api`), two round trips whatever the
number of records.

Hub-to-hub HTTP often runs over open Wi-Fi, so every body is sealed
(:mod:`fieldkit.wire.sealed`) and every request is fresh. Before each request the client asks
the server for a single-use challenge (:mod:`fieldkit.sync.challenges`) and sends it in the
:data:`CHALLENGE_HEADER`; the request is a bundle sealed for ``sync request`` and the answer
one sealed for ``sync answer``, both bound to that challenge. So an eavesdropper reads nothing,
a request replayed later is refused before its body is read (its challenge was taken), and an
answer cannot be passed off as the answer to another request.

The client sends its summary; the server stores the ops a request carries and answers with
its summary and the ops the client lacks; the client stores those and sends, in a second
request under a new challenge, the ops the server lacks (a push sent twice changes nothing:
ops are known by their ids). Both ends stream in bounded memory: each spools what it receives
(sealed, in a temporary file beyond :data:`SPOOL` bytes) while checking it, and takes it an
envelope at a time only once it was whole — refused whole otherwise, nothing stored; the
server writes its answer a segment at a time as it reads the store a page at a time. Each end
writes ops in the wire version the other's summary says it reads (an earlier release says
nothing: version 1), leaving out ops that need a newer one (:attr:`SyncReport.held_back`).
"""

from __future__ import annotations

import tempfile
from collections import Counter
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
    take_file,
    version_for,
)
from fieldkit.sync.challenges import BYTES as CHALLENGE_BYTES
from fieldkit.sync.engine import missing
from fieldkit.wire import key_notice
from fieldkit.wire.bundle_format import BundleError, BundleReader
from fieldkit.wire.messages import Summary
from fieldkit.wire.sealed import Purpose

if TYPE_CHECKING:
    import httpx

    from fieldkit.app.keyring import KeyRing

SPOOL = 1 << 20  # bytes of a body held in memory before it spills to a temporary file
CHALLENGE_HEADER = "fieldkit-challenge"

#: A body: whole, or as it arrives.
Body = bytes | AsyncIterable[bytes]
#: Asks the other hub for a challenge.
Ask = Callable[[], Awaitable[bytes]]
#: Sends a request's body under a challenge to the other hub and returns its answer.
Post = Callable[[bytes, Body], Awaitable[Body]]


@dataclass(frozen=True)
class Peer:
    """The other hub, as the client sees it: how to ask it for a challenge, and to post."""

    challenge: Ask
    post: Post


class BodyTooLarge(BundleError):
    """A request body beyond the server's limit (refused as it streams in)."""


def parse_challenge(text: str | None) -> bytes | None:
    """The challenge a request names in its header (hex), or None if it names none."""
    try:
        challenge = bytes.fromhex(text or "")
    except ValueError:
        return None
    return challenge if len(challenge) == CHALLENGE_BYTES else None


async def _chunks(body: Body) -> AsyncIterator[bytes]:
    if isinstance(body, bytes):
        yield body
    else:
        async for chunk in body:
            yield chunk


async def _receive(
    hub: Hub,
    key: bytes,
    body: Body,
    *,
    purpose: Purpose,
    challenge: bytes,
    limit: int | None,
    old_keys: tuple[bytes, ...] = (),
) -> Taken:
    """Spool a sealed body while checking it (BodyTooLarge beyond ``limit`` bytes), then take
    it an envelope at a time: a body that fails any check is refused whole, nothing stored.
    ``old_keys``: also accepted (the network's previous key, during a rotation's grace): the
    body is checked under each key at once, and one that fails is dropped at its first
    segment; the answer's key is :attr:`Taken.key`."""
    keys = (key, *old_keys)
    checks: dict[bytes, BundleReader] = {
        k: BundleReader(k, decode=False, purpose=purpose, context=challenge) for k in keys
    }
    failure: BundleError | None = None
    with tempfile.SpooledTemporaryFile(max_size=SPOOL) as spool:
        size = 0
        async for chunk in _chunks(body):
            size += len(chunk)
            if limit is not None and size > limit:
                raise BodyTooLarge(f"body larger than {limit} bytes")
            for k, check in list(checks.items()):
                try:
                    check.feed(chunk)
                except BundleError as exc:
                    failure = failure if k != key else exc  # the current key's reason first
                    del checks[k]
            if not checks:
                raise failure or BundleError("refused")
            spool.write(chunk)
        for k, check in list(checks.items()):
            try:
                check.finish()
            except BundleError as exc:
                failure = failure if k != key else exc
                del checks[k]
        if not checks:
            raise failure or BundleError("refused")
        under = next(iter(checks))
        taken = await take_file(hub, under, spool, checked=True, purpose=purpose,
                                context=challenge)  # fmt: skip
        taken.key = under
        return taken


# --- the server ------------------------------------------------------------------------------


async def answer(
    hub: Hub,
    key: bytes,
    challenge: bytes,
    body: Body,
    limit: int | None = None,
    old_keys: tuple[bytes, ...] = (),
) -> AsyncIterator[bytes]:
    """The server's side of one request under ``challenge`` (already taken by the caller):
    the request is checked whole (BundleError, BodyTooLarge: nothing stored) and its ops are
    stored *before* this returns; the answer — our summary, then the ops the client lacks,
    sealed — is then produced a segment at a time as it is iterated."""
    taken = await _receive(hub, key, body, purpose="sync request", challenge=challenge,
                           limit=limit, old_keys=old_keys)  # fmt: skip
    return _answer(hub, taken.key or key, challenge, taken.summary)  # under the request's key


async def _answer(
    hub: Hub, key: bytes, challenge: bytes, theirs: Summary | None
) -> AsyncIterator[bytes]:
    summary = await our_summary(hub)  # after the request's ops were stored, as it says so
    if theirs is None:  # nothing to answer but what we hold
        chunks = bundle_chunks(hub, key, summary, _no_ops(), purpose="sync answer",
                               context=challenge)  # fmt: skip
    else:
        lacking = ops_lacking(hub, theirs)
        chunks = bundle_chunks(hub, key, summary, lacking, version=version_for(theirs),
                               purpose="sync answer", context=challenge)  # fmt: skip
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


async def sync_with(hub: Hub, key: bytes, peer: Peer) -> SyncReport:
    """The client's side: two round trips, whatever the number of records."""
    challenge = await peer.challenge()
    hello = bundle_chunks(hub, key, await our_summary(hub), _no_ops(), purpose="sync request",
                          context=challenge)  # fmt: skip
    reply = await peer.post(challenge, hello)
    taken = await _receive(hub, key, reply, purpose="sync answer", challenge=challenge,
                           limit=None)  # fmt: skip
    if taken.summary is None:
        raise BundleError("the other hub did not say what it holds")
    written, theirs = Written(), taken.summary
    if missing(await hub.store.version_vector(), theirs):
        challenge = await peer.challenge()
        ours = bundle_chunks(hub, key, await our_summary(hub), ops_lacking(hub, theirs),
                             written, version_for(theirs), purpose="sync request",
                             context=challenge)  # fmt: skip
        reply = await peer.post(challenge, ours)
        await _receive(hub, key, reply, purpose="sync answer", challenge=challenge, limit=None)
    return SyncReport(taken.new, taken.seen, written.ops, written.held_back)


def http_peer(client: httpx.AsyncClient, url: str) -> Peer:
    """The hub at ``url`` (like ``http://10.0.0.2:8080``): requests stream out and answers
    stream back as they arrive. A hub that cannot be reached or refuses is a FieldkitError."""
    import httpx

    async def challenge() -> bytes:
        try:
            reply = await client.get(f"{url}/sync/v1/challenge")
        except httpx.HTTPError as exc:
            raise FieldkitError(f"cannot reach {url}: {exc}") from None
        if reply.status_code != 200:
            raise FieldkitError(f"{url} refused: {reply.text.strip() or reply.status_code}")
        found = parse_challenge(reply.text.strip())
        if found is None:
            raise FieldkitError(f"{url} did not answer with a sync challenge")
        return found

    async def post(challenge: bytes, body: Body) -> AsyncIterator[bytes]:
        return _stream(challenge, body)

    async def _stream(challenge: bytes, body: Body) -> AsyncIterator[bytes]:
        headers = {CHALLENGE_HEADER: challenge.hex()}
        content = body if isinstance(body, bytes) else _chunks(body)
        try:
            async with client.stream(
                "POST", f"{url}/sync/v1", content=content, headers=headers
            ) as reply:
                if reply.status_code != 200:
                    text = (await reply.aread()).decode(errors="replace").strip()
                    raise FieldkitError(f"{url} refused: {text or reply.status_code}")
                async for chunk in reply.aiter_bytes():
                    yield chunk
        except httpx.HTTPError as exc:
            raise FieldkitError(f"cannot reach {url}: {exc}") from None

    return Peer(challenge, post)


async def trade_notices(client: httpx.AsyncClient, url: str, keyring: KeyRing) -> Counter[str]:
    """Before a sync: send our key notices to the hub at ``url`` and take its own (a key
    rotation or revocation, exchange keys; :mod:`fieldkit.app.keyring`). A hub of an earlier
    release, or one that cannot be reached, trades none (the sync says why)."""
    import httpx

    try:
        reply = await client.post(
            f"{url}/sync/v1/notices", content=key_notice.pack_many(keyring.outgoing())
        )
    except httpx.HTTPError:
        return Counter()
    if reply.status_code != 200:
        return Counter()
    try:
        blobs = key_notice.unpack_many(reply.content)
    except key_notice.DecodeError:
        return Counter({"refused": 1})
    return await keyring.take_many(blobs)
