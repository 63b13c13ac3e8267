"""Sync over HTTP between hubs: two round trips, sealed, fresh by challenge, in bounded memory."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from fieldkit.app.hub import Hub
from fieldkit.app.import_export import import_file
from fieldkit.core.ops import Create, Op, RecordId
from fieldkit.core.records import Category, Contact, Draft, Kind, Urgency
from fieldkit.errors import FieldkitError
from fieldkit.sync.batches import BATCH, bundle_chunks, our_summary
from fieldkit.sync.challenges import Challenges
from fieldkit.sync.http import CHALLENGE_HEADER, Body, Peer, answer, http_peer, sync_with
from fieldkit.web import sync_api
from fieldkit.wire.bundle_format import MAGIC, BundleError, read_bundle, write_bundle
from fieldkit.wire.messages import Envelope, Ops, Summary
from tests.sync.without_key import readable_without_key
from tests.waiting import poll_until

SAMPLE = Path(__file__).parents[2] / "fieldkit" / "data" / "sample.jsonl"
KEY = b"n" * 32
ORIGIN = 0x0A0A0A0A


async def hashes(*hubs: Hub) -> set[str]:
    return {await h.store.state_hash(public=True) for h in hubs}


def app_for(server: Hub, key: bytes = KEY) -> Starlette:
    return Starlette(routes=sync_api.sync_routes(server, key, "server"))


def client_for(server: Hub, key: bytes = KEY) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app_for(server, key)))


def ops_from_afar(count: int, notes: bool = False) -> list[Op]:
    """``count`` ops of another hub; with ``notes``, each with a note that hardly compresses
    (~60 bytes an op on the wire, so that a few thousand fill several segments)."""
    fields = {"category": "water", "urgency": "today", "area": "riverside"}
    return [
        Op(ORIGIN, seq, (1_790_000_000_000 + seq) << 16,
           Create(RecordId(ORIGIN, seq), Kind.NEED, 1_790_000_000_000 + seq,
                  {**fields, "note": hashlib.sha256(b"%d" % seq).hexdigest()} if notes else fields))
        for seq in range(1, count + 1)
    ]  # fmt: skip


async def test_http_sync_moves_ops_both_ways_and_hubs_end_equal(hub: Hub, hub2: Hub) -> None:
    await import_file(hub, SAMPLE)
    await hub2.submit(Draft(Kind.OFFER, Category.FOOD, Urgency.FLEXIBLE, "downtown"))
    async with client_for(hub2) as client:
        peer = http_peer(client, "http://hub")
        report = await sync_with(hub, KEY, peer)
        assert (report.received_new, report.sent) == (1, 28)
        assert len(await hashes(hub, hub2)) == 1
        again = await sync_with(hub, KEY, peer)
    assert (again.received_new, again.sent) == (0, 0)


async def test_http_sync_with_another_networks_key_is_refused(hub: Hub, hub2: Hub) -> None:
    await import_file(hub, SAMPLE)
    async with client_for(hub2, key=b"z" * 32) as client:
        with pytest.raises(FieldkitError, match="refused: sealed data failed authentication"):
            await sync_with(hub, KEY, http_peer(client, "http://hub"))
    assert await hub2.store.counts() == {}


# --- freshness: the replay of finding 1 -------------------------------------------------------


class Capturing(httpx.AsyncBaseTransport):
    """What someone on the open Wi-Fi sees: every request and answer, headers and bytes."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.seen: list[tuple[httpx.Request, bytes, bytes]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        sent = await request.aread()
        reply = await self.inner.handle_async_request(request)
        body = await reply.aread()
        self.seen.append((request, sent, body))
        return httpx.Response(reply.status_code, headers=reply.headers, content=body)


PRIVATE = (b"Jean Baptiste", b"555 0100", b"behind the blue church")


