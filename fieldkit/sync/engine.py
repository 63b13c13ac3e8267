"""The sync protocol, sans-I/O: who lacks what, and what to put on air next.

Each hub broadcasts a :class:`Summary` (its version vector) when its ops change and, rarely,
as a heartbeat. A hub that learns from a neighbour's summary that the neighbour holds ops it
lacks asks that one neighbour for them with a :class:`Want`; only the asked hub answers, most
urgent first, in a short burst; every hub that overhears the answer takes the ops too. A
hub's own new ops are pushed once right away, since every neighbour lacks them. Lost frames
are repaired by asking again: the asker knows what it still lacks.

The engine never touches a clock, radio or store: every call passes ``now`` (milliseconds of
radio time) and the hub's current version vector, and it answers with an :class:`Action`.

Mixed fleets: each neighbour's :attr:`Peer.reads` is the highest wire version it reads, as its
summaries say (1 while they say nothing) and its frames' version byte shows. Frames are written
at :meth:`SyncEngine.write_version`, the lowest version any neighbour heard lately reads
(radio is broadcast), never above ours. An op that needs more is *held back*
(:meth:`SyncEngine.held_back`): not sent, not counted as sent, and offered again once every
neighbour reads its version. A hub says what it reads only once that matters — it held an op
back, or heard a neighbour say it reads more than 1 — so a fleet that needs only version 1
spends not a byte on it.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from fieldkit.wire.frame import FRAME_VERSIONS, SEALED_VERSION
from fieldkit.wire.messages import Summary

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


def to_ranges(ids: Iterable[tuple[int, int]]) -> dict[int, list[tuple[int, int]]]:
    """Op ids as inclusive seq ranges per origin."""
    by_origin: dict[int, list[int]] = {}
    for origin, seq in ids:
        by_origin.setdefault(origin, []).append(seq)
    out: dict[int, list[tuple[int, int]]] = {}
    for origin, seqs in by_origin.items():
        seqs.sort()
        ranges = [(seqs[0], seqs[0])]
        for s in seqs[1:]:
            lo, hi = ranges[-1]
            ranges[-1:] = [(lo, s)] if s <= hi + 1 else [(lo, hi), (s, s)]
        out[origin] = ranges
    return out


def expand(ranges: Mapping[int, Iterable[tuple[int, int]]]) -> set[tuple[int, int]]:
    return {(o, s) for o, rs in ranges.items() for lo, hi in rs for s in range(lo, hi + 1)}


@dataclass(frozen=True)
class SyncSettings:
    """Timings in milliseconds of radio time."""

    debounce: int = 20 * 60_000  # summarise a change this long after it at the latest (pushes
    # move ops; summaries are for repair and for neighbours that were away; ``settle`` and
    # gaps bring repair sooner)
    jitter: int = 4_000  # random spread of every scheduled send: hubs must not fall in step
    forward: int = 30_000  # new ops wait up to this long before we pass them on, so that a
    # neighbour that passes them on first is overheard and we need not
    frame: int = 2_200  # airtime of a full frame (LongFast): how long an answer's frames take
    # (patience, windows); a hub that knows each frame's airtime paces its sends by that
    burst: int = 8  # frames a provider sends per request before the requester asks again
    push_limit: int = 10_000  # ops pushed at once to a neighbour whose summary shows it lacks them
    heartbeat_min: int = 150_000  # first heartbeat after a change; doubles while quiet
    heartbeat_max: int = 20 * 60_000
    heartbeat_alone: int = 2 * 60_000  # while no neighbour is heard (waiting for a runner)
    peer_timeout: int = 60 * 60_000  # forget a neighbour not heard for this long
    summary_origins: int = 24  # a summary lists at most this many origins (a full frame's
    # worth at seqs up to 2^24); a hub holding more lists a share in turn (Summary.partial)
    riding_origins: int = 8  # at most this many when it rides on a frame of ops
    settle: int = 3 * 60_000  # summarise this long after the last change, if none follows it:
    # a busy spell's last losses are repaired minutes after it ends, not at the next debounce
    settle_echoes: int = 2  # no settle summary once this many neighbours said, since our last
    # change, that they hold just what we hold (0: always send it)


#: The timings a hub's config may set (``[sync]``, in seconds: ``debounce_s`` …).
TUNABLE_TIMINGS = (
    "debounce", "jitter", "forward", "heartbeat_min", "heartbeat_max", "heartbeat_alone",
    "peer_timeout", "settle",
)  # fmt: skip

#: Named timings (``sync.profile``). ``fixed``: a hub that stays put among the same
#: neighbours, sparing airtime. ``runner``: a hub carried between neighbourhoods, in range of
#: others for minutes: it announces itself often while alone, summarises soon after a change
#: and forgets neighbours it left within a quarter hour. ``mains``: a hub on mains power where
#: the region sets no duty cycle (e.g. US 915 MHz): repair within minutes, at more airtime.
SYNC_PROFILES: Mapping[str, SyncSettings] = {
    "fixed": SyncSettings(),
    "runner": SyncSettings(
        debounce=60_000, forward=10_000, heartbeat_min=60_000, heartbeat_max=5 * 60_000,
        heartbeat_alone=20_000, peer_timeout=15 * 60_000, settle=30_000,
    ),
    "mains": SyncSettings(
        debounce=2 * 60_000, forward=15_000, heartbeat_min=3 * 60_000,
        heartbeat_max=10 * 60_000, heartbeat_alone=60_000, settle=60_000,
    ),
}  # fmt: skip


@dataclass
class Peer:
    summary: Summary
    last_heard: int
    frames: int = 0
    strikes: int = 0  # requests it left unanswered
    reads: int = 1  # the highest wire version it reads, as far as we know
    table_differs: bool = False  # it cannot read areas coded by our network's area table
    summary_at: int = -1  # when its last summary was heard


@dataclass(frozen=True)
class SendSummary:
    pass


@dataclass(frozen=True)
class SendOps:
    """Send these ops (the caller orders them by urgency and packs what fits)."""

    ids: frozenset[tuple[int, int]]


@dataclass(frozen=True)
class SendWant:
    """Ask ``provider`` for these ops."""

    provider: int
    ranges: Ranges


@dataclass(frozen=True)
class Wait:
    until: int | None  # None: nothing to do until something is heard or changes


Action = SendSummary | SendOps | SendWant | Wait


@dataclass
class Request:
    provider: int
    ids: set[tuple[int, int]]
    deadline: int  # give up waiting for the provider then
    received: int = 0


@dataclass
class SyncEngine:
    """One hub's gossip state. Feed it what happens; ask it what to do next.

    Data moves by *pull*: a hub that learns from a neighbour's summary that the neighbour
    holds ops it lacks asks that one neighbour for them (:class:`SendWant`); only the asked
    hub answers, most urgent first, so two hubs that cannot hear each other do not answer
    at once and collide at the asker. Ops are broadcast, so every hub that lacks them takes
    them. A hub's own new ops are pushed once straight away: every neighbour lacks them.
    """

    hub: int
    settings: SyncSettings = field(default_factory=SyncSettings)
    rng: random.Random = field(default_factory=random.Random)
    peers: dict[int, Peer] = field(default_factory=dict)
    serving: dict[tuple[int, int], int] = field(default_factory=dict)  # op id → requested at
    serve_budget: int = 0  # frames left in the current burst
    request: Request | None = None
    want_at: int | None = None  # ask then (a random wait: others may be asking too)
    #: Per neighbour, until when it is taken to be still sending us ops we lacked unasked
    #: (pushing a backlog): we do not ask it meanwhile, as what we would ask for is coming.
    pushing_until: dict[int, int] = field(default_factory=dict)
    #: Neighbours first heard without their summary, and when ours is due to introduce us;
    #: one that pushes us what we lack needs no introduction (it heard our summary).
    introduce: dict[int, int] = field(default_factory=dict)
    pushed: set[tuple[int, int]] = field(default_factory=set)  # own ops already pushed
    forwarding: dict[tuple[int, int], int] = field(default_factory=dict)  # op id → not before
    own_floor: int | None = None  # own ops up to here predate this engine: never pushed
    summary_due: int | None = 0  # send one at start-up
    heartbeat: int = 0
    next_heartbeat: int = 0
    not_before: int = 0  # pacing: no send before this time
    reads: int = FRAME_VERSIONS[-1]  # the highest wire version we read (and write)
    announcing: bool = False  # our summaries say what we read (once it matters)
    table_differs: bool = False  # a neighbour's areas came coded by a table we do not hold
    held: dict[tuple[int, int], int] = field(default_factory=dict)  # op id → version too low
    #: Ops heard in a newer vocabulary than ours (left out by the decoder): asking for them
    #: again would only bring them again. They arrive once this hub is upgraded.
    unreadable: set[tuple[int, int]] = field(default_factory=set)
    #: Partial summaries: per origin, the seq our summaries last listed, and where the turn
    #: of origins listed in rotation stands (the next starts after this origin).
    listed: dict[int, int] = field(default_factory=dict)
    rotation: int = 0
    _planned_rotation: int = 0
    gaps_told: dict[tuple[int, int], int] = field(default_factory=dict)  # lost op → told at
    settle_at: int | None = None  # summarise then, if nothing changes before
    gap_at: int | None = None  # summarise then, if we still hold ops past a gap
    gap_since: int | None = None  # when the gap ``gap_at`` is for first showed
    noise_at: int | None = None  # summarise then: we heard frames we could not read
    changed_at: int = 0  # our ops last changed then

    def __post_init__(self) -> None:
        if self.summary_due == 0:  # announce ourselves at start-up, not in step with others
            self.summary_due = self.rng.randrange(self.settings.jitter + 1)
            self.next_heartbeat = self.summary_due + self._spread(self.settings.heartbeat_min)

    # --- what happened ------------------------------------------------------------------

    def heard_summary(
        self, sender: int, summary: Summary, mine: Mapping[int, int], now: int
    ) -> None:
        known = self.peers[sender].summary if sender in self.peers else None
        peer = self._peer(sender, summary, now)
        if summary.partial:  # it says nothing of the origins it leaves out
            peer.summary = _merged(known, summary)
            mine = {origin: top for origin, top in mine.items() if origin in summary.vector}
        else:
            peer.summary = summary
        peer.reads = summary.reads
        peer.table_differs = summary.table_differs
        peer.summary_at = now
        if summary.reads > 1:
            self._announce(now)
        lacks = sorted(expand(missing(mine, summary)))[: self.settings.push_limit]
        # They lack what we hold: pass it on, unless overheard first. Over the whole forward
        # window even with one neighbour known: others we cannot hear may answer the same
        # summary, and we must not all collide at its sender.
        for op_id in lacks:
            if op_id not in self.held:
                later = now + self.rng.randrange(self.settings.forward + 1)
                self.forwarding.setdefault(op_id, later)

    def heard_version(self, sender: int, version: int, now: int) -> None:
        """A frame from ``sender`` in wire ``version``: it reads at least that."""
        peer = self.peers.get(sender)
        if peer is not None:
            peer.reads = max(peer.reads, version)
        if 1 < version < SEALED_VERSION:  # a sealed frame's sender reads ours: nothing to say
            self._announce(now)

    def heard_want(
        self, sender: int, provider: int, ranges: Mapping[int, Sequence[tuple[int, int]]],
        mine: Mapping[int, int], now: int,
    ) -> None:  # fmt: skip
        self._peer(sender, None, now)
        if provider != self.hub:
            return
        have = {(o, s) for o, s in expand(ranges) if s <= mine.get(o, 0)} - self.held.keys()
        for op_id in have:
            self.serving.setdefault(op_id, now)
        self.serve_budget = self.settings.burst
        self.not_before = min(self.not_before, now + self._spread_small())

    def heard_ops(
        self, sender: int, ids: Iterable[tuple[int, int]], now: int,
        new: Iterable[tuple[int, int]] = (),
    ) -> None:  # fmt: skip
        """Ops someone broadcast (``new``: those we did not hold before).

        New ops are passed on after a random wait, if a neighbour other than the sender may
        lack them; ops overheard from anyone need not be passed on by us any more.
        """
        got = set(ids)
        for op_id in got:
            self.forwarding.pop(op_id, None)
        fresh = False
        for op_id in new:
            fresh = True
            if self._someone_lacks(op_id, sender):
                self.forwarding[op_id] = now + self.rng.randrange(self._window() + 1)
        if fresh:
            self.introduce.pop(sender, None)  # it sends what we lack: it knows what we hold
            until = self.pushing_until[sender] = now + self._patience()
            if self.gap_at is not None and self.gap_at < until:
                # ops it pushes come most urgent first, not in seq order: a gap among them is
                # no loss while they keep coming (but told within a debounce all the same)
                first = now if self.gap_since is None else self.gap_since
                self.gap_at = max(self.gap_at, min(until, first + self.settings.debounce))
        self._peer(sender, None, now)
        req = self.request
        if req is not None:
            before = len(req.ids)
            req.ids -= got
            if sender == req.provider or len(req.ids) < before:
                req.received += 1
                req.deadline = now + self._patience()
        for op_id in got:  # someone else answered it: no need to send it again ourselves
            self.serving.pop(op_id, None)

    def _someone_lacks(self, op_id: tuple[int, int], sender: int) -> bool:
        origin, seq = op_id
        return any(
            hub != sender and hub != origin and peer.summary.vector.get(origin, 0) < seq
            for hub, peer in self.peers.items()
        )

    def gaps(self, mine: Mapping[int, int], beyond: Mapping[int, Iterable[int]], now: int) -> None:
        """We hold ops past a gap (``beyond``): a loss, most likely. Summarise within about
        ``settle`` even while changes keep coming (its extras show the gap), unless the gap
        filled meanwhile: a neighbour that holds the lost op passes it on, rather than at the
        next debounce."""
        lost = {
            (origin, seq)
            for origin, seqs in beyond.items()
            for seq in range(mine.get(origin, 0) + 1, max(seqs, default=0))
            if seq not in seqs
        }
        lost -= self.unreadable  # not a loss: a newer hub's vocabulary, left out
        again = now - self.settings.heartbeat_min  # told, yet still lacking: tell again
        if any(self.gaps_told.get(op_id, again) <= again for op_id in lost):
            self.gaps_told = dict.fromkeys(lost, now)
            wait = self._settle_wait()
            self.gap_at = now + wait if self.gap_at is None else min(self.gap_at, now + wait)
            self.gap_since = now if self.gap_since is None else self.gap_since

    def heard_noise(self, now: int) -> None:
        """A frame we could not read (junk, a collision's remains, another network): what we
        sent meanwhile may have been lost too. Summarise a window after the last of them, so
        that a loss during the noise is repaired in a minute or two, not at the debounce."""
        self.noise_at = now + self._window() + self.rng.randrange(self.settings.jitter + 1)

    def changed(self, now: int) -> None:
        """Our ops changed (a submission, or ops received): summarise after the debounce
        (counted from the first change not yet summarised: busy hours still get summaries)."""
        due = now + self.settings.debounce + self.rng.randrange(self.settings.jitter + 1)
        self.summary_due = due if self.summary_due is None else min(self.summary_due, due)
        self.settle_at = now + self._settle_wait()
        self.changed_at = now
        self.heartbeat = self.settings.heartbeat_min
        self.next_heartbeat = due + self._spread(self.heartbeat)

    def summary(
        self, mine: Mapping[int, int], beyond: Mapping[int, Iterable[int]], *, riding: bool = False
    ) -> Summary:
        """Our summary: the whole vector while it fits a frame; else a partial one listing
        the origins that changed since we last listed them (ours first), up to half the room,
        and the rest of the room in rotation, so every origin is listed within a few
        summaries whatever the number of hubs. Tell :meth:`sent_summary` when it went out."""
        limit = self.settings.riding_origins if riding else self.settings.summary_origins
        reads = self.summary_reads()
        if len(mine) <= limit:
            return replace(summary_of(mine, beyond), reads=reads, table_differs=self.table_differs)
        origins = sorted(mine)
        changed = sorted(
            (o for o in origins if self.listed.get(o) != mine[o]),
            key=lambda o: (o != self.hub, -(mine[o] - self.listed.get(o, 0)), o),
        )
        chosen = changed[: max(1, limit // 2)]
        turn = [o for o in origins if o > self.rotation] + [
            o for o in origins if o <= self.rotation
        ]
        self._planned_rotation = self.rotation
        for origin in turn:
            if len(chosen) >= limit:
                break
            if origin not in chosen:
                chosen.append(origin)
                self._planned_rotation = origin
        vector = {o: mine[o] for o in sorted(chosen)}
        held = {o: seqs for o, seqs in beyond.items() if o in vector}
        return replace(
            summary_of(vector, held), reads=reads, partial=True, table_differs=self.table_differs
        )

    def sent_summary(
        self, now: int, summary: Summary | None = None, *, riding: bool = False,
        airtime: int | None = None,
    ) -> None:  # fmt: skip
        if summary is not None:
            self.listed.update(summary.vector)
            if summary.partial:
                self.rotation = self._planned_rotation
        self.summary_due = self.gap_at = self.gap_since = self.noise_at = None
        self.introduce.clear()
        if not (riding and summary is not None and summary.partial):  # (a share of the
            self.settle_at = None  # origins rode on data: the settle summary is still due)
        self.heartbeat = min(max(self.heartbeat * 2, self.settings.heartbeat_min),
                             self.settings.heartbeat_max)  # fmt: skip
        if not self.peers:  # alone: a runner may pass by any minute, so speak up more often
            self.heartbeat = min(self.heartbeat, self.settings.heartbeat_alone)
        self.next_heartbeat = now + self._spread(self.heartbeat)
        self._pace(now, airtime)

    def sent_ops(
        self, ids: Iterable[tuple[int, int]], now: int, airtime: int | None = None
    ) -> None:
        for op_id in ids:
            self.serving.pop(op_id, None)
            self.forwarding.pop(op_id, None)
            if op_id[0] == self.hub:
                self.pushed.add(op_id)
        self.serve_budget = max(0, self.serve_budget - 1)
        if self.serve_budget == 0:
            self.serving.clear()  # the burst is over: the asker will ask again
        self._pace(now, airtime)

    def held_back(self, ids: Iterable[tuple[int, int]], now: int) -> None:
        """These ops need a newer wire version than a neighbour reads: not sent, so not marked
        sent; offered again once :meth:`write_version` rises (the neighbour upgraded or left)."""
        version = self.write_version()
        for op_id in ids:
            self.serving.pop(op_id, None)
            self.forwarding.pop(op_id, None)
            self.held[op_id] = version
        self._announce(now)

    def table_refused(self, now: int) -> None:
        """A neighbour's frame coded areas by an area table other than ours: say so in our
        summaries from now on (soon, this once), and neighbours send areas by name."""
        if not self.table_differs:
            self.table_differs = True
            self._summary_soon(now)

    def codes_areas(self) -> bool:
        """Whether our frames may code areas by the network's area table: no neighbour heard
        lately said it cannot read them."""
        return not any(peer.table_differs for peer in self.peers.values())

    def write_version(self) -> int:
        """The wire version our frames are written in: the lowest any neighbour heard lately
        reads (radio is broadcast), never above ours; ours while no neighbour is known, so a
        hub of this release seals what it sends from the first frame (a neighbour of an earlier
        release is heard soon enough, and its summaries bring the version down)."""
        return min(self.reads, min((p.reads for p in self.peers.values()), default=self.reads))

    def summary_reads(self) -> int:
        """What our summaries say we read: 1 (nothing said) until it matters."""
        return self.reads if self.announcing else 1

    def _announce(self, now: int) -> None:
        if not self.announcing and self.reads > 1:
            self.announcing = True
            self._summary_soon(now)  # neighbours learn it now, not at the next heartbeat

    def _release(self, now: int) -> None:
        """Held-back ops whose version every neighbour now reads: offer them again."""
        version = self.write_version()
        for op_id in [i for i, too_low in self.held.items() if too_low < version]:
            del self.held[op_id]
            self.forwarding.setdefault(op_id, now)

    def _summary_due(self) -> int | None:
        pending = (self.summary_due, self.settle_at, self.gap_at, self.noise_at, self._introduce())
        times = [t for t in pending if t is not None]
        return min(times) if times else None

    def _echoed(self, mine: Mapping[int, int], now: int) -> bool:
        """The summary due now is only the settle summary, and ``settle_echoes`` neighbours
        have said since our last change that they hold just what we hold: everyone who heard
        them knows it; a neighbour that holds something else says so in its own."""
        wanted = self.settings.settle_echoes
        others = (self.summary_due, self.gap_at, self.noise_at, self._introduce())
        if not wanted or self.settle_at is None or self.settle_at > now:
            return False
        if any(t is not None and t <= now for t in others):
            return False
        if len(mine) > self.settings.summary_origins:
            return False  # ours would list a share of the origins in turn: it still must go
        same = sum(
            1 for peer in self.peers.values()
            if peer.summary_at >= self.changed_at and not peer.summary.extra
            and peer.summary.vector == mine
        )  # fmt: skip
        return same >= wanted

    def only_for_a_gap(self, now: int) -> bool:
        """The summary due now is due only to show a gap (which may have filled since)."""
        pending = (self.summary_due, self.settle_at, self.noise_at, self._introduce())
        others = [t for t in pending if t is not None and t <= now]
        return not others and self.gap_at is not None and self.gap_at <= now

    def gap_filled(self) -> None:
        """The gap a summary was due for filled before it went: no summary."""
        self.gap_at = self.gap_since = None

    def summary_may_ride(self, now: int) -> bool:
        """A summary is pending and due within half the debounce: let it ride on data."""
        pending = (self.summary_due, self.gap_at, self._introduce())
        times = [t for t in pending if t is not None]
        return bool(times) and min(times) - now <= self.settings.debounce // 2

    def _introduce(self) -> int | None:
        return min(self.introduce.values()) if self.introduce else None

    def sent_want(
        self, provider: int, ids: set[tuple[int, int]], now: int, airtime: int | None = None
    ) -> None:
        self.request = Request(provider, ids, now + self._patience())
        self._pace(now, airtime)

    def _peer(self, sender: int, summary: Summary | None, now: int) -> Peer:
        peer = self.peers.get(sender)
        if peer is None:
            peer = self.peers[sender] = Peer(summary or Summary({}), now)
            if summary is None and self.pushing_until.get(sender, 0) <= now:
                # someone new in range, who has not said what it holds: tell it what we hold,
                # and it will tell us (after a window: others newly heard, e.g. all at once
                # at start-up, are told in the same summary). One that pushes us what we lack
                # heard our summary already.
                wait = self._window() + self.rng.randrange(self.settings.jitter + 1)
                self.introduce[sender] = now + wait
        peer.last_heard = now
        peer.frames += 1
        return peer

    def _summary_soon(self, now: int) -> None:
        self._summary_at(now + self.rng.randrange(self.settings.jitter + 1))

    def _summary_at(self, when: int) -> None:
        self.summary_due = when if self.summary_due is None else min(self.summary_due, when)

    def _settle_wait(self) -> int:
        """Half to one and a half times ``settle``, at random: hubs that all changed at once
        (the last record reached them all) must not all summarise at once."""
        settle = self.settings.settle
        return settle // 2 + self.rng.randrange(settle + self.settings.jitter + 1)

    def _spread(self, interval: int) -> int:
        """``interval`` plus up to a quarter more, at random: hubs must not fall into step."""
        return interval + self.rng.randrange(interval // 4 + 1)

    def _spread_small(self) -> int:
        return self.rng.randrange(self.settings.frame + 1)

    def _window(self) -> int:
        """How long to hold back so that a neighbour's send can be overheard: only worth it
        with two or more neighbours (with one, e.g. a runner's short contact, go at once)."""
        return self.settings.forward if len(self.peers) > 1 else self.settings.frame

    def _patience(self) -> int:
        """How long to wait for the next frame of an answer before asking again (partly
        random: two askers that cannot hear each other must not ask again in step)."""
        return 3 * self.settings.frame + self.rng.randrange(self.settings.jitter + 1)

    def _pace(self, now: int, airtime: int | None) -> None:
        """No send before the frame just sent is off the air (``airtime`` ms, when the caller
        knows it; else a full frame's), then a random gap when two or more neighbours could
        collide.

        Neighbours that cannot hear each other (hidden terminals) would otherwise keep the
        channel busy at a hub between them; with a single neighbour there is no one to
        collide with, and the gap would only waste a runner's short contact.
        """
        gap = self._spread_small() if len(self.peers) > 1 else 0
        self.not_before = now + (self.settings.frame if airtime is None else airtime) + gap

    # --- what to do next ----------------------------------------------------------------

    def lacking_from(
        self, mine: Mapping[int, int], beyond: Mapping[int, Iterable[int]] | None = None
    ) -> dict[int, set[tuple[int, int]]]:
        """Per neighbour, the ops it holds that we lack (and can read: with ``beyond``, the
        seqs we hold past a gap, an unreadable op's gap is not mistaken for a loss)."""
        out = {}
        skip = self._not_wanted(beyond)
        for hub, peer in self.peers.items():
            ids = expand(missing(peer.summary.vector, Summary(dict(mine)))) - skip
            if ids:
                out[hub] = ids
        return out

    def _not_wanted(self, beyond: Mapping[int, Iterable[int]] | None) -> set[tuple[int, int]]:
        if not self.unreadable:
            return set()
        held = {(origin, seq) for origin, seqs in (beyond or {}).items() for seq in seqs}
        return self.unreadable | held

    def next_action(
        self, mine: Mapping[int, int], now: int, beyond: Mapping[int, Iterable[int]] | None = None
    ) -> Action:
        """What to do now. ``beyond``, the seqs we hold past a gap, is needed only once an op
        was :attr:`unreadable`."""
        self._forget(now)
        if self.own_floor is None:  # the first call: what we hold now is not "new"
            self.own_floor = mine.get(self.hub, 0)
        if now < self.not_before:
            return Wait(self.not_before)
        due_at = self._summary_due()
        if due_at is not None and due_at <= now and self._echoed(mine, now):
            self.settle_at = None  # neighbours said it for us
            due_at = self._summary_due()
        if due_at is not None and due_at <= now:
            return SendSummary()
        if self.held:
            self._release(now)
        for op_id in self._fresh(mine):  # our own new ops: everyone lacks them
            self.forwarding.setdefault(op_id, now)
        due = any(t <= now for t in self.forwarding.values())
        if self.serving or due:  # pending forwards ride along to fill the frame
            return SendOps(frozenset(self.serving) | frozenset(self.forwarding))
        want = self._want(mine, now, beyond)
        if want is not None:
            return want
        if now >= self.next_heartbeat:
            return SendSummary()
        return Wait(self._wake_time(now))

    def _fresh(self, mine: Mapping[int, int]) -> set[tuple[int, int]]:
        """Our own new ops, not yet pushed (only once someone is there to hear them)."""
        top = mine.get(self.hub, 0)
        if self.own_floor is None:
            self.own_floor = top
        if not self.peers:
            self.own_floor = top  # made while nobody was in range: they will ask for them
            return set()
        fresh = {(self.hub, s) for s in range(self.own_floor + 1, top + 1)} - self.pushed
        fresh -= self.held.keys()
        while (self.hub, self.own_floor + 1) in self.pushed:  # keep the pushed set small
            self.own_floor += 1
            self.pushed.discard((self.hub, self.own_floor))
        return fresh

    def _want(
        self, mine: Mapping[int, int], now: int, beyond: Mapping[int, Iterable[int]] | None
    ) -> SendWant | None:
        req = self.request
        if req is not None and req.ids and now < req.deadline:
            return None  # the provider is still answering
        if req is not None and req.received == 0 and req.provider in self.peers:
            self.peers[req.provider].strikes += 1
        self.request = None
        lacking = self.lacking_from(mine, beyond)
        if not lacking:
            self.want_at = None
            return None
        if self.want_at is None:  # first give pushes already on their way time to arrive
            wait = 2 * self._window()  # a push takes up to one window, and its pacing
            self.want_at = now + wait + self.rng.randrange(self.settings.jitter + 1)
        if now < self.want_at:
            return None
        self.want_at = None
        # the neighbour that can give us the most, skipping ones that stopped answering
        provider = max(
            lacking,
            key=lambda h: (-self.peers[h].strikes, len(lacking[h]), self.rng.random()),
        )
        if self.pushing_until.get(provider, 0) > now:  # its frames are still coming: wait
            self.want_at = self.pushing_until[provider]
            return None
        self.pushing_until = {h: t for h, t in self.pushing_until.items() if t > now}
        ranges = missing(self.peers[provider].summary.vector, Summary(dict(mine)))
        if self.unreadable:
            ranges = to_ranges(lacking[provider])
        return SendWant(provider, ranges)

    def _wake_time(self, now: int) -> int | None:
        times = [self.next_heartbeat, self.not_before]
        due_at = self._summary_due()
        if due_at is not None:
            times.append(due_at)
        if self.request is not None:
            times.append(self.request.deadline)
        if self.want_at is not None:
            times.append(self.want_at)
        if self.forwarding:
            times.append(min(self.forwarding.values()))
        future = [t for t in times if t > now]
        return min(future) if future else None

    def _forget(self, now: int) -> None:
        timeout = self.settings.peer_timeout
        self.peers = {h: p for h, p in self.peers.items() if now - p.last_heard < timeout}


def _merged(known: Summary | None, partial: Summary) -> Summary:
    """What we know a neighbour holds, after a partial summary from it."""
    if known is None:
        return replace(partial, partial=False)
    vector = dict(known.vector)
    for origin, top in partial.vector.items():
        vector[origin] = max(vector.get(origin, 0), top)
    extra = {o: s for o, s in known.extra.items() if o not in partial.vector}
    extra.update(partial.extra)
    return Summary(vector, extra, partial.reads)


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
