"""The device stream protocol of the simulated radios (pure parts)."""

from __future__ import annotations

import random

import pytest
from meshtastic.protobuf import channel_pb2, config_pb2, mesh_pb2

from fieldkit.mesh import airtime, sim_admin, sim_device, sim_topology
from fieldkit.mesh.sim_nodedb import NODEINFO_APP, NodeDB
from fieldkit.mesh.transport import BROADCAST, PRIVATE_APP


def frame_of(msg: mesh_pb2.ToRadio) -> bytes:
    return sim_device.encode_frame(msg.SerializeToString())


def test_decoder_skips_wake_bytes_and_log_text_and_reassembles_split_frames() -> None:
    hello = frame_of(mesh_pb2.ToRadio(want_config_id=42))
    beat = frame_of(mesh_pb2.ToRadio(heartbeat=mesh_pb2.Heartbeat()))
    stream = bytes([0xC3] * 32) + b"INFO boot log line\r\n" + hello + beat
    decoder = sim_device.FrameDecoder()
    frames = decoder.feed(stream[:40]) + decoder.feed(stream[40:47]) + decoder.feed(stream[47:])
    assert [mesh_pb2.ToRadio.FromString(f).WhichOneof("payload_variant") for f in frames] == [
        "want_config_id",
        "heartbeat",
    ]


def test_decoder_resyncs_after_an_impossible_length() -> None:
    good = frame_of(mesh_pb2.ToRadio(want_config_id=7))
    decoder = sim_device.FrameDecoder()
    assert decoder.feed(bytes([0x94, 0xC3, 0x7F, 0xFF]) + good) == [good[4:]]


def test_frames_longer_than_512_bytes_cannot_be_encoded() -> None:
    with pytest.raises(ValueError, match="512"):
        sim_device.encode_frame(bytes(513))


def test_handshake_carries_every_setting_and_the_node_database() -> None:
    me = sim_admin.factory_state(0x10000001, region="EU_868", preset="SHORT_FAST", hop_limit=2)
    db = NodeDB()
    peer = sim_admin.default_owner(0x10000002)
    db.heard(0x10000002, NODEINFO_APP, peer.SerializeToString(), now=1, snr=4.5, hops_away=0)
    msgs = sim_device.handshake(99, me, db.entries(), now=1_700_000_000)
    kinds = [m.WhichOneof("payload_variant") for m in msgs]
    assert (kinds[0], kinds[-1]) == ("my_info", "config_complete_id")
    assert msgs[0].my_info.my_node_num == me.node_num
    infos = [m.node_info for m in msgs if m.HasField("node_info")]
    assert [(i.num, i.user.long_name) for i in infos] == [
        (me.node_num, me.owner.long_name),
        (0x10000002, peer.long_name),
    ]
    assert infos[1].snr == 4.5
    lora = next(m.config.lora for m in msgs if m.config.HasField("lora"))
    assert config_pb2.Config.LoRaConfig.RegionCode.Name(lora.region) == "EU_868"
    assert config_pb2.Config.LoRaConfig.ModemPreset.Name(lora.modem_preset) == "SHORT_FAST"
    assert lora.hop_limit == 2
    sections = {m.config.WhichOneof("payload_variant") for m in msgs if m.HasField("config")}
    assert sections == set(sim_admin.STORED_SECTIONS)
    modules = {
        m.moduleConfig.WhichOneof("payload_variant") for m in msgs if m.HasField("moduleConfig")
    }
    assert modules == set(sim_admin.MODULE_SECTIONS)
    channels = [m.channel for m in msgs if m.HasField("channel")]
    assert [c.index for c in channels] == list(range(8))
    assert channels[0].role == channel_pb2.Channel.Role.PRIMARY
    assert {c.role for c in channels[1:]} == {channel_pb2.Channel.Role.DISABLED}
    assert msgs[-1].config_complete_id == 99


def test_client_packet_goes_on_air_with_its_full_frame_size() -> None:
    me = sim_admin.factory_state(0x10000001)
    mp = mesh_pb2.MeshPacket(to=BROADCAST, id=1234, hop_limit=0, want_ack=True)
    mp.decoded.portnum = PRIVATE_APP
    mp.decoded.payload = bytes(200)
    packet = sim_device.air_packet(mp, me)
    assert packet is not None
    assert (packet.origin, packet.dest, packet.packet_id) == (me.node_num, BROADCAST, 1234)
    assert packet.size == airtime.frame_size(200) == 224
    assert packet.key == sim_device.channel_key(me.channels[0].settings, "LONG_FAST")


def test_a_packet_on_a_disabled_channel_has_no_key() -> None:
    me = sim_admin.factory_state(0x10000001)
    mp = mesh_pb2.MeshPacket(to=BROADCAST, id=1, channel=3)
    mp.decoded.portnum = PRIVATE_APP
    packet = sim_device.air_packet(mp, me)
    assert packet is not None
    assert packet.key == b""


def test_queue_status_never_reports_a_full_queue() -> None:
    # The library sleeps forever on free == 0 (DESIGN §4).
    assert sim_device.queue_status(1, queued=100).queueStatus.free == 1


def test_topologies_line_grid_random_and_json() -> None:
    assert sim_topology.line(4).hearers(1) == [0, 2]
    grid = sim_topology.grid(9)
    assert grid.hearers(4) == [1, 3, 5, 7]
    rgg = sim_topology.random_geometric(12, random.Random(5))
    assert rgg.reachable(0) == set(range(1, 12))
    assert rgg.links == sim_topology.random_geometric(12, random.Random(5)).links
    topo = sim_topology.from_json(
        {"nodes": 3, "links": [[0, 1], {"a": 1, "b": 2, "loss": 0.25}], "directed": True}
    )
    assert (topo.hears(1, 0), topo.hears(0, 1)) == (True, False)
    assert topo.link(1, 2).loss == 0.25
    assert topo.reachable(0, max_hops=1) == {1}
    with pytest.raises(ValueError, match="bad topology"):
        sim_topology.from_json({"links": []})
