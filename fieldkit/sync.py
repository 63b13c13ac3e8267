"""The sync protocol, sans-I/O: who lacks what, and what to put on air next.

Each hub gossips with the neighbours it hears. It broadcasts a :class:`Summary` (its version
vector) when its ops change and, rarely, as a heartbeat. From every neighbour's latest summary
it works out the ops that neighbour lacks and re-offers only those; one broadcast serves every
neighbour that lacks an op. Ops heard on air — from anyone — are not re-sent for a while
(suppression), and offers wait a random jitter after a summary so that the hub that speaks
first is overheard by the others. Lost frames are repaired by the next summary: an op that a
neighbour still lacks once its suppression expires is offered again.

The engine never touches a clock, radio or store: every call passes ``now`` (milliseconds of
radio time) and the hub's current version vector, and it answers with an :class:`Action`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from fieldkit.messages import Summary

Ranges = dict[int, list[tuple[int, int]]]
MAX_EXTRA = 16


def summary_of(vector: Mapping[int, int], held_beyond: Mapping[int, Iterable[int]]) -> Summary:
    """Our summary: the vector, plus a few seqs held past a gap (capped per origin)."""
    extra = {o: sorted(s)[:MAX_EXTRA] for o, s in held_beyond.items() if s}
    return Summary(dict(vector), {o: tuple(s) for o, s in extra.items() if s})


def missing(mine: Mapping[int, int], theirs: Summary) -> Ranges:
    """Inclusive seq ranges we hold (contiguously) that the summary's sender lacks."""
    out: Ranges = {}
    for origin, top in mine.items():
        have = theirs.vector.get(origin, 0)
        if top <= have:
            continue
        skip = sorted(s for s in theirs.extra.get(origin, ()) if have < s <= top)
        ranges, lo = [], have + 1
        for s in skip:
            if s > lo:
                ranges.append((lo, s - 1))
            lo = max(lo, s + 1)
        if lo <= top:
            ranges.append((lo, top))
        if ranges:
            out[origin] = ranges
    return out


def lacking(mine: Mapping[int, int], theirs: Summary) -> bool:
    """True if the summary's sender holds ops we do not."""
    return any(top > mine.get(origin, 0) for origin, top in theirs.vector.items())


def expand(ranges: Ranges) -> set[tuple[int, int]]:
    return {(o, s) for o, rs in ranges.items() for lo, hi in rs for s in range(lo, hi + 1)}


@dataclass(frozen=True)
class SyncSettings:
    """Timings in milliseconds of radio time."""

    debounce: int = 4_000  # wait this long after a change before summarising it
    jitter: int = 3_000  # random wait before answering a summary: let others be overheard
    suppress: int = 45_000  # an op heard on air is not re-offered for this long
    heartbeat_min: int = 30_000  # first heartbeat after a change; doubles while quiet
    heartbeat_max: int = 15 * 60_000
    peer_timeout: int = 60 * 60_000  # forget a neighbour not heard for this long


@dataclass
class Peer:
    summary: Summary
    last_heard: int
    frames: int = 0
    offer_at: int = 0  # answer its summary from then on (after a random jitter)


@dataclass(frozen=True)
class SendSummary:
    pass


@dataclass(frozen=True)
class SendOps:
    """Offer these ops (the caller orders them by urgency and packs what fits)."""

    ids: frozenset[tuple[int, int]]


@dataclass(frozen=True)
class Wait:
    until: int | None  # None: nothing to do until something is heard or changes


Action = SendSummary | SendOps | Wait


