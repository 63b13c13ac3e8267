"""A hub: its identity, clock and store, and the operations people perform on records.

Dependencies are passed in (store, wall clock, randomness), so two complete hubs run side by
side in one test process.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fieldkit.app.timefix import TimeFix
from fieldkit.core.clock import ClockSkew, HybridClock
from fieldkit.core.fold import Record, RecordState, causal_after
from fieldkit.core.ops import (
    Body,
    Confirm,
    Create,
    FieldValue,
    Link,
    Match,
    Merge,
    NewRecord,
    Op,
    RecordId,
    Redact,
    SetStatus,
    Update,
    check_fields,
    draft_fields,
    hub_name,
)
from fieldkit.core.records import Draft, Kind, QuantityUnit, Status
from fieldkit.core.refcode import BITS, format_code
from fieldkit.errors import N_, FieldkitError, NotFound, StoreError
from fieldkit.store.group_commit import GroupCommit, ItemFailed
from fieldkit.store.port import StorePort, TxPort

HUB_ID_KEY = "hub_id"
#: Revoked hubs (``fieldkit network revoke``): hub id (hex) -> the last seq of its kept (JSON).
REVOKED_KEY = "revoked_hubs"


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


async def create_identity(
    store: StorePort, random_bits: Callable[[int], int] = secrets.randbits
) -> int:
    """Give a new store its hub id (once; an existing id is kept and returned)."""
    existing = await store.meta(HUB_ID_KEY)
    if existing is not None:
        return int(existing, 16)
    hub_id = 0
    while hub_id == 0:
        hub_id = random_bits(32)
    await store.set_meta(HUB_ID_KEY, f"{hub_id:08x}")
    return hub_id


@dataclass(frozen=True)
class Submitted:
    record: Record
    new: bool


class Hub:
    """Records as people change them: each change is one op, appended and folded atomically."""

    def __init__(
        self,
        store: StorePort,
        hub_id: int,
        clock: HybridClock,
        wall: Callable[[], int] = wall_ms,
        random_bits: Callable[[int], int] = secrets.randbits,
    ) -> None:
        self.store = store
        self.id = hub_id
        self.clock = clock
        self.wall = wall
        self.random_bits = random_bits
        #: How far our clock is from our neighbours' (corrects our stamps, never the system's).
        self.skew = ClockSkew()
        #: A clock we trust more than ours, when we have one: the radio's GPS time.
        self.time_fix = TimeFix()
        #: Called after every committed change (local or received): gossip listens here.
        self.on_change: list[Callable[[], None]] = []
        #: Residents' submissions, group-committed: concurrent ones share a transaction.
        self.intake: GroupCommit[NewRecord, Submitted] = GroupCommit(self._commit_intake)
        #: Revoked origins: their ops beyond this seq are refused from any carrier, and counted.
        self.revoked: dict[int, int] = {}
        self.refused_revoked = 0
        #: The network key's state for the status page (set by :mod:`fieldkit.app.keyring`).
        self.key_status: Callable[[], dict[str, Any]] | None = None

    def _changed(self) -> None:
        for listener in self.on_change:
            listener()

    async def notice_other_writers(self) -> bool:
        """Tell the listeners if another process (a ``fieldkit`` command beside ``fieldkit
        run``) has written to this hub's database since last asked; True if it had."""
        if not await self.store.changed_elsewhere():
            return False
        self._changed()
        return True

    @classmethod
    async def open(
        cls,
        store: StorePort,
        wall: Callable[[], int] = wall_ms,
        random_bits: Callable[[int], int] = secrets.randbits,
    ) -> Hub:
        hub_hex = await store.meta(HUB_ID_KEY)
        if hub_hex is None:
            raise StoreError(f"{store.location} has no hub identity: run `fieldkit init` first")
        hub_id = int(hub_hex, 16)
        clock = HybridClock(await store.max_hlc(hub_id))
        hub = cls(store, hub_id, clock, wall, random_bits)
        revoked = await store.meta(REVOKED_KEY)
        hub.revoked.update({int(h, 16): int(s) for h, s in json.loads(revoked or "{}").items()})
        return hub

    def now_ms(self) -> int:
        """Our wall clock, corrected by the radio's time or what our neighbours agree on."""
        wall = self.wall()
        return wall + self.offset_ms(wall)

    def offset_ms(self, wall: int) -> int:
        """What our stamps add to the wall clock: a trusted clock's word (the radio's GPS
        time) first, else what our neighbours agree on."""
        trusted = self.time_fix.correction_ms(wall)
        return self.skew.offset_ms(wall) if trusted is None else trusted

    def new_ref(self) -> str:
        return format_code(self.random_bits(BITS))

    async def _stamp(self, tx: TxPort) -> int:
        """A clock stamp for our next op. Like its seq (``tx.next_seq``) it follows what the
        database holds inside the write transaction, never this process's memory alone:
        another process (a CLI command beside ``fieldkit run``) may write as this hub too."""
        self.clock.catch_up(await tx.last_hlc(self.id))
        return self.clock.tick(self.now_ms())

    async def _append(
        self, tx: TxPort, body: Body, states: Sequence[RecordState] = (), actor: str = ""
    ) -> Op:
        """Append our next op, ordered after every op held for its records (``states``);
        ``actor``, a coordinator's name, travels with it."""
        seq, hlc = await tx.next_seq(self.id), await self._stamp(tx)
        op = Op(self.id, seq, hlc, body, causal_after((s.top for s in states), hlc), actor)
        await tx.add(op)
        return op

    async def submit(self, draft: Draft, idempotency_key: str | None = None) -> Submitted:
        """Create a record; the same ``idempotency_key`` (a form token) never creates two.

        Returns once the record is committed to disk. Concurrent calls are committed
        together, in one transaction (see :mod:`fieldkit.store.group_commit`); an error in
        one of them is raised to its caller only.
        """
        return await self.intake.submit(NewRecord(draft, idempotency_key))

    async def _commit_intake(self, batch: Sequence[NewRecord]) -> list[Submitted]:
        """Create the batch in one transaction; :class:`ItemFailed` names the item that failed."""
        done = []
        async with self.store.transaction() as tx:
            for index, new in enumerate(batch):
                try:
                    done.append(await self._submit(tx, new))
                except Exception as exc:
                    raise ItemFailed(index, exc) from exc
        if any(d.new for d in done):
            self._changed()
        return done

    async def submit_batch(self, batch: Sequence[NewRecord]) -> list[Submitted]:
        """Create several records in one transaction: all of them are stored, or none.

        A record whose idempotency key was seen before, or whose own id (an imported
        record's) is already here, is not created again. The failing item's own error is raised.
        """
        try:
            return await self._commit_intake(batch)
        except ItemFailed as failed:
            raise failed.error from None

    async def _submit(self, tx: TxPort, new: NewRecord) -> Submitted:
        key = new.idempotency_key
        seq = await tx.next_seq(self.id)
        held: list[RecordState] = []  # what is already here of an imported record
        if new.record_id is None:
            # claim the key for the record it is about to create: one statement, not two
            record = RecordId(self.id, seq)
            known = await tx.claim(key, record) if key else None
        else:
            record = new.record_id
            known = await tx.recall(key) if key else None
            if known is None:
                state = await tx.state(record)
                known = record if state is not None and state.complete else None
                held = [state] if state is not None else []
        if known is not None:
            state = await tx.state(known)
            assert state is not None
            return Submitted(state.view(), False)
        body = Create(
            record=record,
            kind=new.draft.kind,
            created_at=self.now_ms() if new.created_at is None else new.created_at,
            fields=draft_fields(new.draft),
            ref=self.new_ref() if new.ref is None else new.ref,
            status=new.status,
            status_message=new.status_message,
        )
        hlc = await self._stamp(tx)
        causal = causal_after((s.top for s in held), hlc)
        folded = await tx.append(Op(self.id, seq, hlc, body, causal))
        if key and new.record_id is not None:
            await tx.remember(key, record)
        state = folded[0] if folded else await tx.state(record)
        assert state is not None
        return Submitted(state.view(), True)

    async def _change(
        self, records: Iterable[RecordId], make: Callable[[list[Record]], Body], by: str = ""
    ) -> Op:
        async with self.store.transaction() as tx:
            states = []
            for rid in records:
                state = await tx.state(rid)
                if state is None or not state.complete:
                    raise NotFound.said(N_("no record %(record)s on this hub"), record=str(rid))
                states.append(state)
            body = make([s.view() for s in states])
            op = await self._append(tx, body, states, "" if isinstance(body, Redact) else by)
            if by:
                await tx.record_actor(op, by)
        self._changed()
        return op

    async def update(self, record: RecordId, fields: Mapping[str, FieldValue], by: str = "") -> Op:
        checked = check_fields(fields)
        return await self._change([record], lambda _: Update(record, checked), by)

    async def set_status(
        self, record: RecordId, status: Status, message: str = "", by: str = ""
    ) -> Op:
        """Move a record on; ``open`` on a closed record re-opens it at the next epoch.
        ``by``: the coordinator's name, which travels with the op to every hub's audit trail."""

        def make(current: list[Record]) -> Body:
            (rec,) = current
            reopen = status is Status.OPEN and rec.status is not Status.OPEN
            return SetStatus(record, status, rec.epoch + (1 if reopen else 0), message)

        return await self._change([record], make, by)

    async def match(
        self,
        need: RecordId,
        offer: RecordId,
        message: str = "",
        by: str = "",
        *,
        quantity: int | None = None,
        unit: QuantityUnit | None = None,
    ) -> Op:
        """Match a need with an offer. ``quantity`` (in ``unit``, the offer's by default) is
        how much of the offer it takes; by default as much of the need as the offer has left,
        when both count in one unit, else the whole offer."""

        def make(current: list[Record]) -> Body:
            need_rec, offer_rec = current
            if need_rec.kind is not Kind.NEED or offer_rec.kind is not Kind.OFFER:
                raise FieldkitError.said(N_("a match pairs a need with an offer"))
            taken, taken_unit = quantity, unit or offer_rec.quantity_unit
            if taken is None and need_rec.quantity_unit == offer_rec.quantity_unit:
                left = offer_rec.remaining
                if need_rec.quantity is not None and left:
                    taken = min(need_rec.quantity, left)
            if taken is not None and taken_unit is None:
                raise FieldkitError.said(N_("a match's quantity needs its unit"))
            return Match(
                need, offer, need_rec.epoch, offer_rec.epoch, message,
                taken, taken_unit if taken is not None else None,
            )  # fmt: skip

        return await self._change([need, offer], make, by)

    # --- notices ------------------------------------------------------------------------

    async def post_notice(self, draft: Draft, by: str) -> Record:
        """Post a notice (a distribution point, a shelter, a boil-water order) as ``by``."""
        if draft.kind is not Kind.NOTICE:
            raise FieldkitError.said(N_("a notice is a record of kind notice"))
        async with self.store.transaction() as tx:
            seq = await tx.next_seq(self.id)
            body = Create(RecordId(self.id, seq), Kind.NOTICE, self.now_ms(), draft_fields(draft))
            op = await self._append(tx, body, (), by)
            state = await tx.state(body.record)
            if by:
                await tx.record_actor(op, by)
        self._changed()
        assert state is not None
        return state.view()

    async def edit_notice(self, record: RecordId, fields: Mapping[str, FieldValue], by: str) -> Op:
        return await self.update(record, fields, by)

    async def withdraw_notice(self, record: RecordId, by: str) -> Op:
        """A withdrawn notice is a cancelled one: it leaves every board."""
        return await self.set_status(record, Status.CANCELLED, by=by)

    # --- duplicates, "I'd like this", "still needed" ---------------------------------------

    async def merge(self, record: RecordId, duplicate: RecordId, by: str = "") -> Op:
        """``duplicate`` is the same request as ``record``: both histories stay."""

        def make(current: list[Record]) -> Body:
            keep, dup = current
            if keep.id == dup.id or keep.kind is not dup.kind:
                raise FieldkitError.said(N_("a merge joins two records of one kind"))
            return Merge(record, duplicate, dup.epoch)

        return await self._change([record, duplicate], make, by)

    async def want_offer(
        self, offer: RecordId, draft: Draft, idempotency_key: str | None = None
    ) -> Submitted:
        """A resident's "I'd like this": their need, linked to the offer (no account)."""
        async with self.store.transaction() as tx:
            state = await tx.state(offer)
            if state is None or not state.complete or state.view().kind is not Kind.OFFER:
                raise NotFound.said(N_("no offer %(offer)s on this hub"), offer=str(offer))
        done = await self.submit(draft, idempotency_key)
        if done.new:
            await self._change([done.record.id, offer], lambda _: Link(done.record.id, offer))
        async with self.store.transaction() as tx:
            linked = await tx.state(done.record.id)
        assert linked is not None
        return Submitted(linked.view(), done.new)

    async def confirm(self, record: RecordId, needed: bool) -> Op:
        """A resident's answer, with their code: still needed, or no longer needed."""

        def make(current: list[Record]) -> Body:
            (rec,) = current
            return Confirm(record, needed, rec.epoch)

        return await self._change([record], make)

    async def redact(self, record: RecordId, by: str = "") -> Op:
        """Erase the record's contact and note at every hub. ``by``, the coordinator's name, is
        kept in this hub's audit trail only: a redaction carries no name on the wire."""
        return await self._change([record], lambda _: Redact(record), by)

    async def status(self, name: str) -> dict[str, Any]:
        """What ``fieldkit status`` and the status page show of the hub itself."""
        counts = await self.store.counts()
        vector = await self.store.version_vector()
        return {
            "hub": hub_name(self.id),
            "name": name,
            "records": {f"{k}.{s}": n for (k, s), n in sorted(counts.items())},
            "version_vector": {hub_name(o): s for o, s in sorted(vector.items())},
            "clock": self._clock_view(self.wall()),
            **({"keys": self.key_status()} if self.key_status is not None else {}),
        }

    def _clock_view(self, wall: int) -> dict[str, Any]:
        trusted = self.time_fix.view(wall)
        return self.skew.view(wall) | {
            "offset_ms": self.offset_ms(wall),  # applied to our own stamps
            "trusted_source": trusted["source"],  # "radio", or None: none heard lately
            "trusted_offset_ms": trusted["offset_ms"],
            "disagrees_with_trusted": trusted["disagrees"],
        }

    def _made_after_revocation(self, op: Op) -> bool:
        """True (and counted) for an op its origin made after it was revoked: refused."""
        if op.seq > self.revoked.get(op.origin, op.seq):
            self.refused_revoked += 1
            return True
        return False

    async def receive(self, ops: Iterable[Op]) -> int:
        """Take ops from another hub (radio, runner, bundle, cloud); returns how many were new."""
        kept = []
        for op in ops:
            if self._made_after_revocation(op):
                continue
            self.clock.observe(op.hlc, self.now_ms())
            kept.append(op)
        async with self.store.transaction() as tx:
            new = len(await tx.ingest(kept))
        if new:
            self._changed()
        return new
