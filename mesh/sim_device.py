"""The Meshtastic device stream protocol, as the simulator's virtual radios speak it (pure).

Frames are ``0x94 0xC3 len_hi len_lo`` + a protobuf: ``ToRadio`` from the client, ``FromRadio``
from the device. Bytes outside frames (wake bytes, device log text) are skipped, a length above
512 means resync. This module frames and unframes bytes and builds the ``FromRadio`` messages of
the ``want_config_id`` handshake, of received packets / ACKs / NAKs and of the radio's own
answers to its client (admin replies); it does no I/O.
"""

from __future__ import annotations

from meshtastic.protobuf import channel_pb2, config_pb2, mesh_pb2, module_config_pb2

from fieldkit.mesh import airtime, sim_admin
from fieldkit.mesh.sim_admin import RadioState
from fieldkit.mesh.sim_nodedb import NODEINFO_APP
from fieldkit.mesh.sim_radio import Air, AirPacket, Delivery, RoutingReport
from fieldkit.mesh.transport import BROADCAST

START1 = 0x94
START2 = 0xC3
MAX_FRAME = 512
TX_QUEUE_MAX = 16


def encode_frame(message: bytes) -> bytes:
    """One stream frame around a serialized protobuf."""
    if len(message) > MAX_FRAME:
        raise ValueError(f"frame of {len(message)} bytes exceeds {MAX_FRAME}")
    return bytes([START1, START2, len(message) >> 8, len(message) & 0xFF]) + message


def encode(message: mesh_pb2.FromRadio) -> bytes:
    return encode_frame(message.SerializeToString())


class FrameDecoder:
    """Incremental unframer: ``feed`` bytes, get the complete frame payloads."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        frames: list[bytes] = []
        buf = self._buf
        while True:
            start = buf.find(START1)
            if start < 0:
                buf.clear()
                break
            del buf[:start]
            if len(buf) < 2:
                break
            if buf[1] != START2:
                del buf[:1]
                continue
            if len(buf) < 4:
                break
            length = (buf[2] << 8) | buf[3]
            if length > MAX_FRAME:
                del buf[:1]
                continue
            if len(buf) < 4 + length:
                break
            frames.append(bytes(buf[4 : 4 + length]))
            del buf[: 4 + length]
        return frames


def channel_key(settings: channel_pb2.ChannelSettings, preset: str) -> bytes:
    """What two radios must share to read each other's packets on a channel: its name (empty
    means the preset's name, as in the firmware) and its PSK."""
    name = settings.name or preset
    return name.encode() + b"\0" + bytes(settings.psk)


def air_settings(state: RadioState, duty_cycle_budget_s: float | None) -> Air:
    """How radio ``state`` is tuned: who it hears (region, preset, frequency slot) and which
    channel keys it decrypts. The frequency slot is the LoRa ``channel_num``, or (0, the
    default) the firmware's hash of the primary channel's name."""
    lora = state.config.lora
    primary = state.channels[0].settings
    slot = str(lora.channel_num) if lora.channel_num else f"#{primary.name or state.preset}"
    freq = f"{lora.override_frequency:.4f}" if lora.override_frequency else slot
    keys = tuple(
        channel_key(c.settings, state.preset) if c.role != channel_pb2.Channel.Role.DISABLED
        else b"\xff"  # a disabled slot decrypts nothing
        for c in state.channels
    )  # fmt: skip
    return Air(
        tuning=(state.region, state.preset, freq),
        keys=keys,
        modem=airtime.PRESETS.get(state.preset),
        duty_cycle_budget_s=duty_cycle_budget_s,
    )


def handshake(
    config_id: int, state: RadioState, known: list[mesh_pb2.NodeInfo], now: int
) -> list[mesh_pb2.FromRadio]:
    """The answer to ``want_config_id``, in the firmware's order: my_info, own node_info,
    metadata, all 8 channels, every config section, every module config, the other nodes of
    the node database (``known``), config_complete_id."""
    out = [
        mesh_pb2.FromRadio(
            my_info=mesh_pb2.MyNodeInfo(
                my_node_num=state.node_num, min_app_version=30200, nodedb_count=1 + len(known)
            )
        ),
        mesh_pb2.FromRadio(node_info=state.node_info(now)),
        mesh_pb2.FromRadio(metadata=state.metadata()),
    ]
    out += [mesh_pb2.FromRadio(channel=c) for c in state.channels]
    for name in sim_admin.STORED_SECTIONS:
        config = config_pb2.Config()
        getattr(config, name).CopyFrom(getattr(state.config, name))
        out.append(mesh_pb2.FromRadio(config=config))
    for name in sim_admin.MODULE_SECTIONS:
        module = module_config_pb2.ModuleConfig()
        getattr(module, name).CopyFrom(getattr(state.modules, name))
        out.append(mesh_pb2.FromRadio(moduleConfig=module))
    out += [mesh_pb2.FromRadio(node_info=info) for info in known]
    out.append(mesh_pb2.FromRadio(config_complete_id=config_id))
    return out


