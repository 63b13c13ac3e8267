"""End to end: hubs with real MeshtasticTransports on the simulated radios converge."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from fieldkit.app.hub import Hub, create_identity
from fieldkit.core.records import Category, Contact, Draft, Kind, Urgency
from fieldkit.mesh import sim_topology
from fieldkit.mesh.memory_transport import MemoryMedium
from fieldkit.mesh.meshtastic_transport import MeshtasticTransport
from fieldkit.mesh.simulator import Simulator
from fieldkit.store.sqlite import Store
from fieldkit.sync.engine import SyncSettings
from fieldkit.sync.radio import COUNTER_BLOCK, RadioSync
from fieldkit.wire import frame as codec
from fieldkit.wire.frame import COMPACT_VERSION
from fieldkit.wire.messages import Envelope, Summary
from tests.stranger import read_as_stranger
from tests.waiting import poll_until, stop_task

KEY = b"r" * 32
SCALE = 20.0  # radio time runs 20x faster than the wall clock
SETTINGS = SyncSettings(debounce=5_000, jitter=1_000, forward=4_000, heartbeat_min=20_000)
WAIT = 60.0
STOP_WAIT = 10.0  # a cancelled radio loop ends at its next await: far sooner than this


async def until(condition: Callable[[], object], hubs: list[Hub]) -> None:
    """Wait, without polling on a timer, until ``condition()`` holds after some hub changes."""
    changed = asyncio.Event()
    for hub in hubs:
        hub.on_change.append(changed.set)
    async with asyncio.timeout(WAIT):
        while not await condition():  # type: ignore[misc]
            await changed.wait()
            changed.clear()


@pytest.fixture
async def line_of_three(
    tmp_path: Path,
) -> AsyncIterator[tuple[list[Hub], list[RadioSync], Simulator]]:
    # three hubs in a line, plus a fourth radio (an intruder) in range of hubs 0 and 1
    topo = sim_topology.Topology(4)
    for a, b in ((0, 1), (1, 2), (3, 0), (3, 1)):
        topo.connect(a, b)
    async with Simulator(4, topology=topo, time_scale=SCALE, seed=5, hop_limit=0) as sim:
        hubs, syncs, tasks, transports = [], [], [], []
        async with contextlib.AsyncExitStack() as stack:
            for i in range(3):
                store = await stack.enter_async_context(await Store.open(tmp_path / f"h{i}.db"))
                await create_identity(store)
                hub = await Hub.open(store)
                transport = MeshtasticTransport(sim.url(i))
                await transport.connect()
                transports.append(transport)
                sync = RadioSync(hub, transport, KEY, settings=SETTINGS, time_scale=SCALE)
                hubs.append(hub)
                syncs.append(sync)
                tasks.append(asyncio.create_task(sync.run()))
            try:
                yield hubs, syncs, sim
            finally:
                for i, task in enumerate(tasks):
                    await stop_task(task, within=STOP_WAIT, what=f"hub {i}'s radio loop")
                for transport in transports:
                    await transport.close()


async def test_three_hubs_on_simulated_radios_converge(
    line_of_three: tuple[list[Hub], list[RadioSync], Simulator],
) -> None:
    hubs, syncs, _ = line_of_three
    await hubs[0].submit(Draft(Kind.NEED, Category.WATER, Urgency.CRITICAL, "riverside"))
    await hubs[2].submit(Draft(Kind.OFFER, Category.WATER, Urgency.FLEXIBLE, "hillside"))
    for i in range(3):
        await hubs[1].submit(Draft(Kind.NEED, Category.FOOD, Urgency.TODAY, f"area {i}"))

    async def all_equal() -> bool:
        vectors = [await h.store.version_vector() for h in hubs]
        return all(sum(v.values()) == 5 for v in vectors)

    await until(all_equal, hubs)
    assert len({await h.store.state_hash(public=True) for h in hubs}) == 1
    status = await syncs[1].status()
    assert {p["hub"] for p in status["peers"]} == {f"{hubs[0].id:08x}", f"{hubs[2].id:08x}"}
    assert status["frames_out"] > 0
    # hubs of this release seal every frame, compact (and nothing waits for a neighbour to upgrade)
    assert status["wire_version"] == COMPACT_VERSION
    assert {p["reads_wire_version"] for p in status["peers"]} == {COMPACT_VERSION}
    assert (status["ops_held_back"], status["ops_waiting_for_upgrade"]) == (0, 0)


async def test_a_listener_on_the_channel_reads_no_contact_from_the_hubs_frames(
    line_of_three: tuple[list[Hub], list[RadioSync], Simulator],
) -> None:
    """Issue 11: on air, what hubs send is sealed under the network key, consented contact
    details included; a radio on the channel without the network key reads none of it."""
    hubs, _, sim = line_of_three
    listener = MeshtasticTransport(sim.url(3))
    await listener.connect()
    heard: list[bytes] = []
    try:
        draft = Draft(
            Kind.NEED, Category.MEDICATION, Urgency.CRITICAL, "riverside",
            note="insulin gone warm", share_contact=True,
            contact=Contact("Marisol Ortega", "+15551234567", "blue door by the laundromat"),
        )  # fmt: skip
        await hubs[0].submit(draft)
        await until(lambda: _holds(hubs[1], 1), hubs)  # hub 1 took it off the air
        async with asyncio.timeout(WAIT):
            while not any(frame[0] == codec.COMPACT_VERSION for frame in heard):
                frame = await listener.recv()
                if frame.sender == sim.node_num(0):
                    heard.append(frame.payload)
    finally:
        await listener.close()
    for payload in heard:
        assert payload[0] == codec.COMPACT_VERSION
        seen = read_as_stranger(payload)
        for secret in ("Marisol", "5551234567", "laundromat", "insulin", "riverside"):
            assert secret not in seen
        assert b"Marisol" not in payload
        assert b"laundromat" not in payload
    stored = [r.contact.name for r in await hubs[1].store.list_records()]
    assert stored == ["Marisol Ortega"]  # a hub holding the key reads it


async def _holds(hub: Hub, records: int) -> bool:
    return len(await hub.store.list_records()) >= records


async def test_forged_and_replayed_frames_are_rejected_and_counted(
    line_of_three: tuple[list[Hub], list[RadioSync], Simulator],
) -> None:
    hubs, syncs, sim = line_of_three
    intruder = MeshtasticTransport(sim.url(3))
    await intruder.connect()
    try:
        await hubs[0].submit(Draft(Kind.NEED, Category.SHELTER, Urgency.CRITICAL, "riverside"))
        async with asyncio.timeout(WAIT):  # overhear a genuine frame from hub 0
            genuine = await intruder.recv()
            while genuine.sender != sim.node_num(0):
                genuine = await intruder.recv()
        forged = codec.encode_envelope(b"not the key" * 3, Envelope(0xDEADBEEF, 1, Summary({})))

        def both_rejected() -> bool:
            rejected = syncs[1].node.stats.rejected
            return rejected["auth"] >= 1 and rejected["replay"] >= 1

        async with asyncio.timeout(WAIT):
            while not both_rejected():
                # Sent twice, the genuine frame is a replay at hub 1 at least the second time
                # (the first copy may be hub 1's first sight of it, if it missed the original).
                for payload in (forged, genuine.payload, genuine.payload):
                    heard = syncs[1].node.stats.frames_in
                    await intruder.send(payload)
                    await poll_until(  # hub 1 has read it
                        lambda: syncs[1].node.stats.frames_in,
                        lambda n, heard=heard: n > heard,  # type: ignore[misc]
                    )
    finally:
        await intruder.close()
    assert syncs[1].node.stats.rejected["auth"] >= 1
    assert 0xDEADBEEF not in syncs[1].node.engine.peers  # the forger is nobody to hub 1


async def test_a_restarted_hub_still_refuses_frames_it_accepted_before(tmp_path: Path) -> None:
    """Issue 11, finding 7: the replay window is kept in the store, not only in memory."""
    medium = MemoryMedium()
    neighbour = medium.attach(0x10)
    frames = [
        codec.encode_envelope(KEY, Envelope(0xCAFE, counter, Summary({0xCAFE: counter})))
        for counter in (7, 8)
    ]
    async with await Store.open(tmp_path / "hub.db") as store:
        await create_identity(store)
        hub = await Hub.open(store)

        async def hear(payload: bytes) -> RadioSync:
            """A fresh start of the hub's radio (as `fieldkit run` does), hearing ``payload``."""
            transport = medium.attach(0x20)
            sync = RadioSync(hub, transport, KEY, settings=SETTINGS, time_scale=SCALE)
            task = asyncio.create_task(sync.run())
            try:
                async with asyncio.timeout(WAIT):
                    await poll_until(lambda: sync.restored or task.done())
                    assert sync.restored, f"the radio loop ended before it started: {task!r}"
                    await neighbour.send(payload)
                    await poll_until(  # handled: heard from, or refused
                        lambda: 0xCAFE in sync.node.engine.peers or sync.node.stats.rejected
                    )
            except TimeoutError:
                raise AssertionError(
                    f"after {WAIT:g} s the hub had neither heard nor refused the frame: {task!r}"
                ) from None
            finally:
                # the frame that was just handled also woke the send loop: the cancel lands
                # then (Python 3.11's wait_for lost exactly that cancel, and this hung)
                await stop_task(task, within=STOP_WAIT, what="the restarted hub's radio loop")
                await transport.close()
            return sync

        first = await hear(frames[0])
        assert dict(first.node.stats.rejected) == {}
        assert 0xCAFE in first.node.engine.peers
        again = await hear(frames[0])  # the same frame, replayed after a restart
        assert again.node.stats.rejected["replay"] == 1
        assert 0xCAFE not in again.node.engine.peers
        newer = await hear(frames[1])
        assert dict(newer.node.stats.rejected) == {}
        assert 0xCAFE in newer.node.engine.peers


