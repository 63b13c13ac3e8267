"""MeshtasticTransport through the real meshtastic library against simulated radios."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from fieldkit.errors import PayloadTooLarge, TransportError
from fieldkit.mesh import airtime
from fieldkit.mesh.meshtastic_transport import MeshtasticTransport, parse_radio_url
from fieldkit.mesh.radio_address import DEFAULT_TCP_PORT
from fieldkit.mesh.simulator import Simulator
from fieldkit.mesh.transport import (
    BROADCAST,
    PRIVATE_APP,
    DutyCycleLimited,
    Frame,
    RadioRejected,
    RadioUnavailable,
    Transport,
)

WAIT = 15.0  # generous upper bound for anything below; nothing sleeps that long


def test_the_meshtastic_numbers_we_declare_are_the_librarys() -> None:
    """Declared once on our side, so the pure radio model and airtime need no library;
    checked here against the library the real radios speak."""
    import meshtastic
    from meshtastic import tcp_interface
    from meshtastic.protobuf import portnums_pb2

    assert BROADCAST == meshtastic.BROADCAST_NUM
    assert DEFAULT_TCP_PORT == tcp_interface.DEFAULT_TCP_PORT
    assert (PRIVATE_APP, airtime.TEXT_MESSAGE_APP, airtime.ROUTING_APP) == (
        portnums_pb2.PRIVATE_APP,
        portnums_pb2.TEXT_MESSAGE_APP,
        portnums_pb2.ROUTING_APP,
    )


@asynccontextmanager
async def transport(url: str, **kw: object) -> AsyncIterator[MeshtasticTransport]:
    t = MeshtasticTransport(url, reconnect_initial=0.2, **kw)  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(WAIT):
            await t.connect()
        yield t
    finally:
        await t.close()


async def recv(t: MeshtasticTransport) -> Frame:
    async with asyncio.timeout(WAIT):
        return await t.recv()


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(2, time_scale=50.0, seed=1) as s:
        yield s


def test_radio_urls_are_parsed() -> None:
    assert parse_radio_url("serial:///dev/ttyUSB0").path == "/dev/ttyUSB0"
    assert parse_radio_url("serial://").path is None
    tcp = parse_radio_url("tcp://10.0.0.5")
    assert (tcp.kind, tcp.host, tcp.port) == ("tcp", "10.0.0.5", 4403)
    sim = parse_radio_url("sim://127.0.0.1:5000")
    assert (sim.kind, sim.port) == ("tcp", 5000)
    with pytest.raises(TransportError):
        parse_radio_url("ble://radio")


async def test_payloads_of_1_and_200_bytes_cross_between_two_nodes_over_tcp(
    sim: Simulator,
) -> None:
    async with transport(sim.url(0)) as a, transport(sim.url(1)) as b:
        assert isinstance(a, Transport)
        assert (a.node_num, b.node_num) == (sim.node_num(0), sim.node_num(1))
        await a.send(b"\x01")
        frame = await recv(b)
        assert (frame.sender, frame.payload, frame.dest) == (sim.node_num(0), b"\x01", None)
        big = os.urandom(200)
        await b.send(big, dest=sim.node_num(0))
        frame = await recv(a)
        assert (frame.sender, frame.payload, frame.dest) == (sim.node_num(1), big, a.node_num)
        assert a.stats().frames_sent == 1
        assert a.stats().bytes_received == 200
        assert a.stats().airtime_ms == pytest.approx(436.2, rel=0.01)


async def test_transports_in_one_process_only_see_their_own_radio(sim: Simulator) -> None:
    async with transport(sim.url(0)) as a, transport(sim.url(1)) as b:
        await a.send(b"ping")
        assert (await recv(b)).payload == b"ping"
        await b.send(b"pong")
        # Had a's listener accepted b's interface, its first frame would be its own "ping".
        frame = await recv(a)
        assert (frame.sender, frame.payload) == (sim.node_num(1), b"pong")


async def test_oversize_payload_is_refused_before_the_radio_is_touched(sim: Simulator) -> None:
    never_connected = MeshtasticTransport("tcp://127.0.0.1:9")
    with pytest.raises(PayloadTooLarge) as info:
        await never_connected.send(bytes(201))
    assert (info.value.size, info.value.limit) == (201, 200)
    await never_connected.close()
    async with transport(sim.url(0)) as a:
        with pytest.raises(PayloadTooLarge):
            await a.send(bytes(231))
        assert a.stats().frames_sent == 0
    assert sim.stats()[0].frames_sent == 0


async def test_serial_radio_over_a_pty_exchanges_frames(sim: Simulator) -> None:
    path = await sim.open_serial(0)
    async with transport(f"serial://{path}") as a, transport(sim.url(1)) as b:
        assert a.node_num == sim.node_num(0)
        await b.send(b"over tcp")
        assert (await recv(a)).payload == b"over tcp"
        await a.send(bytes(range(200)))
        assert (await recv(b)).payload == bytes(range(200))


async def test_transport_reconnects_after_the_radio_is_killed_and_restarted(
    sim: Simulator,
) -> None:
    async with transport(sim.url(0)) as a, transport(sim.url(1)) as b:
        await sim.stop_node(0)
        async with asyncio.timeout(WAIT):
            await a.wait_disconnected()
        with pytest.raises(RadioUnavailable):
            await a.send(b"nobody listening")
        await sim.start_node(0)
        async with asyncio.timeout(WAIT):
            await a.wait_connected()
        await a.send(b"back again")
        assert (await recv(b)).payload == b"back again"
        assert a.stats().reconnects == 1
        assert a.stats().connected


async def test_serial_transport_reconnects_after_unplug(sim: Simulator) -> None:
    path = await sim.open_serial(0)
    async with transport(f"serial://{path}") as a, transport(sim.url(1)) as b:
        await sim.stop_node(0)
        async with asyncio.timeout(WAIT):
            await a.wait_disconnected()
        await sim.start_node(0)
        async with asyncio.timeout(WAIT):
            await a.wait_connected()
        await a.send(b"replugged")
        assert (await recv(b)).payload == b"replugged"
        assert a.stats().reconnects == 1


async def test_duty_cycle_nak_surfaces_as_duty_cycle_limited() -> None:
    # EU_868 with a 3 s budget: one full LongFast frame (2.1 s) fits, the second does not.
    sim = Simulator(2, region="EU_868", duty_cycle_budget_s=3.0, time_scale=50.0)
    async with sim, transport(sim.url(0)) as a:
        await a.send(bytes(200), want_ack=True)
        with pytest.raises(DutyCycleLimited):
            await a.send(bytes(200), want_ack=True)
        assert a.stats().naks == {"DUTY_CYCLE_LIMIT": 1}
        assert a.stats().duty_cycle_left_ms is not None
        with pytest.raises(DutyCycleLimited):  # backs off without asking the radio
            await a.send(b"x")
        assert sim.stats()[0].duty_cycle_naks == 1
        assert sim.stats()[0].frames_sent == 1


async def test_a_time_scaled_radio_backs_off_a_duty_cycle_nak_in_radio_time() -> None:
    sim = Simulator(2, region="EU_868", duty_cycle_budget_s=3.0, time_scale=50.0)
    async with sim, transport(sim.url(0), time_scale=50.0, duty_cycle_backoff=100.0) as a:
        await a.send(bytes(200), want_ack=True)
        with pytest.raises(DutyCycleLimited):
            await a.send(bytes(200), want_ack=True)
        with pytest.raises(DutyCycleLimited) as refused:
            await a.send(b"x")
        assert 0 < refused.value.retry_after <= 100.0 / 50.0  # 100 radio s: 2 wall s


async def test_transport_rebuilds_the_interface_after_a_radio_reboot(sim: Simulator) -> None:
    path = await sim.open_serial(0)
    async with transport(f"serial://{path}") as a, transport(sim.url(1)) as b:
        await sim.reboot_node(0)
        async with asyncio.timeout(WAIT):
            await a.wait_disconnected()
            await a.wait_connected()
        await a.send(b"after reboot")
        assert (await recv(b)).payload == b"after reboot"
        assert a.stats().reconnects == 1


async def test_hop_limit_lets_the_radios_relay_along_a_line() -> None:
    sim = Simulator(3, topology="line", time_scale=50.0)
    async with sim, transport(sim.url(0), hop_limit=1) as a, transport(sim.url(2)) as c:
        await a.send(b"two hops away")
        frame = await recv(c)
        assert (frame.sender, frame.payload, frame.hops_away) == (
            sim.node_num(0),
            b"two hops away",
            1,
        )
        assert sim.stats()[1].relays == 1


def test_serial_autodetect_needs_exactly_one_radio(monkeypatch: pytest.MonkeyPatch) -> None:
    import meshtastic.util

    from fieldkit.mesh.meshtastic_transport import find_serial_radio

    monkeypatch.setattr(meshtastic.util, "findPorts", lambda eliminate_duplicates=False: [])
    with pytest.raises(TransportError, match="no Meshtastic radio"):
        find_serial_radio()
    two = ["/dev/ttyACM0", "/dev/ttyUSB0"]
    monkeypatch.setattr(meshtastic.util, "findPorts", lambda eliminate_duplicates=False: two)
    with pytest.raises(TransportError, match="ttyACM0, /dev/ttyUSB0"):
        find_serial_radio()
    one = ["/dev/ttyUSB0"]
    monkeypatch.setattr(meshtastic.util, "findPorts", lambda eliminate_duplicates=False: one)
    assert find_serial_radio() == "/dev/ttyUSB0"


async def test_nak_for_an_unknown_channel_is_a_delivery_failure(sim: Simulator) -> None:
    async with transport(sim.url(0), channel_index=3) as a:
        with pytest.raises(RadioRejected) as info:
            await a.send(b"x", want_ack=True)
        assert info.value.reason == "NO_CHANNEL"
        assert a.stats().naks == {"NO_CHANNEL": 1}


async def test_start_keeps_trying_until_the_radio_appears(sim: Simulator) -> None:
    await sim.stop_node(0)
    t = MeshtasticTransport(sim.url(0), reconnect_initial=0.05, reconnect_max=0.2)
    try:
        await t.start()
        assert not t.connected
        await sim.start_node(0)
        async with asyncio.timeout(WAIT):
            await t.wait_connected()
        assert t.node_num == sim.node_num(0)
        assert t.stats().reconnects == 0  # the first connection is not a reconnect
    finally:
        await t.close()


def test_the_airtime_log_keeps_only_the_duty_cycle_window_where_no_duty_cycle_applies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The soak (issue 11): a hub in a region without a duty cycle (US) kept every frame it
    ever sent in its airtime log, which nothing pruned: memory grew by a frame, for ever."""
    from fieldkit.mesh import meshtastic_transport as mt

    clock = [1_000.0]
    monkeypatch.setattr(mt.time, "monotonic", lambda: clock[0])
    transport = mt.MeshtasticTransport("tcp://127.0.0.1:1")
    transport.modem, transport.region = airtime.preset("LONG_FAST"), "US"
    for _ in range(3 * 3_600 // 10):  # three hours, a frame every 10 s
        clock[0] += 10
        transport._count_sent(b"x" * 100, 256)
    assert len(transport._tx_log) <= airtime.DUTY_CYCLE_WINDOW_S // 10 + 1
    assert transport.stats().frames_sent == 3 * 3_600 // 10


def test_a_time_scaled_radio_counts_its_duty_cycle_hour_in_radio_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The soak (issue 11) runs the radios 120 times faster than the wall: the airtime log
    counted a wall hour of frames (120 radio hours), so it grew through the whole run, and
    the duty cycle left was that of 120 hours of sending squeezed into one."""
    from fieldkit.mesh import meshtastic_transport as mt

    clock = [1_000.0]
    monkeypatch.setattr(mt.time, "monotonic", lambda: clock[0])
    transport = mt.MeshtasticTransport("tcp://127.0.0.1:1", time_scale=120.0)
    transport.modem, transport.region = airtime.preset("LONG_FAST"), "EU_868"
    for _ in range(3 * 3_600 // 30):  # three radio hours, a frame every 30 radio seconds
        clock[0] += 30 / 120
        transport._count_sent(b"x" * 100, 256)
    assert len(transport._tx_log) <= airtime.DUTY_CYCLE_WINDOW_S // 30 + 1
    budget_s = airtime.duty_cycle_budget_s("EU_868")
    assert budget_s is not None
    left = transport.stats().duty_cycle_left_ms
    assert left is not None
    assert 0 < left < budget_s * 1000  # the last radio hour's frames count
    clock[0] += (airtime.DUTY_CYCLE_WINDOW_S + 10) / 120  # a radio hour of silence
    assert transport.stats().duty_cycle_left_ms == budget_s * 1000


def test_a_time_scale_must_be_positive() -> None:
    with pytest.raises(ValueError, match="time_scale"):
        MeshtasticTransport("tcp://127.0.0.1:1", time_scale=0)
