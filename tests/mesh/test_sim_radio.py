"""The simulator's radio model: pure, fast, deterministic."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from fieldkit.mesh import airtime, sim_topology
from fieldkit.mesh.sim_radio import (
    AirPacket,
    Delivery,
    Event,
    RadioModel,
    RoutingReport,
)
from fieldkit.mesh.transport import BROADCAST, PRIVATE_APP

LONG_FAST = airtime.preset("LONG_FAST")


def model(topo: sim_topology.Topology, seed: int = 1, **kw: object) -> RadioModel:
    return RadioModel(topo, LONG_FAST, random.Random(seed), **kw)  # type: ignore[arg-type]


def packet(
    m: RadioModel,
    node: int,
    pid: int,
    *,
    dest: int = BROADCAST,
    hop: int = 0,
    size: int = 10,
    want_ack: bool = False,
) -> AirPacket:
    return AirPacket(
        origin=m.node_nums[node],
        dest=dest,
        packet_id=pid,
        portnum=PRIVATE_APP,
        payload=bytes(size),
        hop_limit=hop,
        hop_start=hop,
        size=airtime.frame_size(size),
        want_ack=want_ack,
    )


def delivered_to(events: Sequence[Event]) -> list[int]:
    return sorted(e.node for e in events if isinstance(e, Delivery))


def test_single_hop_broadcast_reaches_only_neighbours() -> None:
    m = model(sim_topology.line(4))
    events = m.submit(1, packet(m, 1, 7), now=0.0) + m.run_until_idle()
    assert delivered_to(events) == [0, 2]
    assert m.stats()[1].frames_sent == 1
    assert m.stats()[1].airtime_ms == pytest.approx(airtime.packet_airtime_ms(10, LONG_FAST))


def test_transmitting_node_hears_nothing() -> None:
    m = model(sim_topology.full(2))
    events = m.submit(0, packet(m, 0, 1), 0.0) + m.submit(1, packet(m, 1, 2), 0.0)
    events += m.run_until_idle()
    assert delivered_to(events) == []
    assert [s.half_duplex_misses for s in m.stats()] == [1, 1]


def test_overlapping_transmissions_collide_at_a_receiver_hearing_both() -> None:
    m = model(sim_topology.line(3))  # 0 and 2 cannot hear each other: hidden terminals
    events = m.submit(0, packet(m, 0, 1), 0.0) + m.submit(2, packet(m, 2, 2), 0.2)
    events += m.run_until_idle()
    assert delivered_to(events) == []
    assert m.stats()[1].collisions == 2


def test_listen_before_talk_defers_a_node_that_hears_the_channel_busy() -> None:
    m = model(sim_topology.full(3))
    events = m.submit(0, packet(m, 0, 1), 0.0) + m.submit(2, packet(m, 2, 2), 0.2)
    events += m.run_until_idle()
    assert delivered_to(events) == [0, 1, 1, 2]
    assert sum(s.collisions for s in m.stats()) == 0


def test_hop_limited_flooding_reaches_hop_limit_plus_one_hops() -> None:
    m = model(sim_topology.line(6))
    events = m.submit(0, packet(m, 0, 9, hop=2), 0.0) + m.run_until_idle()
    assert delivered_to(events) == [1, 2, 3]
    assert [s.relays for s in m.stats()] == [0, 1, 1, 0, 0, 0]


def test_hop_limit_zero_is_never_relayed() -> None:
    m = model(sim_topology.line(3))
    events = m.submit(0, packet(m, 0, 9, hop=0), 0.0) + m.run_until_idle()
    assert delivered_to(events) == [1]
    assert sum(s.relays for s in m.stats()) == 0


def test_managed_flooding_delivers_once_and_suppresses_redundant_relays() -> None:
    m = model(sim_topology.full(5), seed=3)
    events = m.submit(0, packet(m, 0, 5, hop=3), 0.0) + m.run_until_idle()
    assert delivered_to(events) == [1, 2, 3, 4]
    assert sum(s.relays for s in m.stats()) < 4
    assert sum(s.duplicates for s in m.stats()) >= 1


def run_lossy(seed: int) -> list[int]:
    m = model(sim_topology.line(2, loss=0.5), seed=seed)
    got: list[int] = []
    for i in range(200):
        events = m.submit(0, packet(m, 0, i + 1), now=i * 10.0) + m.advance(i * 10.0 + 5.0)
        got += [e.packet.packet_id for e in events if isinstance(e, Delivery)]
    return got


def test_link_loss_is_deterministic_for_a_seed() -> None:
    first, again, other = run_lossy(7), run_lossy(7), run_lossy(8)
    assert first == again
    assert first != other
    assert 60 < len(first) < 140


def test_duty_cycle_budget_naks_the_frame_that_would_exceed_it() -> None:
    budget = airtime.duty_cycle_budget_s("EU_868")
    assert budget == 360.0
    m = model(sim_topology.full(2), duty_cycle_budget_s=budget)
    frame = airtime.time_on_air_s(255, LONG_FAST)
    naks: list[RoutingReport] = []
    for i in range(168):
        events = m.submit(0, packet(m, 0, i + 1, size=231), now=i * (frame + 0.01))
        naks += [e for e in events if isinstance(e, RoutingReport)]
    m.run_until_idle()
    assert [(n.request_id, n.error) for n in naks] == [
        (167, "DUTY_CYCLE_LIMIT"),
        (168, "DUTY_CYCLE_LIMIT"),
    ]
    assert m.stats()[0].frames_sent == 166
    assert m.stats()[0].duty_cycle_naks == 2
    later = m.submit(0, packet(m, 0, 999, size=231), now=3600.0 + 170 * frame)
    assert later == []


def test_direct_packet_with_want_ack_is_acknowledged_over_the_air() -> None:
    m = model(sim_topology.full(2))
    dest = m.node_nums[1]
    events = m.submit(0, packet(m, 0, 42, dest=dest, want_ack=True), 0.0) + m.run_until_idle()
    assert RoutingReport(0, 42, "NONE", dest) in events
    assert delivered_to(events) == [1]
    assert m.stats()[1].acks_sent == 1


def test_unacknowledged_packet_is_retransmitted_then_naked() -> None:
    m = model(sim_topology.line(3))
    far = m.node_nums[2]
    events = m.submit(0, packet(m, 0, 43, dest=far, want_ack=True), 0.0) + m.run_until_idle()
    assert [e for e in events if isinstance(e, RoutingReport)] == [
        RoutingReport(0, 43, "MAX_RETRANSMIT", m.node_nums[0])
    ]
    assert m.stats()[0].frames_sent == 3


def test_frame_above_255_bytes_is_refused_as_too_large() -> None:
    m = model(sim_topology.full(2))
    events = m.submit(0, packet(m, 0, 44, size=240), 0.0)
    assert events == [RoutingReport(0, 44, "TOO_LARGE", m.node_nums[0])]
    assert m.stats()[0].frames_sent == 0


def test_packets_queued_past_the_duty_cycle_budget_are_naked_when_their_turn_comes() -> None:
    m = model(sim_topology.full(2), duty_cycle_budget_s=5.0)  # two full frames fit
    events = []
    for i in range(4):  # all handed over at once: the budget is still untouched
        events += m.submit(0, packet(m, 0, i + 1, size=231), now=0.0)
    events += m.run_until_idle()
    naks = [e.request_id for e in events if isinstance(e, RoutingReport)]
    assert naks == [3, 4]
    assert delivered_to(events) == [1, 1]
