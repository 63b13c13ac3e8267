"""Traceroute as the firmware's ``TraceRouteModule`` does it, on the simulator's packets (pure).

A ``TRACEROUTE_APP`` request carries a ``RouteDiscovery``. Each relay appends its node num to
``route`` and the SNR it heard the packet with to ``snr_towards`` (SNR in quarter dB); the
destination appends its SNR and answers with the same ``RouteDiscovery`` (``request_id`` = the
request's id), on which relays append themselves to ``route_back`` / ``snr_back``, and the
origin its SNR to ``snr_back``. The library prints both routes from that answer.
"""

from __future__ import annotations

from dataclasses import replace

from google.protobuf.message import DecodeError
from meshtastic.protobuf import mesh_pb2, portnums_pb2

from fieldkit.mesh import airtime
from fieldkit.mesh.sim_radio import AirPacket

TRACEROUTE_APP = portnums_pb2.PortNum.Value("TRACEROUTE_APP")


def _route(packet: AirPacket) -> mesh_pb2.RouteDiscovery | None:
    try:
        return mesh_pb2.RouteDiscovery.FromString(packet.payload)
    except DecodeError:
        return None


def _with(packet: AirPacket, route: mesh_pb2.RouteDiscovery) -> AirPacket:
    payload = route.SerializeToString()
    size = airtime.frame_size(len(payload), packet.portnum, request_id=bool(packet.request_id))
    return replace(packet, payload=payload, size=size)


def _quarter_db(snr: float) -> int:
    return max(-128, min(127, round(snr * 4)))


def alter(packet: AirPacket, me: int, snr: float) -> AirPacket:
    """``packet`` as radio ``me`` passes it on (a relay) or hands it to its client (the
    destination, or the origin of the request getting the answer): with ``me`` and the SNR."""
    if packet.portnum != TRACEROUTE_APP:
        return packet
    route = _route(packet)
    if route is None:
        return packet
    towards = not packet.request_id
    to_me = packet.dest == me
    if towards:
        route.snr_towards.append(_quarter_db(snr))
        if not to_me:
            route.route.append(me)
    else:
        route.snr_back.append(_quarter_db(snr))
        if not to_me:
            route.route_back.append(me)
    return _with(packet, route)


def answer(request: AirPacket, me: int, packet_id: int, hop_limit: int) -> AirPacket | None:
    """The destination's answer to a traceroute request it received (already :func:`alter`-ed)."""
    if request.portnum != TRACEROUTE_APP or request.request_id or request.dest != me:
        return None
    route = _route(request)
    if route is None:
        return None
    reply = AirPacket(
        origin=me, dest=request.origin, packet_id=packet_id, portnum=TRACEROUTE_APP,
        payload=b"", hop_limit=hop_limit, hop_start=hop_limit, size=0,
        channel=request.channel, request_id=request.packet_id, key=request.key,
    )  # fmt: skip
    return _with(reply, route)
