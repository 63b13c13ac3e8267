"""Wrong clocks do not decide whose edit wins: the causal counter orders a hub's edit after
everything it held for the record (issue 11, finding 3), over the wire and in the store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fieldkit.app.hub import Hub, create_identity
from fieldkit.core.ops import RecordId
from fieldkit.core.records import Category, Draft, Kind, Status, Urgency
from fieldkit.store.sqlite import Store
from fieldkit.sync.engine import SyncEngine, SyncSettings
from fieldkit.sync.node import GossipNode, Outgoing
from fieldkit.sync.replica import StoreReplica
from fieldkit.wire.frame import decode_envelope, encode_envelope
from fieldkit.wire.messages import Envelope, Ops
from tests.conftest import FakeWall

KEY = b"c" * 32
NOW = 1_790_000_000_000
DAY_MS = 24 * 3600 * 1000
YEAR_MS = 365 * DAY_MS
DRAFT = Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside")


async def open_hub(tmp_path: Path, name: str, wall: FakeWall) -> AsyncIterator[Hub]:
    async with await Store.open(tmp_path / f"{name}.sqlite3") as store:
        await create_identity(store)
        yield await Hub.open(store, wall=wall)


@pytest.fixture
async def normal(tmp_path: Path) -> AsyncIterator[Hub]:
    async for hub in open_hub(tmp_path, "normal", FakeWall(NOW)):
        yield hub


@pytest.fixture
async def ahead(tmp_path: Path) -> AsyncIterator[Hub]:
    async for hub in open_hub(tmp_path, "ahead", FakeWall(NOW + YEAR_MS)):
        yield hub


@pytest.fixture
async def behind(tmp_path: Path) -> AsyncIterator[Hub]:
    async for hub in open_hub(tmp_path, "behind", FakeWall(NOW - 30 * DAY_MS)):
        yield hub


async def send(source: Hub, target: Hub) -> int:
    """Every op of ``source`` to ``target`` through the wire codec (as radio/HTTP carry them)."""
    ops = [op async for op, _ in source.store.iter_ops()]
    frame = encode_envelope(KEY, Envelope(source.id, 1, Ops(tuple(ops))))
    message = decode_envelope(KEY, frame).message
    assert isinstance(message, Ops)
    return await target.receive(message.ops)


async def area_everywhere(record: RecordId, *hubs: Hub) -> set[str]:
    return {rec.area for hub in hubs if (rec := await hub.store.get(record)) is not None}


def tick(*walls: FakeWall, ms: int = 3_000) -> None:
    for wall in walls:
        wall.ms += ms


async def test_an_edit_made_after_a_year_ahead_hubs_edit_wins_everywhere(
    normal: Hub, ahead: Hub
) -> None:
    record = (await normal.submit(DRAFT)).record.id
    await send(normal, ahead)
    await ahead.update(record, {"area": "from a year ahead"})
    await send(ahead, normal)
    assert isinstance(normal.wall, FakeWall)
    assert isinstance(ahead.wall, FakeWall)
    tick(normal.wall, ahead.wall)  # three seconds later, on the normal hub
    edit = await normal.update(record, {"area": "made after it"})
    assert edit.causal == 1
    await send(normal, ahead)
    assert await area_everywhere(record, normal, ahead) == {"made after it"}
    # ... and the year-ahead hub's later edit, made after seeing it, wins in turn
    tick(normal.wall, ahead.wall)
    await ahead.update(record, {"area": "and after that"})
    await send(ahead, normal)
    assert await area_everywhere(record, normal, ahead) == {"and after that"}
    # the year-ahead stamps moved no other record: the normal hub's clock stayed honest
    assert (await normal.submit(DRAFT)).record.created_at == normal.wall()


async def test_a_hub_30_days_behind_wins_with_its_edit_of_a_record_from_elsewhere(
    normal: Hub, behind: Hub
) -> None:
    record = (await normal.submit(DRAFT)).record.id
    await send(normal, behind)
    edit = await behind.update(record, {"area": "edited 30 days in the past"})
    assert edit.hlc < (await normal.store.get(record)).updated  # type: ignore[union-attr]
    await send(behind, normal)
    assert await area_everywhere(record, normal, behind) == {"edited 30 days in the past"}


async def test_edits_of_behaving_clocks_carry_no_counter_and_stay_wire_version_1(
    normal: Hub, behind: Hub
) -> None:
    record = (await normal.submit(DRAFT)).record.id
    assert isinstance(normal.wall, FakeWall)
    tick(normal.wall)
    edit = await normal.update(record, {"area": "later"})
    assert edit.causal == 0
    ops = [op async for op, _ in normal.store.iter_ops()]
    assert encode_envelope(KEY, Envelope(normal.id, 1, Ops(tuple(ops))))[0] == 1


async def test_a_status_change_after_a_future_one_wins_too(normal: Hub, ahead: Hub) -> None:
    record = (await normal.submit(DRAFT)).record.id
    await send(normal, ahead)
    await ahead.set_status(record, Status.MATCHED, "pick up at 2 pm")
    await send(ahead, normal)
    await normal.set_status(record, Status.MATCHED, "pick up at 4 pm instead")
    await send(normal, ahead)
    messages = {(await h.store.get(record)).status_message for h in (normal, ahead)}  # type: ignore[union-attr]
    assert messages == {"pick up at 4 pm instead"}


# --- noticing a wrong clock -------------------------------------------------------------------


async def pump(nodes: list[GossipNode], until: int, now: int = 0) -> int:
    """Deliver every frame each node sends to the others, in radio time from ``now`` until
    ``until``; returns the time reached."""
    while now < until:
        wake = until
        for node in nodes:
            out = await node.next_payload(now)
            while isinstance(out, Outgoing):
                for other in nodes:
                    if other is not node:
                        await other.receive(out.payload, now)
                out = await node.next_payload(now)
            if isinstance(out, int):
                wake = min(wake, out)
        now = max(now + 1, wake)
    return now


def gossip(hub: Hub) -> GossipNode:
    engine = SyncEngine(hub.id, SyncSettings(debounce=100, jitter=10, forward=100))
    replica = StoreReplica(hub)

    def sample(sender: int, ms: int) -> None:
        hub.skew.observe(f"{sender:08x}", ms, hub.wall())

    return GossipNode(hub.id, replica, KEY, engine, clock_sample=sample)


async def test_a_hub_behind_its_neighbours_notices_and_corrects_its_own_stamps(
    tmp_path: Path, behind: Hub
) -> None:
    async for one in open_hub(tmp_path, "one", FakeWall(NOW)):
        async for two in open_hub(tmp_path, "two", FakeWall(NOW)):
            await one.submit(DRAFT)
            await two.submit(DRAFT)
            nodes = [gossip(behind), gossip(one), gossip(two)]
            for node in nodes:
                node.engine.changed(0)
            await pump(nodes, 60_000)
            status = (await behind.status("behind"))["clock"]
            assert status["disagrees"] is True
            assert status["offset_ms"] >= 30 * DAY_MS - 60_000
            assert set(status["sources"]) == {f"{one.id:08x}", f"{two.id:08x}"}
            created = (await behind.submit(DRAFT)).record.created_at
            assert abs(created - NOW) < 60_000  # its own stamps are right again
            assert behind.wall() == NOW - 30 * DAY_MS  # the system clock was never touched
            # the neighbours, whose clocks agree, see one neighbour behind: no correction
            assert (await one.status("one"))["clock"]["offset_ms"] == 0


async def test_one_neighbour_alone_is_shown_but_moves_nothing(normal: Hub, ahead: Hub) -> None:
    await ahead.submit(DRAFT)
    nodes = [gossip(normal), gossip(ahead)]
    for node in nodes:
        node.engine.changed(0)
    await pump(nodes, 60_000)
    clock = (await normal.status("normal"))["clock"]
    assert clock["disagrees"] is True
    assert clock["sources"][f"{ahead.id:08x}"] >= YEAR_MS - 60_000
    assert clock["offset_ms"] == 0
    assert isinstance(normal.wall, FakeWall)
    assert (await normal.submit(DRAFT)).record.created_at == normal.wall()


async def test_over_gossip_the_counted_edit_reaches_the_other_hub_in_a_version_3_frame(
    normal: Hub, ahead: Hub
) -> None:
    """Between hubs of the release before sealed frames (which read up to version 3)."""
    nodes = [gossip(normal), gossip(ahead)]
    for node in nodes:
        node.engine.reads = 3
    record = (await normal.submit(DRAFT)).record.id
    for node in nodes:
        node.engine.changed(0)
    now = await pump(nodes, 60_000)
    await ahead.update(record, {"area": "from a year ahead"})
    nodes[1].engine.changed(now)
    now = await pump(nodes, now + 60_000, now)
    edit = await normal.update(record, {"area": "made after it"})
    assert edit.causal == 1
    nodes[0].engine.changed(now)
    await pump(nodes, now + 600_000, now)  # held back until the neighbour reads version 3
    assert await area_everywhere(record, normal, ahead) == {"made after it"}
    assert nodes[0].engine.write_version() == 3
    assert nodes[0].stats.ops_held_back >= 1  # until then it was held back, never dropped
