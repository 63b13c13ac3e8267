"""A hub's gossip over one transport: frames in, frames out, around the sans-I/O engine.

:class:`GossipNode` owns no clock and no socket: the radio runner (or the deterministic
simulator) hands it received payloads and asks it, at a given time, what to send. It checks
every frame's authenticator and counter (forged and replayed frames are counted and dropped),
feeds the :class:`~fieldkit.sync.engine.SyncEngine`, stores new ops through its
:class:`Replica`, and packs the most urgent wanted ops into frames, in the wire version every
neighbour reads (:meth:`~fieldkit.sync.engine.SyncEngine.write_version`): an op that needs a
newer one is held back and counted, never dropped.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from fieldkit.core.fields import FIELDS, FieldSpec
from fieldkit.core.ops import Op
from fieldkit.mesh.transport import MAX_PAYLOAD
from fieldkit.sync.engine import (
    SendOps,
    SendSummary,
    SendWant,
    SyncEngine,
    expand,
    to_ranges,
)
from fieldkit.wire import frame as codec
from fieldkit.wire.key_notice import is_notice
from fieldkit.wire.messages import Envelope, Ops, Summary, Want
from fieldkit.wire.ops_body import op_version

REPLAY_WINDOW = 64


class Replica(Protocol):
    """What gossip needs from a hub's ops (a Store-backed hub, or an in-memory one)."""

    async def version_vector(self) -> dict[int, int]: ...

    async def held_beyond(self) -> dict[int, list[int]]: ...

    async def shareable_ops(self, ids: Iterable[tuple[int, int]]) -> list[Op]:
        """These ops, most urgent record first, private fields stripped without consent."""
        ...

    async def receive(self, ops: Sequence[Op]) -> int: ...


class KeyEvents(Protocol):
    """What gossip tells the hub's keys (:mod:`fieldkit.app.keyring`, through the radio)."""

    async def notice(self, payload: bytes, now: int) -> None:
        """A key notice heard (:mod:`fieldkit.wire.key_notice`)."""
        ...

    async def unreadable(self, payload: bytes) -> None:
        """A frame under no key we hold."""
        ...

    async def heard(self, sender: int, old_key: bool, now: int) -> None:
        """A frame accepted from ``sender``; ``old_key``: under the network's previous key."""
        ...


class ReplayGuard:
    """Per sender, accept each frame counter once, within a window below the highest seen.

    ``restored`` is each sender's highest counter as kept before a restart (:meth:`tops`):
    which counters below it were seen is forgotten, so none of them is accepted again.
    Senders never go back: their counters survive their own restarts (``sync.radio``).
    """

    def __init__(self, restored: Mapping[int, int] | None = None) -> None:
        self._seen: dict[int, tuple[int, set[int]]] = {}
        self._floor: dict[int, int] = dict(restored or {})

    def accept(self, sender: int, counter: int) -> bool:
        top, recent = self._seen.get(sender, (self._floor.get(sender, -1), set()))
        if counter <= self._floor.get(sender, -1):
            return False
        if counter <= top - REPLAY_WINDOW or counter in recent:
            return False
        recent.add(counter)
        top = max(top, counter)
        self._seen[sender] = (top, {c for c in recent if c > top - REPLAY_WINDOW})
        return True

    def tops(self) -> dict[int, int]:
        """Each sender's highest counter accepted: what to keep across a restart."""
        return self._floor | {sender: top for sender, (top, _) in self._seen.items()}


@dataclass
class GossipStats:
    frames_in: int = 0
    frames_out: int = 0
    bytes_in: int = 0
    control_bytes_out: int = 0
    summaries_out: int = 0
    wants_out: int = 0
    data_bytes_out: int = 0
    ops_in_new: int = 0
    ops_in_dup: int = 0
    ops_out: int = 0
    old_key_frames: int = 0  # accepted under the network's previous key (a rotation)
    notices_in: int = 0  # key notices heard (a rotation, a revocation, exchange keys)
    notices_out: int = 0
    ops_held_back: int = 0  # times an op was left out: a neighbour reads an older wire version
    #: Frames refused, by reason; ``newer``: ops (not frames) of a newer vocabulary, left out.
    rejected: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Outgoing:
    payload: bytes
    control_bytes: int  # how much of it is control traffic (a summary or want), not ops

    @property
    def control(self) -> bool:
        return self.control_bytes >= len(self.payload)