@dataclass
class SyncEngine:
    """One hub's gossip state. Feed it what happens; ask it what to do next."""

    hub: int
    settings: SyncSettings = field(default_factory=SyncSettings)
    rng: random.Random = field(default_factory=random.Random)
    peers: dict[int, Peer] = field(default_factory=dict)
    recent: dict[tuple[int, int], int] = field(default_factory=dict)  # op id → quiet until
    summary_due: int | None = 0  # send one at start-up
    heartbeat: int = 0
    next_heartbeat: int = 0

    # --- what happened ------------------------------------------------------------------

    def heard_summary(
        self, sender: int, summary: Summary, mine: Mapping[int, int], now: int
    ) -> None:
        peer = self.peers.setdefault(sender, Peer(summary, now))
        peer.summary, peer.last_heard = summary, now
        peer.frames += 1
        if missing(mine, summary):
            peer.offer_at = now + self.rng.randrange(self.settings.jitter + 1)
        if lacking(mine, summary):
            self._summary_soon(now)  # tell them what we lack, so they offer it

    def heard_ops(self, sender: int, ids: Iterable[tuple[int, int]], now: int) -> None:
        """Ops someone broadcast: whoever lacked them probably heard them too.

        The quiet time is partly random: two hubs that cannot hear each other (hidden
        terminals) and collide at a common neighbour must not retry in lockstep.
        """
        quiet = now + self.settings.suppress + self.rng.randrange(self.settings.suppress // 2 + 1)
        for op_id in ids:
            self.recent[op_id] = quiet
        if sender in self.peers:
            self.peers[sender].last_heard = now
            self.peers[sender].frames += 1

    def changed(self, now: int) -> None:
        """Our ops changed (a submission, or ops received): summarise after the debounce."""
        due = now + self.settings.debounce + self.rng.randrange(self.settings.jitter + 1)
        self.summary_due = due if self.summary_due is None else max(self.summary_due, due)
        self.heartbeat = self.settings.heartbeat_min
        self.next_heartbeat = due + self._spread(self.heartbeat)

    def sent_summary(self, now: int) -> None:
        self.summary_due = None
        self.heartbeat = min(max(self.heartbeat * 2, self.settings.heartbeat_min),
                             self.settings.heartbeat_max)  # fmt: skip
        self.next_heartbeat = now + self._spread(self.heartbeat)

    def _spread(self, interval: int) -> int:
        """``interval`` plus up to a quarter more, at random: hubs must not fall into step."""
        return interval + self.rng.randrange(interval // 4 + 1)

    def sent_ops(self, ids: Iterable[tuple[int, int]], now: int) -> None:
        self.heard_ops(self.hub, ids, now)

    def _summary_soon(self, now: int) -> None:
        soon = now + self.rng.randrange(self.settings.jitter + 1)
        self.summary_due = soon if self.summary_due is None else min(self.summary_due, soon)

    # --- what to do next ----------------------------------------------------------------

    def wanted(self, mine: Mapping[int, int], now: int) -> set[tuple[int, int]]:
        """Ops some neighbour lacks that were not on air lately."""
        self._forget(now)
        out: set[tuple[int, int]] = set()
        for peer in self.peers.values():
            if peer.offer_at <= now:
                out |= expand(missing(mine, peer.summary))
        return {op_id for op_id in out if self.recent.get(op_id, 0) <= now}

    def next_action(self, mine: Mapping[int, int], now: int) -> Action:
        if self.summary_due is not None and self.summary_due <= now:
            return SendSummary()
        wanted = self.wanted(mine, now)
        if wanted:
            return SendOps(frozenset(wanted))
        if now >= self.next_heartbeat:
            return SendSummary()
        return Wait(self._wake_time(mine, now))

    def _wake_time(self, mine: Mapping[int, int], now: int) -> int | None:
        times = [self.next_heartbeat]
        if self.summary_due is not None:
            times.append(self.summary_due)
        pending = set()
        for peer in self.peers.values():
            lacks = expand(missing(mine, peer.summary))
            if lacks and peer.offer_at > now:
                times.append(peer.offer_at)
            pending |= lacks
        times.extend(self.recent[i] for i in pending if i in self.recent)
        future = [t for t in times if t > now]
        return min(future) if future else None

    def _forget(self, now: int) -> None:
        self.recent = {i: t for i, t in self.recent.items() if t > now}
        timeout = self.settings.peer_timeout
        self.peers = {h: p for h, p in self.peers.items() if now - p.last_heard < timeout}


def peers_view(
    engine: SyncEngine, mine: Mapping[int, int]
) -> Sequence[tuple[int, int, dict[int, int]]]:
    """For status pages: (peer hub, last heard, per origin ops ahead(+)/behind(-) of us)."""
    rows = []
    for hub, peer in sorted(engine.peers.items()):
        origins = set(mine) | set(peer.summary.vector)
        diff = {o: peer.summary.vector.get(o, 0) - mine.get(o, 0) for o in sorted(origins)}
        rows.append((hub, peer.last_heard, {o: d for o, d in diff.items() if d}))
    return rows