def air_packet(mp: mesh_pb2.MeshPacket, state: RadioState) -> AirPacket | None:
    """The packet a client handed its radio, as it will go on air (None if not decodable)."""
    if not mp.HasField("decoded"):
        return None
    data = mesh_pb2.Data()
    data.CopyFrom(mp.decoded)
    data.bitfield = data.bitfield  # firmware always sets the bitfield: 2 bytes on air
    key = b""
    if 0 <= mp.channel < len(state.channels):
        channel = state.channels[mp.channel]
        if channel.role != channel_pb2.Channel.Role.DISABLED:
            key = channel_key(channel.settings, state.preset)
    return AirPacket(
        origin=state.node_num,
        dest=mp.to if mp.to else BROADCAST,
        packet_id=mp.id,
        portnum=mp.decoded.portnum,
        payload=bytes(mp.decoded.payload),
        hop_limit=mp.hop_limit,
        hop_start=mp.hop_limit,
        size=airtime.HEADER_BYTES + len(data.SerializeToString()),
        want_ack=mp.want_ack,
        channel=mp.channel,
        request_id=mp.decoded.request_id,
        key=key,
    )


def local_reply(
    me: int, request: mesh_pb2.MeshPacket, packet_id: int, rx_time: int,
    *, portnum: int, payload: bytes,
) -> mesh_pb2.FromRadio:  # fmt: skip
    """The radio's own answer to its client's packet (an admin reply or an ACK/NAK)."""
    mp = mesh_pb2.MeshPacket()
    setattr(mp, "from", me)
    mp.to = me
    mp.id = packet_id
    mp.channel = request.channel
    mp.rx_time = rx_time
    mp.decoded.portnum = portnum
    mp.decoded.payload = payload
    mp.decoded.request_id = request.id
    return mesh_pb2.FromRadio(packet=mp)


def routing_payload(error: str) -> bytes:
    routing = mesh_pb2.Routing(error_reason=mesh_pb2.Routing.Error.Value(error))
    return bytes(routing.SerializeToString())


def node_info_packet(state: RadioState, packet_id: int) -> AirPacket:
    """The NodeInfo broadcast a radio sends at boot and when its owner changes."""
    payload = state.owner.SerializeToString()
    key = channel_key(state.channels[0].settings, state.preset)
    return AirPacket(
        origin=state.node_num, dest=BROADCAST, packet_id=packet_id, portnum=NODEINFO_APP,
        payload=payload, hop_limit=state.hop_limit, hop_start=state.hop_limit,
        size=airtime.frame_size(len(payload), NODEINFO_APP), key=key,
    )  # fmt: skip


def delivery_message(d: Delivery, rx_time: int) -> mesh_pb2.FromRadio:
    """A received packet, as the device streams it to its client."""
    p = d.packet
    mp = mesh_pb2.MeshPacket()
    setattr(mp, "from", p.origin)
    mp.to = p.dest
    mp.id = p.packet_id
    mp.channel = d.channel
    mp.decoded.portnum = p.portnum
    mp.decoded.payload = p.payload
    if p.request_id:
        mp.decoded.request_id = p.request_id
    mp.rx_time = rx_time
    mp.rx_snr = d.snr
    mp.rx_rssi = d.rssi
    mp.hop_limit = p.hop_limit
    mp.hop_start = p.hop_start
    mp.want_ack = p.want_ack
    return mesh_pb2.FromRadio(packet=mp)


def routing_message(r: RoutingReport, me: int, packet_id: int, rx_time: int) -> mesh_pb2.FromRadio:
    """An ACK (error NONE) or NAK for packet ``r.request_id``, as a ROUTING_APP packet."""
    mp = mesh_pb2.MeshPacket()
    setattr(mp, "from", r.sender)
    mp.to = me
    mp.id = packet_id
    mp.rx_time = rx_time
    mp.priority = mesh_pb2.MeshPacket.Priority.Value("ACK")
    mp.decoded.portnum = airtime.ROUTING_APP
    routing = mesh_pb2.Routing(error_reason=mesh_pb2.Routing.Error.Value(r.error))
    mp.decoded.payload = routing.SerializeToString()
    mp.decoded.request_id = r.request_id
    return mesh_pb2.FromRadio(packet=mp)


def queue_status(packet_id: int, queued: int, res: int = 0) -> mesh_pb2.FromRadio:
    """``queueStatus`` after a packet. ``free`` never reaches 0: the library would sleep forever."""
    free = max(1, TX_QUEUE_MAX - queued)
    status = mesh_pb2.QueueStatus(res=res, free=free, maxlen=TX_QUEUE_MAX, mesh_packet_id=packet_id)
    return mesh_pb2.FromRadio(queueStatus=status)