class GossipNode:
    def __init__(
        self,
        hub: int,
        replica: Replica,
        key: bytes,
        engine: SyncEngine,
        *,
        budget: int = MAX_PAYLOAD,
        counter: int = 0,
        fields: tuple[FieldSpec, ...] = FIELDS,
        clock_sample: Callable[[int, int], None] | None = None,
        keep_counters: Callable[[dict[int, int]], Awaitable[None]] | None = None,
        reserve_counters: Callable[[int], Awaitable[int]] | None = None,
        counters_until: int | None = None,
        airtime_ms: Callable[[int], int] | None = None,
        areas: Sequence[str] = (),
    ) -> None:
        self.hub = hub
        #: The network's area table (``network.areas`` ids): in compact frames (wire version
        #: 5) those areas go as indices. Every hub of the network holds the same.
        self.areas = tuple(areas)
        #: A payload's time on air in ms (the radio's modem preset), to pace sends by; None:
        #: every frame is paced as a full one (``SyncSettings.frame``).
        self.airtime_ms = airtime_ms
        #: Our frame counters are reserved in blocks that survive a restart (a restarted hub
        #: never sends a counter twice: its neighbours would refuse the frame as a replay):
        #: ``counters_until`` is the end of the block held; before a frame would pass it,
        #: ``reserve_counters(counter)`` is awaited for the next block's end.
        self.reserve_counters = reserve_counters
        self.counters_until = counters_until
        #: Told (sender, ms) when a neighbour sends ops it made itself: its clock read at
        #: least ``ms`` (see :class:`fieldkit.core.clock.ClockSkew`).
        self.clock_sample = clock_sample
        #: Awaited with every sender's highest counter after a frame is accepted and before
        #: it is acted on, to keep the replay window across restarts (see :class:`ReplayGuard`).
        self.keep_counters = keep_counters
        self.fields = fields  # the field table (a newer one in simulations of a newer hub)
        self.replica = replica
        self.key = key
        #: Keys still accepted from neighbours, beside ``key`` (the network's previous key,
        #: while hubs move to a new one: ``fieldkit network rotate-key``); we send under ``key``.
        self.old_keys: tuple[bytes, ...] = ()
        self.engine = engine
        self.budget = budget
        self.counter = counter
        self.guard = ReplayGuard()
        self.stats = GossipStats()
        #: Told of key notices and of frames under keys we hold or not (None: not told).
        self.key_events: KeyEvents | None = None
        #: Key notices to send, first of all (each once).
        self.notices_out: list[bytes] = []
        #: Revoked origins and the last seq kept of each (the hub's): a summary's claim to more
        #: of one is not asked for, as it would be refused (see ``Hub.revoked``).
        self.revoked: Mapping[int, int] = {}

    def _next_counter(self) -> int:
        self.counter += 1
        return self.counter

    async def receive(self, payload: bytes, now: int) -> None:
        """A payload heard on the transport: authenticate, de-duplicate, act on it."""
        self.stats.frames_in += 1
        self.stats.bytes_in += len(payload)
        if is_notice(payload):
            self.stats.notices_in += 1
            if self.key_events is not None:
                await self.key_events.notice(payload, now)
            return
        old_key = False
        try:
            env = codec.decode_envelope(
                self.key, payload, self.engine.reads, self.fields, self.areas
            )
        except codec.DecodeError as exc:
            old = self._decode_under_old_keys(payload) if exc.reason == "auth" else None
            if old is None:
                self.stats.rejected[exc.reason] += 1
                if exc.reason == "areas":  # a neighbour with another area table: it is told
                    self.engine.table_refused(now)
                    return
                self.engine.heard_noise(now)
                if exc.reason == "auth" and self.key_events is not None:
                    await self.key_events.unreadable(payload)
                return
            self.stats.old_key_frames += 1
            env, old_key = old, True
        if env.sender == self.hub:
            self.stats.rejected["own"] += 1
            return
        if not self.guard.accept(env.sender, env.counter):
            self.stats.rejected["replay"] += 1
            return
        if self.keep_counters is not None:
            await self.keep_counters(self.guard.tops())
        if self.key_events is not None:
            await self.key_events.heard(env.sender, old_key, now)
        await self.handle(env, now)
        self.engine.heard_version(env.sender, payload[0], now)

    def _decode_under_old_keys(self, payload: bytes) -> Envelope | None:
        for key in self.old_keys:
            with contextlib.suppress(codec.DecodeError):
                return codec.decode_envelope(
                    key, payload, self.engine.reads, self.fields, self.areas
                )
        return None

    async def handle(self, env: Envelope, now: int) -> None:
        msg = env.message
        if isinstance(msg, Summary) and self.revoked:
            msg = self._without_revoked(msg)
        if isinstance(msg, Summary):
            self.engine.heard_summary(env.sender, msg, await self.replica.version_vector(), now)
        elif isinstance(msg, Ops):
            if msg.skipped:  # a newer hub's vocabulary: they arrive once this hub upgrades
                self.stats.rejected["newer"] += len(msg.skipped)
                self.engine.unreadable.update((origin, seq) for origin, seq, _ in msg.skipped)
            ids = [(op.origin, op.seq) for op in msg.ops]
            vector, beyond = await self.replica.version_vector(), await self.replica.held_beyond()
            fresh = [(o, s) for o, s in ids if s > vector.get(o, 0) and s not in beyond.get(o, ())]
            own = [op.hlc >> 16 for op in msg.ops if op.origin == env.sender]
            if own and self.clock_sample is not None:
                self.clock_sample(env.sender, max(own))
            new = await self.replica.receive(msg.ops)
            self.stats.ops_in_new += new
            self.stats.ops_in_dup += len(msg.ops) - new
            if msg.summary is not None:  # a summary that rode along: as if sent on its own
                # (and first: a neighbour first heard so has told us what it holds)
                vector = await self.replica.version_vector()
                riding = self._without_revoked(msg.summary) if self.revoked else msg.summary
                self.engine.heard_summary(env.sender, riding, vector, now)
            self.engine.heard_ops(env.sender, ids, now, fresh)
            if new:
                self.engine.changed(now)
                beyond = await self.replica.held_beyond()
                if beyond:
                    self.engine.gaps(await self.replica.version_vector(), beyond, now)
        elif isinstance(msg, Want):
            mine = await self.replica.version_vector()
            self.engine.heard_want(env.sender, msg.provider, msg.ranges, mine, now)

    def _without_revoked(self, msg: Summary) -> Summary:
        vector = {o: min(s, self.revoked.get(o, s)) for o, s in msg.vector.items()}
        extra = {o: tuple(x for x in xs if x <= self.revoked.get(o, x))
                 for o, xs in msg.extra.items()}  # fmt: skip
        return replace(msg, vector=vector, extra=extra)

    async def _summary(self, mine: Mapping[int, int], *, riding: bool = False) -> Summary:
        return self.engine.summary(mine, await self.replica.held_beyond(), riding=riding)

    def _airtime(self, payload: bytes) -> int | None:
        return None if self.airtime_ms is None else self.airtime_ms(len(payload))

    async def next_payload(self, now: int) -> Outgoing | int | None:
        """What to send now, or the time to ask again (None: when something happens)."""
        if (
            self.reserve_counters is not None
            and self.counters_until is not None
            and self.counter + 1 >= self.counters_until
        ):  # each call takes at most one counter
            self.counters_until = await self.reserve_counters(self.counter)
        if self.notices_out:
            payload = self.notices_out.pop(0)
            self.stats.notices_out += 1
            self.stats.frames_out += 1
            self.stats.control_bytes_out += len(payload)
            return Outgoing(payload, len(payload))
        mine = await self.replica.version_vector()
        beyond = await self.replica.held_beyond() if self.engine.unreadable else None
        action = self.engine.next_action(mine, now, beyond)
        if isinstance(action, SendSummary):
            summary = await self._summary(mine)
            if not summary.extra and self.engine.only_for_a_gap(now):
                self.engine.gap_filled()
                return await self.next_payload(now)
            payload = codec.encode_envelope(
                self.key,
                Envelope(self.hub, self._next_counter(), summary),
                self.engine.write_version(),
            )
            self.engine.sent_summary(now, summary, airtime=self._airtime(payload))
            self.stats.summaries_out += 1
            self.stats.frames_out += 1
            self.stats.control_bytes_out += len(payload)
            return Outgoing(payload, len(payload))
        if isinstance(action, SendWant):
            held = await self.replica.held_beyond()  # past a gap: don't ask for those again
            ids = {(o, s) for o, s in expand(action.ranges) if s not in held.get(o, ())}
            want = Want(action.provider, to_ranges(ids))
            payload = codec.encode_envelope(
                self.key,
                Envelope(self.hub, self._next_counter(), want),
                self.engine.write_version(),
            )
            self.engine.sent_want(action.provider, ids, now, self._airtime(payload))
            self.stats.wants_out += 1
            self.stats.frames_out += 1
            self.stats.control_bytes_out += len(payload)
            return Outgoing(payload, len(payload))
        if isinstance(action, SendOps):
            version = self.engine.write_version()
            ops: list[Op] = []
            too_new: list[Op] = []
            for op in await self.replica.shareable_ops(action.ids):
                (ops if op_version(op, self.fields) <= version else too_new).append(op)
            if too_new:
                self.engine.held_back(((op.origin, op.seq) for op in too_new), now)
                self.stats.ops_held_back += len(too_new)
                if not ops:  # the engine holds them back now: ask it again
                    return await self.next_payload(now)
            counter = self._next_counter()
            areas = self.areas if self.engine.codes_areas() else ()
            payload, taken = codec.pack_frame(
                self.key, self.hub, counter, ops, self.budget, None, version, self.fields, areas
            )
            riding = 0
            riding_summary = None
            if self.engine.summary_may_ride(now):  # cheaper than a frame of its own
                riding_summary = await self._summary(mine, riding=True)
            if riding_summary is not None:
                with contextlib.suppress(ValueError):  # no room even for one op: not this time
                    both, taken_both = codec.pack_frame(
                        self.key, self.hub, counter, ops, self.budget, riding_summary, version,
                        self.fields, areas,
                    )  # fmt: skip
                    if taken_both == taken:  # only if it displaces no op
                        riding = len(both) - len(payload)
                        payload = both
                        self.engine.sent_summary(now, riding_summary, riding=True)
                        self.stats.summaries_out += 1
            sent = [ops[i] for i in taken]
            self.engine.sent_ops(((op.origin, op.seq) for op in sent), now, self._airtime(payload))
            self.stats.frames_out += 1
            self.stats.ops_out += len(sent)
            self.stats.control_bytes_out += riding
            self.stats.data_bytes_out += len(payload) - riding
            return Outgoing(payload, riding)
        return action.until