async def test_a_captured_sync_request_replayed_later_yields_nothing_readable_or_new(
    hub: Hub, hub2: Hub
) -> None:
    capture = Capturing(httpx.ASGITransport(app=app_for(hub2)))
    async with httpx.AsyncClient(transport=capture) as client:
        await sync_with(hub, KEY, http_peer(client, "http://hub"))  # nothing to sync yet
    (request, captured, _), *_ = [s for s in capture.seen if s[0].method == "POST"]
    # then residents come to the server hub, one consenting to share her contact
    draft = Draft(Kind.NEED, Category.MEDICATION, Urgency.CRITICAL, "riverside",
                  note="insulin, behind the blue church",
                  contact=Contact("Jean Baptiste", "555 0100"), share_contact=True)  # fmt: skip
    code = (await hub2.submit(draft)).record.ref
    before = await hashes(hub2)
    async with client_for(hub2) as attacker:
        replayed = await attacker.post(
            "http://hub/sync/v1", content=captured, headers=dict(request.headers)
        )
        fresh = (await attacker.get("http://hub/sync/v1/challenge")).text.strip()
        rebound = await attacker.post(
            "http://hub/sync/v1", content=captured, headers={CHALLENGE_HEADER: fresh}
        )
    for reply in (replayed, rebound):
        assert reply.status_code == 403
        for secret in (*PRIVATE, code.encode()):
            assert secret not in reply.content
            assert secret.decode() not in readable_without_key(reply.content)
    assert await hashes(hub2) == before


async def test_what_crosses_the_wifi_holds_no_contact_note_or_reference_code(
    hub: Hub, hub2: Hub
) -> None:
    draft = Draft(Kind.NEED, Category.MEDICATION, Urgency.CRITICAL, "riverside",
                  note="insulin, behind the blue church",
                  contact=Contact("Jean Baptiste", "555 0100"), share_contact=True)  # fmt: skip
    code = (await hub2.submit(draft)).record.ref
    await hub.submit(draft)  # and the client pushes one too
    capture = Capturing(httpx.ASGITransport(app=app_for(hub2)))
    async with httpx.AsyncClient(transport=capture) as client:
        report = await sync_with(hub, KEY, http_peer(client, "http://hub"))
    assert (report.received_new, report.sent) == (1, 1)
    assert len(capture.seen) == 4  # challenge, pull, challenge, push
    for _, sent, answered in capture.seen:
        for secret in (*PRIVATE, code.encode()):
            for data in (sent, answered):
                assert secret not in data
                assert secret.decode() not in readable_without_key(data)


async def test_a_replayed_push_changes_nothing_and_a_repeated_one_is_idempotent(
    hub: Hub, hub2: Hub
) -> None:
    await import_file(hub, SAMPLE)
    capture = Capturing(httpx.ASGITransport(app=app_for(hub2)))
    async with httpx.AsyncClient(transport=capture) as client:
        assert (await sync_with(hub, KEY, http_peer(client, "http://hub"))).sent == 28
    request, pushed, _ = [s for s in capture.seen if s[0].method == "POST"][-1]
    await hub.submit(Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "hillside"))
    before = (await hashes(hub2), await hub2.store.version_vector())
    async with client_for(hub2) as attacker:
        replayed = await attacker.post(
            "http://hub/sync/v1", content=pushed, headers=dict(request.headers)
        )
        assert replayed.status_code == 403
        assert (await hashes(hub2), await hub2.store.version_vector()) == before
        # a hub that never heard the answer pushes the same ops again: same outcome, no change
        answers = []
        for _ in range(2):
            challenge = bytes.fromhex((await attacker.get("http://hub/sync/v1/challenge")).text)
            ops = [op async for op, _ in hub.store.iter_ops(BATCH)][:28]
            body = b"".join([chunk async for chunk in bundle_chunks(
                hub, KEY, Summary({}), _each(ops), purpose="sync request", context=challenge
            )])  # fmt: skip
            reply = await attacker.post(
                "http://hub/sync/v1", content=body, headers={CHALLENGE_HEADER: challenge.hex()}
            )
            assert reply.status_code == 200
            got = read_bundle(KEY, reply.content, purpose="sync answer", context=challenge)
            answers.append(got[0].message)
    assert answers[0] == answers[1] == await our_summary(hub2)
    assert (await hashes(hub2), await hub2.store.version_vector()) == before


