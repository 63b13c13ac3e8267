"""Radio faults while residents submit (issue 11): the radio is unplugged and plugged back,
rebooted and hung, and a stranger's radio sends malformed frames, all while residents submit at once
on both hubs. Nothing acknowledged is lost (both hubs end holding every op), every malformed
frame is counted by its reason and dropped, the radio loops never stop, and each transport
reconnects by itself (its back-off), as ``fieldkit run`` starts it: in the background.

Real parts: the meshtastic library over TCP to our simulator's radios."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fieldkit.app.hub import Hub, create_identity
from fieldkit.core.records import Category, Draft, Kind, Urgency
from fieldkit.errors import StoreError
from fieldkit.mesh.memory_transport import MemoryMedium
from fieldkit.mesh.meshtastic_transport import MeshtasticTransport
from fieldkit.mesh.simulator import Simulator
from fieldkit.store.sqlite import Store
from fieldkit.sync.engine import SyncSettings
from fieldkit.sync.radio import RadioSync
from fieldkit.wire import frame as codec
from fieldkit.wire.messages import Envelope, Summary
from tests.waiting import poll_until, stop_task

pytestmark = pytest.mark.timeout(180)

KEY = b"f" * 32
SCALE = 20.0
SETTINGS = SyncSettings(debounce=5_000, jitter=1_000, forward=4_000, heartbeat_min=20_000)
WAIT = 60.0
RESIDENTS = 4  # submitting at once, at each hub, in every phase


@dataclass
class Mesh:
    sim: Simulator
    hubs: list[Hub]
    syncs: list[RadioSync]
    transports: list[MeshtasticTransport]
    tasks: list[asyncio.Task[None]]
    acknowledged: list[tuple[int, int]] = field(default_factory=list)  # (hub, seq) of records

    async def residents(self, hub: int, phase: str) -> None:
        """``RESIDENTS`` residents submit at once at hub ``hub``; each acknowledged one kept."""

        async def one(n: int) -> None:
            draft = Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside", f"{phase} {n}")
            done = await self.hubs[hub].submit(draft)
            self.acknowledged.append((done.record.id.hub, done.record.id.seq))

        await asyncio.gather(*(one(n) for n in range(RESIDENTS)))


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    # hubs 0 and 1, and a stranger's radio (2) that hears and is heard by both
    sim = Simulator(3, topology="full", time_scale=SCALE, seed=3, hop_limit=0)
    async with sim, contextlib.AsyncExitStack() as stack:
        net = Mesh(sim, [], [], [], [])
        for i in range(2):
            store = await stack.enter_async_context(await Store.open(tmp_path / f"h{i}.db"))
            await create_identity(store)
            hub = await Hub.open(store)
            transport = MeshtasticTransport(sim.url(i), reconnect_initial=0.05, reconnect_max=0.5)
            await transport.start()  # in the background, as `fieldkit run` does
            stack.push_async_callback(transport.close)
            sync = RadioSync(hub, transport, KEY, settings=SETTINGS, time_scale=SCALE)
            net.hubs.append(hub)
            net.syncs.append(sync)
            net.transports.append(transport)
            net.tasks.append(asyncio.create_task(sync.run()))
        try:
            yield net
        finally:
            for i, task in enumerate(net.tasks):
                await stop_task(task, within=10, what=f"hub {i}'s radio loop")


def refused(sync: RadioSync) -> int:
    """Frames this hub refused (every reason but ``newer``, which counts ops)."""
    return sum(n for reason, n in sync.node.stats.rejected.items() if reason != "newer")


def malformed_frames() -> list[tuple[str, bytes]]:
    genuine = codec.encode_envelope(KEY, Envelope(0xBAD0BAD0, 1, Summary({0xBAD0BAD0: 3})))
    foreign = codec.encode_envelope(b"x" * 32, Envelope(0xBAD0BAD0, 2, Summary({0xBAD0BAD0: 3})))
    return [
        ("noise", random.Random(7).randbytes(60)),
        ("one byte", b"\x01"),
        ("cut short", genuine[: len(genuine) // 2]),
        ("unknown version", bytes([0x7F]) + genuine[1:]),
        ("another network's key", foreign),
        ("a byte flipped", genuine[:-1] + bytes([genuine[-1] ^ 1])),
    ]


async def within(what: str, step: Callable[[], Awaitable[object]]) -> None:
    try:
        async with asyncio.timeout(WAIT):
            await step()
    except TimeoutError:
        raise AssertionError(f"after {WAIT:g} s still waiting for {what}") from None


async def test_radio_faults_under_concurrent_submissions_lose_nothing_acknowledged(
    mesh: Mesh,
) -> None:
    sim, hubs, syncs, transports = mesh.sim, mesh.hubs, mesh.syncs, mesh.transports
    await within("both radios", lambda: asyncio.gather(*(t.wait_connected() for t in transports)))
    await asyncio.gather(mesh.residents(0, "first"), mesh.residents(1, "first"))

    # hub 0's radio unplugged while residents submit there; then plugged back
    await sim.stop_node(0)
    await within("hub 0 to notice its radio gone", transports[0].wait_disconnected)
    await asyncio.gather(mesh.residents(0, "unplugged"), mesh.residents(1, "unplugged"))
    assert (await syncs[0].status())["connected"] is False
    await sim.start_node(0)
    await within("hub 0's radio to reconnect by itself", transports[0].wait_connected)

    # hub 1's radio reboots (its TCP link drops) while residents submit at both
    await sim.reboot_node(1)
    await within("hub 1 to notice the reboot", transports[1].wait_disconnected)
    await asyncio.gather(mesh.residents(0, "reboot"), mesh.residents(1, "reboot"))
    await within("hub 1's radio to reconnect by itself", transports[1].wait_connected)

    # hub 0's radio hangs (connected, but it reads nothing, says nothing and is off the air)
    sim.stall_node(0)
    sent = syncs[0].node.stats.frames_out
    await asyncio.gather(mesh.residents(0, "hung"), mesh.residents(1, "hung"))
    await within("hub 0 to send into its hung radio", lambda: poll_until(
        lambda: syncs[0].node.stats.frames_out > sent))  # fmt: skip
    top = (await hubs[0].store.version_vector())[hubs[0].id]
    assert (await hubs[1].store.version_vector()).get(hubs[0].id, 0) < top  # nothing got out
    sim.stall_node(0, False)

    # a stranger's radio sends malformed frames while residents submit
    stranger = MeshtasticTransport(sim.url(2))
    await stranger.connect()
    try:
        for what, payload in malformed_frames():
            targets = [refused(s) + 1 for s in syncs]

            async def both_refused(payload: bytes = payload, targets: list[int] = targets) -> None:
                while not all(refused(s) >= t for s, t in zip(syncs, targets, strict=True)):
                    await stranger.send(payload)  # again, if a collision on air lost it
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(2):
                            await poll_until(
                                lambda: all(
                                    refused(s) >= t for s, t in zip(syncs, targets, strict=True)
                                )
                            )

            await asyncio.gather(
                within(f"both hubs to refuse {what}", both_refused), mesh.residents(0, what)
            )
    finally:
        await stranger.close()

    # every acknowledged submission reaches both hubs, by itself
    total = len(mesh.acknowledged)
    assert total == RESIDENTS * (2 * 4 + len(malformed_frames()))

    async def converged() -> None:
        changed = asyncio.Event()  # woken by each hub's store changing, never on a timer
        for hub in hubs:
            hub.on_change.append(changed.set)
        while [sum((await h.store.version_vector()).values()) for h in hubs] != [total] * 2:
            await changed.wait()
            changed.clear()

    await within("both hubs to hold every acknowledged submission", converged)
    for hub in hubs:
        for origin, seq in mesh.acknowledged:
            assert seq <= (await hub.store.version_vector())[origin]
    assert len({await h.store.state_hash(public=True) for h in hubs}) == 1

    for i, (sync, task) in enumerate(zip(syncs, mesh.tasks, strict=True)):
        assert not task.done(), f"hub {i}'s radio loop ended: {task!r}"
        status = await sync.status()
        assert status["connected"] is True
        assert status["store_failures"] == 0
        rejected = status["rejected"]
        assert {"auth", "version", "truncated"} <= set(rejected), rejected
        assert 0xBAD0BAD0 not in sync.node.engine.peers  # a stranger is nobody to a hub
    assert transports[0].stats().reconnects >= 1
    assert transports[1].stats().reconnects >= 1


async def test_a_frame_the_store_cannot_take_is_counted_and_the_radio_keeps_listening(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk (or a failing card) while a frame is taken: that frame is counted as a
    store failure and the loop goes on with the next (it used to end the receiver for good)."""
    medium = MemoryMedium()
    neighbour, transport = medium.attach(0x10), medium.attach(0x20)
    sync = RadioSync(hub, transport, KEY, settings=SETTINGS, time_scale=SCALE)
    real_set_meta = hub.store.set_meta
    full = [True]

    async def set_meta(key: str, value: str) -> None:
        if full[0]:
            raise StoreError("database or disk is full")
        await real_set_meta(key, value)

    monkeypatch.setattr(hub.store, "set_meta", set_meta)
    task = asyncio.create_task(sync.run())
    try:
        async with asyncio.timeout(WAIT):
            await poll_until(lambda: sync.restored or task.done())
            await neighbour.send(codec.encode_envelope(KEY, Envelope(0xCAFE, 1, Summary({}))))
            await poll_until(lambda: sync.failures >= 1 or task.done())
            full[0] = False  # space again
            await neighbour.send(codec.encode_envelope(KEY, Envelope(0xCAFE, 2, Summary({}))))
            await poll_until(lambda: 0xCAFE in sync.node.engine.peers or task.done())
        assert not task.done(), task
        assert (await sync.status())["store_failures"] == 1
    finally:
        await stop_task(task, within=10, what="the radio loop")
        await transport.close()