async def test_the_radio_loop_stops_when_cancelled_as_it_is_woken(hub: Hub) -> None:
    """A frame heard (or a record saved) just as the hub shuts down wakes the send loop in the
    same moment as the cancel: the loop must still stop (under Python 3.11's wait_for the
    cancel was lost and `fieldkit run`, or a test, waited for ever)."""
    medium = MemoryMedium()

    async def wake_and_cancel(attempt: int) -> None:
        transport = medium.attach(0x20)
        sync = RadioSync(hub, transport, KEY, settings=SETTINGS, time_scale=SCALE)
        task = asyncio.create_task(sync.run())
        try:
            async with asyncio.timeout(WAIT):  # parked: its hello sent, waiting for a wake
                await poll_until(lambda: sync.node.stats.frames_out >= 1 or task.done())
            assert not task.done(), task
            sync.wake.set()
            await stop_task(task, within=STOP_WAIT, what=f"the radio loop (attempt {attempt})")
        finally:
            await transport.close()
        assert task.cancelled()

    for attempt in range(5):
        await wake_and_cancel(attempt)


async def test_a_hub_that_used_up_its_block_of_frame_counters_never_reuses_one_after_a_restart(
    tmp_path: Path,
) -> None:
    """Counters are reserved in blocks that survive restarts; a hub that sent more frames
    than one block holds reserves the next before it passes the end, so a restart starts past
    every counter it sent (a counter sent twice is refused by its neighbours as a replay)."""
    medium = MemoryMedium()
    async with await Store.open(tmp_path / "hub.db") as store:
        await create_identity(store)
        hub = await Hub.open(store)
        start = await RadioSync.start_counter(hub)
        sync = RadioSync(
            hub, medium.attach(0x20), KEY, settings=SETTINGS, time_scale=SCALE, counter=start
        )
        sync.node.counter = start + COUNTER_BLOCK - 3  # a long run: its block nearly spent
        for i in range(8):
            await hub.submit(Draft(Kind.NEED, Category.FOOD, Urgency.TODAY, f"area {i}"))
        now = 0
        for _ in range(500):
            if sync.node.counter > start + COUNTER_BLOCK + 2:
                break
            sent = await sync.node.next_payload(now)
            now = sent if isinstance(sent, int) else now + 1_000
        assert sync.node.counter > start + COUNTER_BLOCK + 2, "the hub sent too few frames"
        assert await RadioSync.start_counter(hub) > sync.node.counter  # as after a restart