async def _each(ops: list[Op]) -> AsyncIterator[Op]:
    for op in ops:
        yield op


async def test_a_request_without_a_challenge_or_unsealed_is_refused(hub: Hub) -> None:
    await import_file(hub, SAMPLE)
    old_style = MAGIC + bytes(40)  # a plain bundle, as earlier releases sent
    async with client_for(hub) as client:
        bare = await client.post("http://hub/sync/v1", content=old_style)
        assert bare.status_code == 403
        assert "upgrade" in bare.text
        challenge = (await client.get("http://hub/sync/v1/challenge")).text.strip()
        plain = await client.post(
            "http://hub/sync/v1", content=old_style, headers={CHALLENGE_HEADER: challenge}
        )
    assert plain.status_code == 403
    assert "unsealed" in plain.text


# --- bounded memory ---------------------------------------------------------------------------


class Counted:
    """A request body of ``total`` bytes that counts what the server pulled of it."""

    def __init__(self, total: int, piece: int = 1 << 16) -> None:
        self.total, self.piece, self.pulled = total, piece, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.pulled < self.total:
            self.pulled += self.piece
            yield b"FKBUNDLE\x02" + bytes(self.piece - 9)


async def test_a_body_beyond_the_limit_is_refused_as_it_streams_never_read_whole(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync_api, "MAX_BODY", 1 << 20)
    async with client_for(hub) as client:
        declared = await client.post(  # no key, no challenge: refused on its length
            "http://hub/sync/v1", content=b"x" * 10, headers={"content-length": str(1 << 30)}
        )
        assert declared.status_code == 413
        unasked = Counted(1 << 30)
        assert (await client.post("http://hub/sync/v1", content=unasked)).status_code == 403
        assert unasked.pulled == 0
        challenge = (await client.get("http://hub/sync/v1/challenge")).text.strip()
        body = Counted(1 << 30)
        reply = await client.post(
            "http://hub/sync/v1", content=body, headers={CHALLENGE_HEADER: challenge}
        )
    assert reply.status_code in (403, 413)  # the first segment fails, or the size does
    assert body.pulled <= (1 << 20) + body.piece


async def test_a_sealed_body_beyond_the_limit_is_cut_off_at_the_limit(
    hub: Hub, hub2: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync_api, "MAX_BODY", 20_000)
    await hub.receive(ops_from_afar(BATCH, notes=True))
    async with client_for(hub2) as client:
        with pytest.raises(FieldkitError, match="refused: bundle too large"):
            await sync_with(hub, KEY, http_peer(client, "http://hub"))
    assert await hub2.store.counts() == {}


