"""A simulated radio's TCP side behaves as a device's network stack does."""

from __future__ import annotations

import asyncio
import socket
import struct

from meshtastic.protobuf import admin_pb2, mesh_pb2

from fieldkit.mesh import sim_device
from fieldkit.mesh.sim_admin import ADMIN_APP
from fieldkit.mesh.simulator import Simulator
from tests.waiting import poll_until


def admin_frame(to: int, message: admin_pb2.AdminMessage) -> bytes:
    packet = mesh_pb2.MeshPacket(to=to, id=7)
    packet.decoded.portnum = ADMIN_APP  # type: ignore[assignment]
    packet.decoded.payload = message.SerializeToString()
    return sim_device.encode_frame(mesh_pb2.ToRadio(packet=packet).SerializeToString())


async def test_what_a_client_wrote_just_before_resetting_the_connection_is_handled() -> None:
    # A one-shot CLI writes its admin message and goes; the reset may come before the radio has
    # read the message. The kernel delivers the bytes first: the radio must still act on them.
    async with Simulator(2, time_scale=50.0) as sim:
        ignore = admin_frame(
            sim.node_num(0), admin_pb2.AdminMessage(set_ignored_node=sim.node_num(1))
        )
        # Many small requests first, each answered: the answers hit the reset connection and
        # fail while the radio still has the admin message to read.
        beats = sim_device.encode_frame(
            mesh_pb2.ToRadio(heartbeat=mesh_pb2.Heartbeat()).SerializeToString()
        )
        for _ in range(5):
            sim.node_db(0).nodes.clear()
            with socket.create_connection(("127.0.0.1", sim.port(0))) as s:
                s.sendall(beats * 2000 + ignore)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            async with asyncio.timeout(10):
                await poll_until(lambda: sim.node_db(0).ignores(sim.node_num(1)))
