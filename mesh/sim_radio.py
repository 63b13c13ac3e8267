"""The LoRa radio model of the simulator (pure: no clock, no sockets, no protobufs).

A discrete-event model driven by the caller's notion of time (seconds, float). The caller hands
in packets with :meth:`RadioModel.submit` and moves time forward with :meth:`RadioModel.advance`;
both return what the radios tell their clients (:class:`Delivery`, :class:`RoutingReport`).
:meth:`RadioModel.next_event_time` says when something will happen next, so a driver can sleep
until then. Given the same seed and the same calls at the same times, the outcome is identical.

Physics and firmware behaviour modelled:

- who hears whom and per-link loss come from a :class:`~fieldkit.mesh.sim_topology.Topology`;
- time on air by the Semtech formula for the modem preset;
- half-duplex: a node hears nothing while it transmits;
- collisions: two transmissions audible at a receiver that overlap in time destroy each other
  there (no capture effect); listen-before-talk defers a start while the channel is busy;
- hop-limited managed flooding: a node that first hears a packet with ``hop_limit > 0`` not
  addressed to it rebroadcasts it with ``hop_limit - 1`` after a random contention delay, unless
  it hears someone else rebroadcast it first (broadcasts); duplicates by ``(origin, id)`` are
  suppressed;
- ``want_ack``: a direct packet is acknowledged over the air by its destination (a ROUTING_APP
  frame, which costs airtime); a broadcast is implicitly acknowledged when the sender overhears a
  rebroadcast, or (hop limit 0, nobody will rebroadcast) once it has been transmitted; after
  ``max_attempts`` transmissions without an ACK the sender's client gets MAX_RETRANSMIT;
- frames above 255 bytes are refused with TOO_LARGE, and a node over its duty-cycle budget
  (rolling window) refuses client packets with DUTY_CYCLE_LIMIT and drops relays;
- each radio's air settings (:class:`Air`, set with :meth:`RadioModel.set_air`): radios tuned
  differently (region, modem preset, frequency slot) do not hear each other at all; a radio
  tuned alike but without the packet's channel key hears the frame (it takes airtime and can
  collide) but cannot decrypt it: it neither delivers nor relays it (``undecodable``);
- hooks for the firmware modules that change packets on their way (traceroute): ``alter`` is
  applied to a packet a radio relays or receives, ``answer`` makes a destination's reply.
"""

from __future__ import annotations

import heapq
import random
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from fieldkit.mesh import airtime
from fieldkit.mesh.sim_topology import Link, Topology
from fieldkit.mesh.transport import BROADCAST

_SEEN_MAX = 4096


@dataclass(frozen=True)
class AirPacket:
    """A Meshtastic packet as the radios see it. ``size`` is the LoRa frame length (PL)."""

    origin: int
    dest: int
    packet_id: int
    portnum: int
    payload: bytes
    hop_limit: int
    hop_start: int
    size: int
    want_ack: bool = False
    channel: int = 0
    request_id: int = 0
    routing_error: str | None = None
    key: bytes = b""  # which channel (name and PSK) it was encrypted with


@dataclass(frozen=True)
class Air:
    """A radio's air settings. ``tuning`` (region, preset, frequency slot) decides who hears
    whom; ``keys`` are the channel keys it decrypts, in its channel order; ``modem`` (None: the
    model's) times its frames; ``duty_cycle_budget_s`` (None: no limit) is its region's."""

    tuning: tuple[str, ...] = ()
    keys: tuple[bytes, ...] = (b"",)
    modem: airtime.ModemPreset | None = None
    duty_cycle_budget_s: float | None = None


@dataclass(frozen=True)
class Delivery:
    """Radio ``node`` received ``packet`` and hands it to its client."""

    node: int
    packet: AirPacket
    time: float
    snr: float
    rssi: int
    channel: int = 0  # the receiver's index of the channel the packet came on


@dataclass(frozen=True)
class RoutingReport:
    """Radio ``node`` tells its client the fate of its packet ``request_id``: an ACK (``NONE``)
    or a NAK reason; ``sender`` is the node num the ACK/NAK comes from."""

    node: int
    request_id: int
    error: str
    sender: int


Event = Delivery | RoutingReport


