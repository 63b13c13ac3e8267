"""Hubs gossiping over the simulated radio channel, in simulated time (deterministic).

The same :class:`~fieldkit.sync.node.GossipNode` a real hub runs, driven by the pure
:class:`~fieldkit.mesh.sim_radio.RadioModel` instead of sockets and wall clocks: no sleeps,
hours of radio time in seconds, the same outcome for the same seed. The convergence property
tests and the sync benchmarks run on it; the end-to-end tests use the real library instead.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fieldkit.mesh import airtime
from fieldkit.mesh.sim_radio import AirPacket, Delivery, RadioModel
from fieldkit.mesh.sim_topology import Topology
from fieldkit.mesh.transport import BROADCAST, MAX_PAYLOAD, PRIVATE_APP
from fieldkit.sync.engine import SyncEngine, SyncSettings
from fieldkit.sync.node import GossipNode, Outgoing, Replica


@dataclass
class SimHub:
    index: int
    hub_id: int
    replica: Replica
    node: GossipNode
    wake: float | None = 0.0
    busy_until: float = 0.0
    online: bool = True
    airtime_control_ms: float = 0.0
    airtime_data_ms: float = 0.0
    largest_control_bytes: int = 0  # the largest summary or want this hub put on air


@dataclass
class GossipSimulation:
    """N hubs, one per radio of ``topology``; ``replicas[i]`` holds hub i's ops (radios
    past the last replica are no hub: the caller drives them, e.g. to put junk on air)."""

    topology: Topology
    replicas: Sequence[Replica]
    key: bytes
    seed: int = 0
    preset: str = "LONG_FAST"
    region: str = "US"
    hop_limit: int = 0
    settings: SyncSettings = field(default_factory=SyncSettings)
    hub_ids: Sequence[int] | None = None
    budget: int = MAX_PAYLOAD
    areas: Sequence[str] = ()  # the network's area table (every hub holds the same)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        self.rng = rng
        self.modem = airtime.preset(self.preset)
        self.radio = RadioModel(
            self.topology,
            self.modem,
            random.Random(rng.random()),
            duty_cycle_budget_s=airtime.duty_cycle_budget_s(self.region),
        )
        ids = self.hub_ids or [0xA0000000 + i for i in range(self.topology.n)]
        self.hubs = [
            SimHub(i, ids[i], replica, self._node(ids[i], replica))
            for i, replica in enumerate(self.replicas)
        ]
        self.now = 0.0
        self._packet_ids = itertools.count(1)

    def _node(self, hub_id: int, replica: Replica, counter: int = 0) -> GossipNode:
        engine = SyncEngine(hub_id, self.settings, random.Random(self.rng.random()))
        return GossipNode(
            hub_id, replica, self.key, engine, budget=self.budget, counter=counter,
            airtime_ms=airtime.pacer(self.modem), areas=self.areas,
        )  # fmt: skip

    @property
    def now_ms(self) -> int:
        return round(self.now * 1000)

    def changed(self, index: int) -> None:
        """Hub ``index`` got new local ops (a resident submitted)."""
        hub = self.hubs[index]
        hub.node.engine.changed(self.now_ms)
        hub.wake = self.now

    def restart(self, index: int) -> None:
        """Hub ``index`` reboots: its gossip memory is gone, its ops and counter are kept."""
        hub = self.hubs[index]
        hub.node = self._node(hub.hub_id, hub.replica, hub.node.counter + 1000)
        hub.wake = self.now

    def set_online(self, index: int, online: bool) -> None:
        """Power hub ``index`` (and its radio) off or on: a partition, or a runner leaving."""
        hub = self.hubs[index]
        hub.online = online
        self.radio.set_online(index, online, self.now)
        if online:
            self.restart(index)

    async def run(self, until_s: float, done: Callable[[], bool] | None = None) -> float:
        """Advance to ``until_s`` (or until ``done()``); returns the simulated time reached."""
        while self.now < until_s:
            if done is not None and done():
                break
            times = [t for t in (self.radio.next_event_time(),) if t is not None]
            times += [
                max(h.wake, h.busy_until) for h in self.hubs if h.online and h.wake is not None
            ]
            if not times:
                break
            self.now = max(self.now, min(min(times), until_s))
            for event in self.radio.advance(self.now):
                if (
                    isinstance(event, Delivery)
                    and event.node < len(self.hubs)  # radios past the hubs' are no hub (junk)
                    and self.hubs[event.node].online
                ):
                    await self.hubs[event.node].node.receive(event.packet.payload, self.now_ms)
                    self.hubs[event.node].wake = self.now
            for hub in self.hubs:
                if (
                    hub.online
                    and hub.wake is not None
                    and max(hub.wake, hub.busy_until) <= self.now
                ):
                    await self._step(hub)
        return self.now

    async def _step(self, hub: SimHub) -> None:
        if self.radio.queue_length(hub.index):  # the channel was busy: let the radio catch up
            hub.wake = self.now + self.modem.symbol_s * 64
            return
        out = await hub.node.next_payload(self.now_ms)
        if not isinstance(out, Outgoing):
            hub.wake = None if out is None else out / 1000
            return
        size = airtime.frame_size(len(out.payload))
        packet = AirPacket(
            origin=self.radio.node_nums[hub.index], dest=BROADCAST,
            packet_id=next(self._packet_ids), portnum=PRIVATE_APP,
            payload=out.payload, hop_limit=self.hop_limit, hop_start=self.hop_limit, size=size,
        )  # fmt: skip
        self.radio.submit(hub.index, packet, self.now)
        spent = airtime.time_on_air_s(size, self.modem)
        if out.control:
            hub.airtime_control_ms += spent * 1000
            hub.largest_control_bytes = max(hub.largest_control_bytes, len(out.payload))
        else:  # a summary riding on data costs only its bytes
            data_only = airtime.frame_size(len(out.payload) - out.control_bytes)
            data_s = airtime.time_on_air_s(data_only, self.modem)
            hub.airtime_data_ms += data_s * 1000
            hub.airtime_control_ms += (spent - data_s) * 1000
        hub.busy_until = self.now + spent  # one frame at a time through the radio
        hub.wake = hub.busy_until

    async def jam(self, radio: int, seconds: float, rng: random.Random, rate: int = 100) -> int:
        """Radio ``radio`` (one past the hubs') puts random junk frames on air back to back
        for ``seconds``, offered ``rate`` a second (as many as the channel carries go out);
        returns how many it sent. The hubs keep running meanwhile."""
        start, sent = self.now, 0
        while self.now < start + seconds:
            await self.run(self.now + 1 / rate)
            if not self.radio.queue_length(radio):  # the next as soon as one is out
                payload = rng.randbytes(rng.randrange(16, MAX_PAYLOAD))
                sent += 1
                packet = AirPacket(
                    origin=self.radio.node_nums[radio], dest=BROADCAST, packet_id=10**6 + sent,
                    portnum=PRIVATE_APP, payload=payload, hop_limit=0, hop_start=0,
                    size=airtime.frame_size(len(payload)),
                )  # fmt: skip
                self.radio.submit(radio, packet, self.now)
        return sent

    def airtime_ms(self) -> float:
        """All airtime the radios spent (our frames, relays and ACKs)."""
        return sum(s.airtime_ms for s in self.radio.stats())