async def test_the_answer_streams_a_page_at_a_time_and_never_holds_the_whole_log(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    total = 8 * BATCH + 7
    await hub.receive(ops_from_afar(total, notes=True))
    read: list[int] = []  # ops per store read
    ops_for_offer = hub.store.ops_for_offer

    async def counting(ranges: dict[int, list[tuple[int, int]]], limit: int):  # type: ignore[no-untyped-def]
        rows = await ops_for_offer(ranges, limit)
        read.append(len(rows))
        return rows

    monkeypatch.setattr(hub.store, "ops_for_offer", counting)
    challenge = Challenges().issue()
    hello = write_bundle(KEY, [Envelope(7, 0, Summary({}))], purpose="sync request",
                         context=challenge)  # fmt: skip
    chunks = await answer(hub, KEY, challenge, hello)
    got = [await anext(chunks), await anext(chunks)]  # the header, the first segment
    assert sum(read) < total
    got += [chunk async for chunk in chunks]
    assert len(got) > 3
    assert max(read) <= BATCH
    assert sum(read) == total
    envelopes = read_bundle(KEY, b"".join(got), purpose="sync answer", context=challenge)
    sent = [op for env in envelopes if isinstance(env.message, Ops) for op in env.message.ops]
    assert sent == ops_from_afar(total, notes=True)  # every op, in (origin, seq) order


def direct(server: Hub, damage: Callable[[bytes], bytes] = bytes, pieces: int = 7) -> Peer:
    """The server hub without HTTP, its answers arriving in ``pieces`` (after ``damage``)."""
    challenges = Challenges()

    async def challenge() -> bytes:
        return challenges.issue()

    async def post(taken: bytes, body: Body) -> AsyncIterator[bytes]:
        assert challenges.take(taken)
        data = damage(b"".join([chunk async for chunk in await answer(server, KEY, taken, body)]))

        async def chunks() -> AsyncIterator[bytes]:
            step = -(-len(data) // pieces)
            for start in range(0, len(data), step):
                yield data[start : start + step]

        return chunks()

    return Peer(challenge, post)


async def test_the_client_takes_an_answer_arriving_in_pieces(hub: Hub, hub2: Hub) -> None:
    await hub2.receive(ops_from_afar(BATCH + 3))
    report = await sync_with(hub, KEY, direct(hub2))
    assert (report.received_new, report.received, report.sent) == (BATCH + 3, BATCH + 3, 0)
    assert await hub.store.version_vector() == {ORIGIN: BATCH + 3}


def cut(data: bytes) -> bytes:
    return data[:-40]  # the last segment cut: every earlier byte is intact


def flip(data: bytes) -> bytes:
    return data[:-60] + bytes([data[-60] ^ 1]) + data[-59:]


@pytest.mark.parametrize("damage", [cut, flip])
async def test_an_answer_cut_short_or_altered_is_refused_whole(
    hub: Hub, hub2: Hub, damage: Callable[[bytes], bytes]
) -> None:
    await hub2.receive(ops_from_afar(4 * BATCH, notes=True))
    with pytest.raises(BundleError, match="authentication"):
        await sync_with(hub, KEY, direct(hub2, damage))
    assert await hub.store.version_vector() == {}


# --- a real server ----------------------------------------------------------------------------


async def serving(app: Starlette, port: int) -> tuple[object, asyncio.Task[None]]:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):  # uvicorn has no event: poll its flag
        await poll_until(lambda: server.started or task.done())
    assert server.started
    return server, task


async def test_a_real_server_streams_its_answer_to_a_streaming_client(hub: Hub, hub2: Hub) -> None:
    from tests.web.serve import free_port

    await hub2.receive(ops_from_afar(2 * BATCH + 1))
    port = free_port()
    server, task = await serving(app_for(hub2), port)
    try:
        async with httpx.AsyncClient() as client:
            report = await sync_with(hub, KEY, http_peer(client, f"http://127.0.0.1:{port}"))
    finally:
        server.should_exit = True  # type: ignore[attr-defined]
        await task
    assert (report.received_new, report.received) == (2 * BATCH + 1, 2 * BATCH + 1)
    assert len(await hashes(hub, hub2)) == 1


async def test_a_real_server_refuses_a_huge_declared_body_before_any_of_it_is_sent(
    hub: Hub,
) -> None:
    from tests.web.serve import free_port

    port = free_port()
    server, task = await serving(app_for(hub), port)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /sync/v1 HTTP/1.1\r\nhost: hub\r\ncontent-length: 1073741824\r\n\r\n")
        await writer.drain()
        async with asyncio.timeout(30):
            status = await reader.readline()
        writer.close()
    finally:
        server.should_exit = True  # type: ignore[attr-defined]
        await task
    assert status.startswith(b"HTTP/1.1 413")


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=2000), st.booleans())
async def test_any_body_is_refused_with_a_status_never_a_server_error(
    hub: Hub, body: bytes, sealed_head: bool
) -> None:
    async with client_for(hub) as client:
        challenge = (await client.get("http://hub/sync/v1/challenge")).text.strip()
        reply = await client.post(
            "http://hub/sync/v1",
            content=(b"FKBUNDLE\x02" if sealed_head else b"") + body,
            headers={CHALLENGE_HEADER: challenge},
        )
    assert reply.status_code == 403
    assert reply.text.count("\n") == 1