@dataclass
class NodeStats:
    """Counters of one simulated radio. ``airtime_ms`` is all of its transmissions."""

    node: int
    node_num: int
    airtime_ms: float = 0.0
    frames_sent: int = 0
    relays: int = 0
    acks_sent: int = 0
    frames_received: int = 0
    frames_delivered: int = 0
    duplicates: int = 0
    collisions: int = 0
    drops: int = 0
    half_duplex_misses: int = 0
    duty_cycle_naks: int = 0
    duty_cycle_drops: int = 0
    too_large_naks: int = 0
    retransmissions: int = 0
    max_retransmit_naks: int = 0
    undecodable: int = 0
    admin_unimplemented: int = 0  # admin messages the simulator answered NO_RESPONSE
    duty_cycle_used_ms: float = 0.0
    tx_queue: int = 0
    online: bool = True


@dataclass
class _Tx:
    sender: int
    packet: AirPacket
    start: float
    end: float


@dataclass
class _AckWait:
    packet: AirPacket
    attempt: int = 1


@dataclass
class _Node:
    num: int
    stats: NodeStats
    air: Air
    online: bool = True
    queue: deque[AirPacket] = field(default_factory=deque)
    start_scheduled: bool = False
    transmitting: _Tx | None = None
    tx_log: deque[tuple[float, float]] = field(default_factory=deque)
    seen: OrderedDict[tuple[int, int], float] = field(default_factory=OrderedDict)
    pending_relay: dict[tuple[int, int], AirPacket] = field(default_factory=dict)
    awaiting_ack: dict[int, _AckWait] = field(default_factory=dict)


def _overlap(a: _Tx, b: _Tx) -> bool:
    return a.start < b.end and b.start < a.end


