"""Issue 11, a stolen hub: a new network key travels on air by itself, sealed under the old
one (``fieldkit network rotate-key``); a revocation (``fieldkit network revoke``) moves every
hub but the stolen one, and the stolen hub's later ops are refused wherever they come from.
Real hubs (SQLite stores, their radio loops) on real MeshtasticTransports to the simulator."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fieldkit.app.hub import Hub, create_identity
from fieldkit.app.keyring import KeyRing
from fieldkit.app.netkey import ensure_network_key
from fieldkit.core.records import Category, Draft, Kind, Urgency
from fieldkit.mesh import sim_topology
from fieldkit.mesh.memory_transport import MemoryMedium
from fieldkit.mesh.meshtastic_transport import MeshtasticTransport
from fieldkit.mesh.simulator import Simulator
from fieldkit.store.sqlite import Store
from fieldkit.sync.engine import SyncSettings
from fieldkit.sync.radio import RadioSync
from fieldkit.wire import frame as codec
from fieldkit.wire import key_notice as kn
from fieldkit.wire.messages import Envelope, Ops, Summary
from tests.waiting import POLL_S, poll_until, stop_task

OLD = b"o" * 32
SCALE = 20.0
SETTINGS = SyncSettings(debounce=5_000, jitter=1_000, forward=4_000, heartbeat_min=20_000)
WAIT = 60.0


@dataclass
class Fleet:
    hubs: list[Hub]
    rings: list[KeyRing]
    syncs: list[RadioSync | None]
    sim: Simulator
    start: Callable[[int], Awaitable[None]]
    stop: Callable[[int], Awaitable[None]]
    tasks: dict[int, asyncio.Task[None]] = field(default_factory=dict)


async def wait_for(condition: Callable[[], Awaitable[bool]]) -> None:
    async with asyncio.timeout(WAIT):
        while not await condition():  # noqa: ASYNC110 -- a store read: no event to wait on
            await asyncio.sleep(POLL_S)


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[Fleet]:
    """Hubs 0 - 1 - 2 in a line; hub 3 (to be stolen) in range of hubs 0 and 1."""
    topo = sim_topology.Topology(4)
    for a, b in ((0, 1), (1, 2), (3, 0), (3, 1)):
        topo.connect(a, b)
    async with (
        Simulator(4, topology=topo, time_scale=SCALE, seed=7, hop_limit=0) as sim,
        contextlib.AsyncExitStack() as stack,
    ):
        hubs, rings = [], []
        for i in range(4):
            store = await stack.enter_async_context(await Store.open(tmp_path / f"h{i}.db"))
            await create_identity(store)
            await ensure_network_key(store, OLD)
            hub = await Hub.open(store)
            hubs.append(hub)
            rings.append(await KeyRing.open(hub))
        transports: dict[int, MeshtasticTransport] = {}
        syncs: list[RadioSync | None] = [None] * 4

        async def start(i: int) -> None:
            transport = MeshtasticTransport(sim.url(i))
            await transport.connect()
            transports[i] = transport
            ring = rings[i]
            counter = await RadioSync.start_counter(hubs[i])  # as `fieldkit run` does
            sync = RadioSync(hubs[i], transport, ring.keys.current, settings=SETTINGS,
                             time_scale=SCALE, keyring=ring, counter=counter)  # fmt: skip
            syncs[i] = sync
            f.tasks[i] = asyncio.create_task(sync.run())

        async def stop(i: int) -> None:
            await stop_task(f.tasks.pop(i), within=10, what=f"hub {i}'s radio loop")
            await transports.pop(i).close()

        f = Fleet(hubs, rings, syncs, sim, start, stop)
        for i in range(4):
            await start(i)
        try:
            yield f
        finally:
            for i in list(f.tasks):
                await stop(i)


def pinned(f: Fleet, i: int, others: list[int]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return all(f.hubs[o].id in f.rings[i].peers for o in others)

    return check


def draft(area: str) -> Draft:
    return Draft(Kind.NEED, Category.WATER, Urgency.TODAY, area)


async def test_a_rotation_reaches_every_hub_over_the_air_and_each_moves_to_the_new_key(
    fleet: Fleet,
) -> None:
    f = fleet
    await f.stop(3)  # not part of this one
    # the rotation, as `fieldkit network rotate-key` does it from another process
    command = await KeyRing.open(f.hubs[0])
    new = await command.rotate(grace_days=7)
    assert new != OLD
    await f.hubs[0].submit(draft("riverside"))  # the running hub notices the store changed

    async def all_moved() -> bool:
        for hub in f.hubs[:3]:
            await f.rings[f.hubs.index(hub)].reload()
        return all(f.rings[i].keys.current == new for i in range(3))

    await wait_for(all_moved)
    # hub 2 never hears hub 0: hub 1 passed the notice on
    assert f.rings[2].keys.old == (OLD,)
    assert f.rings[2].in_grace()

    # the record made under the new key reaches the hub two hops away
    async def converged() -> bool:
        vectors = [await f.hubs[i].store.version_vector() for i in range(3)]
        return all(sum(v.values()) == 1 for v in vectors)

    await wait_for(converged)
    # each running radio switched: what hub 2 sends now is under the new key
    sync = f.syncs[2]
    assert sync is not None
    assert sync.node.key == new
    status = await f.hubs[2].status("C")
    assert status["keys"]["state"] == "moving"


async def test_a_revoked_hub_gets_no_new_key_and_its_later_ops_are_refused_on_air(
    fleet: Fleet,
) -> None:
    f = fleet
    stolen = f.hubs[3]
    await wait_for(pinned(f, 0, [1, 2, 3]))  # exchange keys announced on air
    await stolen.submit(draft("before the theft"))

    async def everyone_has_it() -> bool:
        vectors = [await h.store.version_vector() for h in f.hubs[:3]]
        return all(v.get(stolen.id) == 1 for v in vectors)

    await wait_for(everyone_has_it)
    await f.stop(3)  # stolen
    command = await KeyRing.open(f.hubs[0])
    new, recipients = await command.revoke(stolen.id, grace_days=7)
    assert sorted(recipients) == sorted(f.hubs[i].id for i in (1, 2))
    await f.hubs[0].submit(draft("after the theft"))

    async def moved() -> bool:
        for i in range(3):
            await f.rings[i].reload()
        return all(f.rings[i].keys.current == new for i in range(3))

    await wait_for(moved)
    assert all(f.hubs[i].revoked == {stolen.id: 1} for i in range(3))
    # the thief switches the stolen hub on again: it hears the revocation but not the key
    await f.start(3)
    await stolen.submit(draft("made by the thief"))
    await stolen.submit(draft("and another"))
    sync3 = f.syncs[3]
    assert sync3 is not None

    async def thief_heard_the_revocation() -> bool:
        await f.rings[3].reload()
        return stolen.id in stolen.revoked

    await wait_for(thief_heard_the_revocation)
    assert f.rings[3].keys.current == OLD  # it reads the notice, not the key wrapped in it
    assert f.rings[3].status()["state"] == "revoked"

    def refused() -> int:
        return f.hubs[0].refused_revoked + f.hubs[1].refused_revoked

    async with asyncio.timeout(WAIT):  # a hub pushes its own new ops once; the air may lose
        while refused() < 2:  # that frame, and nobody asks for a revoked hub's ops: it makes more
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    await poll_until(lambda: refused() >= 2)
                    break
            await stolen.submit(draft("and one more"))
    # the thief, passing its ops off as relayed by hub 1, under the old key (still in grace)
    ops = [op for op, _ in await stolen.store.ops_for_offer({stolen.id: [(2, 3)]}, limit=10)]
    before = f.hubs[0].refused_revoked
    async with asyncio.timeout(WAIT):
        for counter in range(9_000_000, 9_001_000):  # again if the air loses it
            frame = codec.encode_envelope(OLD, Envelope(f.hubs[1].id, counter, Ops(ops)))
            await sync3.transport.send(frame)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await poll_until(lambda: f.hubs[0].refused_revoked > before)
                    break
    for i in range(3):
        assert (await f.hubs[i].store.version_vector()).get(stolen.id) == 1  # its earlier op stays
        status = await f.hubs[i].status("hub")
        assert status["keys"]["revoked"] == {f"{stolen.id:08x}": 1}
    assert (await f.hubs[0].status("A"))["keys"]["revoked_ops_refused"] >= 2


async def test_a_hub_that_missed_the_whole_grace_says_its_key_is_out_of_date(
    tmp_path: Path,
) -> None:
    new = b"n" * 32
    async with await Store.open(tmp_path / "late.db") as store:
        await create_identity(store)
        await ensure_network_key(store, OLD)
        hub = await Hub.open(store)
        ring = await KeyRing.open(hub)
        medium = MemoryMedium()
        neighbour, transport = medium.attach(0x10), medium.attach(0x20)
        sync = RadioSync(hub, transport, OLD, keyring=ring)
        task = asyncio.create_task(sync.run())
        known, stranger = 0x0A0B0C0D, 0x0E0E0E0E
        try:
            async with asyncio.timeout(WAIT):
                await poll_until(lambda: sync.restored)
                # a hub this one knew, now under a key it does not hold (and a stranger)
                await neighbour.send(kn.seal(OLD, kn.Announce(known, b"k" * 32)))
                await poll_until(lambda: known in ring.peers)
                for counter in range(1, 4):
                    for sender in (known, stranger):
                        env = Envelope(sender, counter, Summary({}))
                        heard = sync.node.stats.frames_in
                        await neighbour.send(codec.encode_envelope(new, env))
                        await poll_until(lambda h=heard: sync.node.stats.frames_in > h)
                    assert ring.out_of_date() == (counter >= 3)
            view = (await hub.status("late"))["keys"]
            assert view["state"] == "out of date"
            assert "fieldkit network join --force" in view["message"]
            assert stranger not in ring.stale  # only hubs it knew count
        finally:
            await stop_task(task, within=10, what="the radio loop")
            await transport.close()
        # `fieldkit status` reads it from the store, without the running hub
        again = await KeyRing.open(await Hub.open(store))
        assert again.status()["state"] == "out of date"
