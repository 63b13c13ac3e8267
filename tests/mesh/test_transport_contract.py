"""One contract, every Transport: the in-memory double and Meshtastic-on-the-simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from fieldkit.errors import PayloadTooLarge, TransportError
from fieldkit.mesh.memory_transport import MemoryMedium
from fieldkit.mesh.meshtastic_transport import MeshtasticTransport
from fieldkit.mesh.simulator import Simulator
from fieldkit.mesh.transport import Frame, Transport


@dataclass
class Pair:
    a: Transport
    b: Transport
    a_num: int
    b_num: int


async def recv(t: Transport) -> Frame:
    async with asyncio.timeout(15):
        async for frame in t.frames():
            return frame
    raise AssertionError("frames() ended")


@pytest.fixture(params=["memory", "meshtastic-sim"])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[Pair]:
    if request.param == "memory":
        medium = MemoryMedium()
        a, b = medium.attach(), medium.attach()
        yield Pair(a, b, a.node_num, b.node_num)
        await a.close()
        await b.close()
        return
    async with Simulator(2, time_scale=50.0) as sim:
        ta, tb = MeshtasticTransport(sim.url(0)), MeshtasticTransport(sim.url(1))
        async with asyncio.timeout(15):
            await ta.connect()
            await tb.connect()
        yield Pair(ta, tb, sim.node_num(0), sim.node_num(1))
        await ta.close()
        await tb.close()


async def test_broadcast_arrives_with_its_sender(pair: Pair) -> None:
    assert isinstance(pair.a, Transport)
    await pair.a.send(b"all of you")
    frame = await recv(pair.b)
    assert (frame.sender, frame.payload, frame.dest) == (pair.a_num, b"all of you", None)


async def test_direct_frame_names_its_destination(pair: Pair) -> None:
    await pair.b.send(b"just you", dest=pair.a_num)
    frame = await recv(pair.a)
    assert (frame.sender, frame.payload, frame.dest) == (pair.b_num, b"just you", pair.a_num)


async def test_max_payload_fits_and_one_more_byte_does_not(pair: Pair) -> None:
    assert pair.a.max_payload == 200
    await pair.a.send(bytes(range(200)))
    assert (await recv(pair.b)).payload == bytes(range(200))
    with pytest.raises(PayloadTooLarge):
        await pair.a.send(bytes(201))
    assert pair.a.stats().frames_sent == 1
    assert pair.a.stats().bytes_sent == 200
    assert pair.b.stats().frames_received == 1


async def test_closed_transport_ends_frames_and_refuses_sends(pair: Pair) -> None:
    await pair.b.close()
    async with asyncio.timeout(15):
        assert [f async for f in pair.b.frames()] == []
    with pytest.raises(TransportError):
        await pair.b.send(b"too late")


async def test_memory_medium_range_and_seeded_loss() -> None:
    medium = MemoryMedium()
    a, b, c = medium.attach(1), medium.attach(2), medium.attach(3)
    medium.set_in_range(1, 3, False)
    await a.send(b"x")
    assert (await recv(b)).payload == b"x"
    assert c.stats().frames_received == 0
    lossy = MemoryMedium(loss=0.5)
    s, r = lossy.attach(), lossy.attach()
    for _ in range(100):
        await s.send(b"y")
    assert 25 < r.stats().frames_received < 75