class RadioModel:
    """N radios sharing one channel. Node indexes are 0..n-1; packets address node nums."""

    def __init__(
        self,
        topology: Topology,
        modem: airtime.ModemPreset,
        rng: random.Random,
        *,
        node_nums: list[int] | None = None,
        duty_cycle_budget_s: float | None = None,
        duty_cycle_window_s: float = airtime.DUTY_CYCLE_WINDOW_S,
        max_attempts: int = 3,
        contention_window_s: float | None = None,
        alter: Callable[[AirPacket, int, float], AirPacket] | None = None,
        answer: Callable[[AirPacket, int, int, int], AirPacket | None] | None = None,
    ) -> None:
        n = topology.n
        nums = node_nums if node_nums is not None else [0x10000001 + i for i in range(n)]
        if len(nums) != n or len(set(nums)) != n:
            raise ValueError("need one distinct node num per node")
        self.topology = topology
        self.modem = modem
        self.rng = rng
        self.duty_cycle_budget_s = duty_cycle_budget_s
        self.duty_cycle_window_s = duty_cycle_window_s
        self.max_attempts = max_attempts
        # Firmware waits a random number of slots; a slot is a few symbols.
        self.contention_window_s = (
            contention_window_s if contention_window_s is not None else 32 * modem.symbol_s
        )
        # Channel activity detection needs a few symbols of preamble: two radios that start
        # within this time of each other do not notice each other and collide.
        self.cad_s = 4 * modem.symbol_s
        self.now = 0.0
        air = Air(duty_cycle_budget_s=duty_cycle_budget_s)
        self._nodes = [_Node(num, NodeStats(i, num), air) for i, num in enumerate(nums)]
        self._alter = alter or (lambda packet, _me, _snr: packet)
        self._answer = answer  # None: no module answers (and no random id is drawn)
        self._heap: list[tuple[float, int, str, tuple[Any, ...]]] = []
        self._seq = 0
        self._recent: list[_Tx] = []

    # -- queries ------------------------------------------------------------------------------

    @property
    def node_nums(self) -> list[int]:
        return [n.num for n in self._nodes]

    def next_event_time(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def queue_length(self, node: int) -> int:
        return len(self._nodes[node].queue)

    def airtime_s(self, packet: AirPacket, node: int | None = None) -> float:
        """Time on air of ``packet`` sent by ``node`` (with its modem preset)."""
        modem = self._nodes[node].air.modem if node is not None else None
        return airtime.time_on_air_s(packet.size, modem or self.modem)

    def air(self, node: int) -> Air:
        return self._nodes[node].air

    def hears(self, receiver: int, sender: int) -> bool:
        """``receiver`` picks up ``sender``'s frames: in range and tuned alike."""
        return (
            self.topology.hears(receiver, sender)
            and self._nodes[receiver].air.tuning == self._nodes[sender].air.tuning
        )

    def duty_cycle_used_s(self, node: int, now: float | None = None) -> float:
        now = self.now if now is None else now
        lo = now - self.duty_cycle_window_s
        log = self._nodes[node].tx_log
        while log and log[0][1] <= lo:
            log.popleft()
        return sum(max(0.0, min(end, now) - max(start, lo)) for start, end in log)

    def _duty_allows(self, node: int, duration: float, now: float) -> bool:
        budget = self._nodes[node].air.duty_cycle_budget_s
        return budget is None or self.duty_cycle_used_s(node, now) + duration <= budget

    def stats(self) -> list[NodeStats]:
        """A snapshot of every node's counters."""
        out = []
        for i, node in enumerate(self._nodes):
            used = self.duty_cycle_used_s(i) * 1000.0
            out.append(
                replace(
                    node.stats,
                    duty_cycle_used_ms=used,
                    tx_queue=len(node.queue),
                    online=node.online,
                )
            )
        return out

    # -- inputs -------------------------------------------------------------------------------

    def submit(self, node: int, packet: AirPacket, now: float) -> list[Event]:
        """Radio ``node``'s client hands it ``packet`` at ``now``."""
        events = self.advance(now)
        n = self._nodes[node]
        if not n.online:
            return events
        if packet.size > airtime.MAX_LORA_PAYLOAD:
            n.stats.too_large_naks += 1
            events.append(RoutingReport(node, packet.packet_id, "TOO_LARGE", n.num))
            return events
        if not self._duty_allows(node, self.airtime_s(packet, node), now):
            n.stats.duty_cycle_naks += 1
            events.append(RoutingReport(node, packet.packet_id, "DUTY_CYCLE_LIMIT", n.num))
            return events
        self._remember(n, (packet.origin, packet.packet_id), now)
        if packet.want_ack:
            n.awaiting_ack[packet.packet_id] = _AckWait(packet)
        self._enqueue(node, packet, now)
        return events

    def set_air(self, node: int, air: Air, now: float) -> list[Event]:
        """Re-tune radio ``node`` (its client changed region, preset or channels)."""
        events = self.advance(now)
        self._nodes[node].air = air
        return events

    def set_online(self, node: int, online: bool, now: float) -> list[Event]:
        """Power a radio off (it forgets its queue and state) or on."""
        events = self.advance(now)
        n = self._nodes[node]
        n.online = online
        if not online:
            n.queue.clear()
            n.pending_relay.clear()
            n.awaiting_ack.clear()
            n.seen.clear()
        return events

    def advance(self, now: float) -> list[Event]:
        """Process everything due up to ``now``; return what radios tell their clients."""
        events: list[Event] = []
        while self._heap and self._heap[0][0] <= now:
            t, _, kind, args = heapq.heappop(self._heap)
            self.now = max(self.now, t)
            if kind == "start":
                events.extend(self._tx_start(args[0], t))
            elif kind == "end":
                events.extend(self._tx_end(args[0], t))
            elif kind == "relay":
                self._relay(args[0], args[1], t)
            elif kind == "ack_timeout":
                events.extend(self._ack_timeout(args[0], args[1], args[2], t))
        self.now = max(self.now, now)
        return events

    def run_until_idle(self, limit: float = 1e9) -> list[Event]:
        """Advance until nothing is scheduled (or ``limit``); for pure tests."""
        events: list[Event] = []
        while self._heap and self._heap[0][0] <= limit:
            events.extend(self.advance(self._heap[0][0]))
        return events

    # -- internals ----------------------------------------------------------------------------

    def _schedule(self, t: float, kind: str, *args: Any) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, kind, args))

    def _remember(self, n: _Node, key: tuple[int, int], t: float) -> None:
        n.seen[key] = t
        while len(n.seen) > _SEEN_MAX:
            n.seen.popitem(last=False)

    def _enqueue(self, node: int, packet: AirPacket, t: float) -> None:
        n = self._nodes[node]
        n.queue.append(packet)
        if n.transmitting is None and not n.start_scheduled:
            n.start_scheduled = True
            self._schedule(t, "start", node)

    def _channel_busy_until(self, node: int, t: float) -> float | None:
        ends = [
            tx.end
            for tx in self._recent
            if tx.start + self.cad_s <= t < tx.end and self.hears(node, tx.sender)
        ]
        return max(ends) if ends else None

    def _tx_start(self, node: int, t: float) -> list[Event]:
        n = self._nodes[node]
        n.start_scheduled = False
        if not n.online or not n.queue or n.transmitting is not None:
            return []
        busy = self._channel_busy_until(node, t)
        if busy is not None:  # listen before talk
            n.start_scheduled = True
            self._schedule(busy + self.rng.uniform(0, self.contention_window_s), "start", node)
            return []
        packet = n.queue.popleft()
        duration = self.airtime_s(packet, node)
        if not self._duty_allows(node, duration, t):
            # The budget ran out while the packet waited in the queue: the client's own packets
            # are NAKed (and not retried), relays and ACKs silently dropped.
            if n.queue:
                n.start_scheduled = True
                self._schedule(t, "start", node)
            if packet.origin == n.num and packet.portnum != airtime.ROUTING_APP:
                n.stats.duty_cycle_naks += 1
                n.awaiting_ack.pop(packet.packet_id, None)
                return [RoutingReport(node, packet.packet_id, "DUTY_CYCLE_LIMIT", n.num)]
            n.stats.duty_cycle_drops += 1
            return []
        tx = _Tx(node, packet, t, t + duration)
        n.transmitting = tx
        n.tx_log.append((t, t + duration))
        while n.tx_log[0][1] <= t - self.duty_cycle_window_s:  # only the window counts (without
            n.tx_log.popleft()  # a duty cycle nothing else prunes it: it grew for ever)
        n.stats.frames_sent += 1
        if packet.origin != n.num:
            n.stats.relays += 1
        n.stats.airtime_ms += duration * 1000.0
        self._recent.append(tx)
        self._schedule(tx.end, "end", tx)
        return []

    def _tx_end(self, tx: _Tx, t: float) -> list[Event]:
        events: list[Event] = []
        n = self._nodes[tx.sender]
        n.transmitting = None
        for r in self.topology.hearers(tx.sender):
            if self.hears(r, tx.sender):
                events.extend(self._reception(r, tx, t))
        packet = tx.packet
        wait = n.awaiting_ack.get(packet.packet_id) if packet.origin == n.num else None
        if wait is not None:
            if packet.dest == BROADCAST and packet.hop_limit == 0:
                del n.awaiting_ack[packet.packet_id]
                events.append(RoutingReport(tx.sender, packet.packet_id, "NONE", n.num))
            else:
                self._schedule(
                    t + self._ack_wait_s(tx.sender, packet),
                    "ack_timeout",
                    tx.sender,
                    packet.packet_id,
                    wait.attempt,
                )
        if n.queue and not n.start_scheduled:
            n.start_scheduled = True
            self._schedule(t, "start", tx.sender)
        self._recent = [r for r in self._recent if r.end > t - 120.0]
        return events

    def _ack_wait_s(self, node: int, packet: AirPacket) -> float:
        modem = self._nodes[node].air.modem or self.modem
        ack = airtime.time_on_air_s(
            airtime.frame_size(2, airtime.ROUTING_APP, request_id=True), modem
        )
        hops = max(packet.hop_start, 0) + 1
        return 2 * hops * (self.airtime_s(packet, node) + ack + 2 * self.contention_window_s)

    def _reception(self, r: int, tx: _Tx, t: float) -> list[Event]:
        rn = self._nodes[r]
        if not rn.online:
            return []
        if any(o.sender == r and _overlap(o, tx) for o in self._recent):
            rn.stats.half_duplex_misses += 1
            return []
        if any(
            o is not tx and o.sender != r and _overlap(o, tx) and self.hears(r, o.sender)
            for o in self._recent
        ):
            rn.stats.collisions += 1
            return []
        link = self.topology.link(tx.sender, r)
        if link.loss > 0 and self.rng.random() < link.loss:
            rn.stats.drops += 1
            return []
        if tx.packet.key not in rn.air.keys:
            rn.stats.undecodable += 1  # another network's key: noise to this radio
            return []
        rn.stats.frames_received += 1
        return self._receive(r, tx.packet, t, link, self._nodes[tx.sender].num)

    def _receive(self, r: int, p: AirPacket, t: float, link: Link, via: int) -> list[Event]:
        rn = self._nodes[r]
        me = rn.num
        key = (p.origin, p.packet_id)
        if p.origin == me:  # our own packet, rebroadcast by a neighbour
            rn.stats.duplicates += 1
            if p.dest == BROADCAST and rn.awaiting_ack.pop(p.packet_id, None) is not None:
                return [RoutingReport(r, p.packet_id, "NONE", via)]
            return []
        if key in rn.seen:
            rn.stats.duplicates += 1
            if p.dest == BROADCAST:  # someone else relayed it: managed flooding cancels ours
                rn.pending_relay.pop(key, None)
                for queued in [q for q in rn.queue if (q.origin, q.packet_id) == key]:
                    rn.queue.remove(queued)
            if p.dest == me and p.want_ack:
                self._send_ack(r, p, t)  # our ACK was lost; the sender retransmitted
            return []
        self._remember(rn, key, t)
        if p.portnum == airtime.ROUTING_APP and p.dest == me and p.request_id:
            if rn.awaiting_ack.pop(p.request_id, None) is not None:
                return [RoutingReport(r, p.request_id, p.routing_error or "NONE", p.origin)]
            return []
        events: list[Event] = []
        if p.dest == me and p.request_id:  # an answer is as good as an ACK
            rn.awaiting_ack.pop(p.request_id, None)
        if p.dest in (BROADCAST, me):
            rn.stats.frames_delivered += 1
            got = self._alter(p, me, link.snr) if p.dest == me else p
            events.append(Delivery(r, got, t, link.snr, link.rssi, rn.air.keys.index(p.key)))
            reply = (
                self._answer(got, me, self.rng.getrandbits(32) | 1, p.hop_start)
                if self._answer is not None
                else None
            )
            if reply is not None:
                self._remember(rn, (reply.origin, reply.packet_id), t)
                self._enqueue(r, reply, t)
            elif p.dest == me and p.want_ack:
                self._send_ack(r, p, t)
        if p.hop_limit > 0 and p.dest != me:
            rn.pending_relay[key] = replace(self._alter(p, me, link.snr), hop_limit=p.hop_limit - 1)
            self._schedule(t + self.rng.uniform(0, self.contention_window_s), "relay", r, key)
        return events

    def _send_ack(self, r: int, p: AirPacket, t: float) -> None:
        rn = self._nodes[r]
        ack = AirPacket(
            origin=rn.num,
            dest=p.origin,
            packet_id=self.rng.getrandbits(32) | 1,
            portnum=airtime.ROUTING_APP,
            payload=b"",
            hop_limit=p.hop_start,
            hop_start=p.hop_start,
            size=airtime.frame_size(2, airtime.ROUTING_APP, request_id=True),
            channel=p.channel,
            request_id=p.packet_id,
            routing_error="NONE",
            key=p.key,
        )
        self._remember(rn, (ack.origin, ack.packet_id), t)
        rn.stats.acks_sent += 1
        self._enqueue(r, ack, t)

    def _relay(self, r: int, key: tuple[int, int], t: float) -> None:
        rn = self._nodes[r]
        packet = rn.pending_relay.pop(key, None)
        if packet is not None and rn.online:
            self._enqueue(r, packet, t)

    def _ack_timeout(self, node: int, packet_id: int, attempt: int, t: float) -> list[Event]:
        n = self._nodes[node]
        wait = n.awaiting_ack.get(packet_id)
        if wait is None or wait.attempt != attempt:
            return []
        if attempt >= self.max_attempts:
            del n.awaiting_ack[packet_id]
            n.stats.max_retransmit_naks += 1
            return [RoutingReport(node, packet_id, "MAX_RETRANSMIT", n.num)]
        wait.attempt += 1
        n.stats.retransmissions += 1
        self._enqueue(node, wait.packet, t)
        return []
