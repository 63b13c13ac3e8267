"""The hearing rule: radios tuned or keyed differently do not exchange packets, as on air."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from meshtastic.protobuf import mesh_pb2

from fieldkit.mesh import airtime, sim_admin, sim_device, sim_topology, sim_traceroute
from fieldkit.mesh.sim_radio import Air, AirPacket, Delivery, RadioModel
from fieldkit.mesh.transport import BROADCAST, PRIVATE_APP

LONG_FAST = airtime.preset("LONG_FAST")


def broadcast(m: RadioModel, node: int, pid: int, key: bytes, hop: int = 0) -> AirPacket:
    return AirPacket(
        origin=m.node_nums[node], dest=BROADCAST, packet_id=pid, portnum=PRIVATE_APP,
        payload=bytes(10), hop_limit=hop, hop_start=hop, size=airtime.frame_size(10), key=key,
    )  # fmt: skip


def test_another_region_or_preset_is_not_heard_at_all() -> None:
    m = RadioModel(sim_topology.full(3), LONG_FAST, random.Random(1))
    m.set_air(1, Air(tuning=("EU_868", "LONG_FAST", "#x")), 0.0)
    m.set_air(2, Air(tuning=("US", "SHORT_FAST", "#x")), 0.0)
    events = m.submit(0, broadcast(m, 0, 1, b""), 0.0) + m.run_until_idle()
    assert [e for e in events if isinstance(e, Delivery)] == []
    assert [(s.frames_received, s.undecodable) for s in m.stats()[1:]] == [(0, 0), (0, 0)]


def test_another_key_is_heard_as_noise_and_not_relayed() -> None:
    m = RadioModel(sim_topology.line(3), LONG_FAST, random.Random(1))
    m.set_air(1, Air(keys=(b"other",)), 0.0)
    events = m.submit(0, broadcast(m, 0, 1, b"", hop=2), 0.0) + m.run_until_idle()
    assert [e for e in events if isinstance(e, Delivery)] == []
    assert m.stats()[1].undecodable == 1
    assert m.stats()[1].relays == 0
    assert m.stats()[2].frames_received == 0


@settings(max_examples=40, deadline=None)
@given(
    keys=st.lists(st.sampled_from([b"a", b"b", b"c"]), min_size=2, max_size=6),
    seed=st.integers(0, 99),
)
def test_packets_reach_exactly_the_radios_sharing_the_key(keys: list[bytes], seed: int) -> None:
    m = RadioModel(sim_topology.full(len(keys)), LONG_FAST, random.Random(seed))
    for i, key in enumerate(keys):
        m.set_air(i, Air(keys=(key,)), 0.0)
    events = m.submit(0, broadcast(m, 0, 1, keys[0]), 0.0) + m.run_until_idle()
    got = sorted(e.node for e in events if isinstance(e, Delivery))
    assert got == [i for i in range(1, len(keys)) if keys[i] == keys[0]]


def test_a_secondary_channel_is_delivered_on_the_receivers_own_index() -> None:
    m = RadioModel(sim_topology.full(2), LONG_FAST, random.Random(1))
    m.set_air(1, Air(keys=(b"primary", b"ops")), 0.0)
    events = m.submit(0, broadcast(m, 0, 1, b"ops"), 0.0) + m.run_until_idle()
    assert [(e.node, e.channel) for e in events if isinstance(e, Delivery)] == [(1, 1)]


def test_air_settings_follow_region_preset_channel_name_and_key() -> None:
    a, b = sim_admin.factory_state(1), sim_admin.factory_state(2)
    assert sim_device.air_settings(a, None) == sim_device.air_settings(b, None)
    b.channels[0].settings.name = "ops"  # another name: another frequency slot
    assert sim_device.air_settings(a, None).tuning != sim_device.air_settings(b, None).tuning
    b.config.lora.channel_num = 20  # pinned to the same slot: heard, but another key
    a.config.lora.channel_num = 20
    air_a, air_b = sim_device.air_settings(a, None), sim_device.air_settings(b, None)
    assert air_a.tuning == air_b.tuning
    assert air_a.keys[0] != air_b.keys[0]
    assert air_b.keys[1:] == (b"\xff",) * 7  # disabled slots decrypt nothing


def test_traceroute_collects_relays_and_snr_both_ways() -> None:
    m = RadioModel(
        sim_topology.line(3), LONG_FAST, random.Random(1),
        alter=sim_traceroute.alter, answer=sim_traceroute.answer,
    )  # fmt: skip
    payload = mesh_pb2.RouteDiscovery().SerializeToString()
    request = AirPacket(
        origin=m.node_nums[0], dest=m.node_nums[2], packet_id=5,
        portnum=sim_traceroute.TRACEROUTE_APP, payload=payload, hop_limit=3, hop_start=3,
        size=airtime.frame_size(0, sim_traceroute.TRACEROUTE_APP),
    )  # fmt: skip
    events = m.submit(0, request, 0.0) + m.run_until_idle()
    answers = [e for e in events if isinstance(e, Delivery) and e.node == 0]
    assert len(answers) == 1
    assert answers[0].packet.request_id == 5
    route = mesh_pb2.RouteDiscovery.FromString(answers[0].packet.payload)
    assert list(route.route) == [m.node_nums[1]]
    assert list(route.route_back) == [m.node_nums[1]]
    assert list(route.snr_towards) == [24, 24]  # 6 dB in quarter dB, at the relay and the end
    assert list(route.snr_back) == [24, 24]
