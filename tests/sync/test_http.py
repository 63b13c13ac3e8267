"""Sync over HTTP between hubs: two round trips, answers streamed in bounded memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from fieldkit.app.hub import Hub
from fieldkit.app.import_export import import_file
from fieldkit.core.ops import Create, Op, RecordId
from fieldkit.core.records import Category, Draft, Kind, Urgency
from fieldkit.errors import FieldkitError
from fieldkit.sync.batches import BATCH
from fieldkit.sync.http import Post, answer, streaming_post, sync_with
from fieldkit.web import sync_api
from fieldkit.wire.bundle_format import BundleError, read_bundle, write_bundle
from fieldkit.wire.messages import Envelope, Ops, Summary

SAMPLE = Path(__file__).parents[2] / "fieldkit" / "data" / "sample.jsonl"
KEY = b"n" * 32
ORIGIN = 0x0A0A0A0A


async def hashes(*hubs: Hub) -> set[str]:
    return {await h.store.state_hash(public=True) for h in hubs}


def client_for(server: Hub, key: bytes = KEY) -> httpx.AsyncClient:
    app = Starlette(routes=sync_api.sync_routes(server, key, "server"))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app))


def ops_from_afar(count: int) -> list[Op]:
    fields = {"category": "water", "urgency": "today", "area": "riverside"}
    return [
        Op(ORIGIN, seq, (1_790_000_000_000 + seq) << 16,
           Create(RecordId(ORIGIN, seq), Kind.NEED, 1_790_000_000_000 + seq, fields))
        for seq in range(1, count + 1)
    ]  # fmt: skip


async def test_http_sync_moves_ops_both_ways_and_hubs_end_equal(hub: Hub, hub2: Hub) -> None:
    await import_file(hub, SAMPLE)
    await hub2.submit(Draft(Kind.OFFER, Category.FOOD, Urgency.FLEXIBLE, "downtown"))
    async with client_for(hub2) as client:
        post = streaming_post(client, "http://hub")
        report = await sync_with(hub, KEY, post)
        assert (report.received_new, report.sent) == (1, 28)
        assert len(await hashes(hub, hub2)) == 1
        again = await sync_with(hub, KEY, post)
    assert (again.received_new, again.sent) == (0, 0)


async def test_http_sync_with_another_networks_key_is_refused(hub: Hub, hub2: Hub) -> None:
    await import_file(hub, SAMPLE)
    async with client_for(hub2, key=b"z" * 32) as client:
        with pytest.raises(FieldkitError, match="refused: bundle failed authentication"):
            await sync_with(hub, KEY, streaming_post(client, "http://hub"))
    assert await hub2.store.counts() == {}


async def test_a_request_beyond_the_limit_is_refused_before_it_is_read_whole(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync_api, "MAX_BODY", 100)
    async with client_for(hub) as client:
        reply = await client.post("http://hub/sync/v1", content=b"FKBUNDLE\x01" + b"x" * 200)
    assert reply.status_code == 413


async def test_the_answer_streams_a_page_at_a_time_and_never_holds_the_whole_log(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    total = 3 * BATCH + 7
    await hub.receive(ops_from_afar(total))
    read: list[int] = []  # ops per store read
    ops_for_offer = hub.store.ops_for_offer

    async def counting(ranges: dict[int, list[tuple[int, int]]], limit: int):  # type: ignore[no-untyped-def]
        rows = await ops_for_offer(ranges, limit)
        read.append(len(rows))
        return rows

    monkeypatch.setattr(hub.store, "ops_for_offer", counting)
    chunks = await answer(hub, KEY, write_bundle(KEY, [Envelope(7, 0, Summary({}))]))
    got = [await anext(chunks), await anext(chunks), await anext(chunks)]  # header, summary, ops
    assert sum(read) == BATCH < total  # the first envelope left after one page was read
    got += [chunk async for chunk in chunks]
    assert max(read) <= BATCH
    assert sum(read) == total
    assert len(got) == 3 + -(-total // BATCH)  # header, summary, one chunk per batch, the tag
    envelopes = read_bundle(KEY, b"".join(got))
    sent = [op for env in envelopes if isinstance(env.message, Ops) for op in env.message.ops]
    assert sent == ops_from_afar(total)  # every op, in (origin, seq) order


def replying(data: bytes, pieces: int = 7) -> Post:
    async def post(body: bytes) -> AsyncIterator[bytes]:
        async def chunks() -> AsyncIterator[bytes]:
            step = -(-len(data) // pieces)
            for start in range(0, len(data), step):
                yield data[start : start + step]

        return chunks()

    return post


async def answer_of(server: Hub) -> bytes:
    hello = write_bundle(KEY, [Envelope(7, 0, Summary({}))])
    return b"".join([chunk async for chunk in await answer(server, KEY, hello)])


async def test_the_client_takes_an_answer_arriving_in_pieces(hub: Hub, hub2: Hub) -> None:
    await hub2.receive(ops_from_afar(BATCH + 3))
    report = await sync_with(hub, KEY, replying(await answer_of(hub2)))
    assert (report.received_new, report.received, report.sent) == (BATCH + 3, BATCH + 3, 0)
    assert await hub.store.version_vector() == {ORIGIN: BATCH + 3}


@pytest.mark.parametrize("damage", ["cut", "flip"])
async def test_an_answer_cut_short_or_altered_is_refused_whole(
    hub: Hub, hub2: Hub, damage: str
) -> None:
    await hub2.receive(ops_from_afar(BATCH + 3))
    data = bytearray(await answer_of(hub2))
    if damage == "cut":
        data = data[:-40]  # the last envelope and the tag: every earlier envelope is intact
    else:
        data[-60] ^= 1
    with pytest.raises(BundleError, match="authentication"):
        await sync_with(hub, KEY, replying(bytes(data)))
    assert await hub.store.version_vector() == {}


async def test_a_real_server_streams_its_answer_to_a_streaming_client(hub: Hub, hub2: Hub) -> None:
    import asyncio

    import uvicorn

    from tests.web.serve import free_port

    await hub2.receive(ops_from_afar(2 * BATCH + 1))
    app = Starlette(routes=sync_api.sync_routes(hub2, KEY, "server"))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not server.started:  # noqa: ASYNC110 -- a poll with a deadline: uvicorn has no event
                await asyncio.sleep(0.01)
        async with httpx.AsyncClient() as client:
            post = streaming_post(client, f"http://127.0.0.1:{port}")
            report = await sync_with(hub, KEY, post)
    finally:
        server.should_exit = True
        await serving
    assert (report.received_new, report.received) == (2 * BATCH + 1, 2 * BATCH + 1)
    assert len(await hashes(hub, hub2)) == 1
