"""The Meshtastic device stream protocol, as the simulator's virtual radios speak it (pure).

Frames are ``0x94 0xC3 len_hi len_lo`` + a protobuf: ``ToRadio`` from the client, ``FromRadio``
from the device. Bytes outside frames (wake bytes, device log text) are skipped, a length above
512 means resync. This module frames and unframes bytes and builds the ``FromRadio`` messages of
the ``want_config_id`` handshake and of received packets / ACKs / NAKs; it does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshtastic.protobuf import channel_pb2, config_pb2, mesh_pb2

from fieldkit.mesh import airtime
from fieldkit.mesh.sim_radio import AirPacket, Delivery, RoutingReport
from fieldkit.mesh.transport import BROADCAST

START1 = 0x94
START2 = 0xC3
MAX_FRAME = 512
FIRMWARE_VERSION = "2.7.11.fieldkit-sim"
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


@dataclass(frozen=True)
class RadioIdentity:
    """What a virtual radio says about itself during the handshake."""

    node_num: int
    region: str = "US"
    preset: str = "LONG_FAST"
    hop_limit: int = 3

    @property
    def user_id(self) -> str:
        return f"!{self.node_num:08x}"

    @property
    def short_name(self) -> str:
        return self.user_id[-4:]

    @property
    def long_name(self) -> str:
        return f"fieldkit sim {self.user_id[-4:]}"


def _node_info(ident: RadioIdentity, now: int, snr: float | None = None) -> mesh_pb2.FromRadio:
    info = mesh_pb2.NodeInfo(num=ident.node_num, last_heard=now)
    info.user.id = ident.user_id
    info.user.long_name = ident.long_name
    info.user.short_name = ident.short_name
    info.user.hw_model = mesh_pb2.HardwareModel.Value("PORTDUINO")
    if snr is not None:
        info.snr = snr
    return mesh_pb2.FromRadio(node_info=info)


def handshake(
    config_id: int, me: RadioIdentity, heard: list[tuple[RadioIdentity, float]], now: int
) -> list[mesh_pb2.FromRadio]:
    """The answer to ``want_config_id``: my_info, metadata, node DB, LoRa config, channel 0,
    config_complete_id. ``heard`` lists the nodes this radio hears, with their SNR."""
    out = [
        mesh_pb2.FromRadio(
            my_info=mesh_pb2.MyNodeInfo(
                my_node_num=me.node_num, min_app_version=30200, nodedb_count=1 + len(heard)
            )
        ),
        mesh_pb2.FromRadio(
            metadata=mesh_pb2.DeviceMetadata(
                firmware_version=FIRMWARE_VERSION,
                device_state_version=24,
                hw_model=mesh_pb2.HardwareModel.Value("PORTDUINO"),
                hasWifi=False,
                hasBluetooth=False,
            )
        ),
        _node_info(me, now),
    ]
    out += [_node_info(ident, now, snr) for ident, snr in heard]
    lora = config_pb2.Config.LoRaConfig(
        use_preset=True,
        modem_preset=config_pb2.Config.LoRaConfig.ModemPreset.Value(me.preset),
        region=config_pb2.Config.LoRaConfig.RegionCode.Value(me.region),
        hop_limit=me.hop_limit,
        tx_enabled=True,
    )
    out.append(mesh_pb2.FromRadio(config=config_pb2.Config(lora=lora)))
    channel = channel_pb2.Channel(index=0, role=channel_pb2.Channel.Role.PRIMARY)
    channel.settings.psk = b"\x01"
    out.append(mesh_pb2.FromRadio(channel=channel))
    out.append(mesh_pb2.FromRadio(config_complete_id=config_id))
    return out


def air_packet(mp: mesh_pb2.MeshPacket, me: RadioIdentity) -> AirPacket | None:
    """The packet a client handed its radio, as it will go on air (None if not decodable)."""
    if not mp.HasField("decoded"):
        return None
    data = mesh_pb2.Data()
    data.CopyFrom(mp.decoded)
    data.bitfield = data.bitfield  # firmware always sets the bitfield: 2 bytes on air
    return AirPacket(
        origin=me.node_num,
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
    )


def delivery_message(d: Delivery, rx_time: int) -> mesh_pb2.FromRadio:
    """A received packet, as the device streams it to its client."""
    p = d.packet
    mp = mesh_pb2.MeshPacket()
    setattr(mp, "from", p.origin)
    mp.to = p.dest
    mp.id = p.packet_id
    mp.channel = p.channel
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
