"""A simulated radio's node database, learnt from what it hears (pure).

As in the firmware's ``NodeDB``: every packet a radio decodes makes or refreshes the sender's
entry (last heard, SNR, hops away); a ``NODEINFO_APP`` packet also sets its ``User`` (names,
hardware), a ``POSITION_APP`` packet its position. The radio's client gets the entries in the
handshake. A radio starts knowing only itself. Its client may flag nodes (favourite, ignored,
muted) and remove them (:mod:`fieldkit.mesh.sim_admin`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf.message import DecodeError
from meshtastic.protobuf import mesh_pb2, portnums_pb2

NODEINFO_APP = portnums_pb2.PortNum.Value("NODEINFO_APP")
POSITION_APP = portnums_pb2.PortNum.Value("POSITION_APP")


@dataclass
class NodeDB:
    """The other nodes one radio knows, by node num."""

    nodes: dict[int, mesh_pb2.NodeInfo] = field(default_factory=dict)

    def heard(
        self, origin: int, portnum: int, payload: bytes, *, now: int, snr: float, hops_away: int
    ) -> mesh_pb2.NodeInfo:
        """Learn from one decoded packet of ``origin``."""
        info = self.nodes.setdefault(origin, mesh_pb2.NodeInfo(num=origin))
        info.last_heard = now
        info.snr = snr
        info.hops_away = max(0, hops_away)
        try:
            if portnum == NODEINFO_APP:
                user = mesh_pb2.User.FromString(payload)
                if user.id == f"!{origin:08x}":  # a NodeInfo speaks for its sender only
                    info.user.CopyFrom(user)
            elif portnum == POSITION_APP:
                info.position.CopyFrom(mesh_pb2.Position.FromString(payload))
        except DecodeError:
            pass  # a garbled payload teaches nothing but that the node is there
        return info

    def flag(self, node_num: int, flag: str, value: bool) -> None:
        """Set ``is_favorite``, ``is_ignored`` or ``is_muted`` of a node (known or not yet)."""
        info = self.nodes.setdefault(node_num, mesh_pb2.NodeInfo(num=node_num))
        setattr(info, flag, value)

    def ignores(self, node_num: int) -> bool:
        """An ignored node's packets are dropped, as the firmware drops them."""
        info = self.nodes.get(node_num)
        return info is not None and info.is_ignored

    def forget(self, node_num: int) -> None:
        self.nodes.pop(node_num, None)

    def clear(self) -> None:
        self.nodes.clear()

    def entries(self) -> list[mesh_pb2.NodeInfo]:
        return [self.nodes[n] for n in sorted(self.nodes)]
