"""Folding ops into record state (pure core).

Every merge here is commutative, associative and idempotent, so the state a replica shows
depends only on the *set* of ops it holds: not on their order, nor on duplicates.

- Edits are ordered causally first: by the op's per-record causal counter, then by clock
  stamp, then origin, ``(causal, hlc, origin)``. A hub gives its edit a counter that puts it
  after every op it holds for the record (:func:`causal_after`), so a hub whose clock is a
  year ahead cannot win over an edit made after its own, and a hub 30 days behind still
  orders its edit after what it has seen; the clock decides only between concurrent edits.
- Plain fields are last-writer-wins registers ordered by that key. Each field keeps
  its top :data:`KEEP` writes, so a coordinator can see concurrent values that lost.
- Status is a lattice: the maximum of ``(fulfilled, epoch, rank, causal, hlc, origin)`` with
  ``open < matched < cancelled < fulfilled``. Fulfilled absorbs everything; re-opening is
  ``open`` at a higher epoch.
- Matches are a grow-only set; reference codes are a grow-only set; ``created_at`` is the
  minimum seen; redaction is absorbing: once redacted, personal fields stay blank.
- Claims (one per match op, with its quantity and coordinator) are a grow-only set, never
  truncated: two coordinators on partitioned hubs matching the same offer (or one need to two
  offers) both stay, and when together they take more than there is, the record is flagged
  (:attr:`Record.claim_conflict`) for a person, never one claim silently dropped.
- Merges, links ("I'd like this") are grow-only sets; a merged duplicate is cancelled at its
  epoch; a resident's "still needed" is the maximum time it was said, "no longer needed" a
  cancellation at the epoch it was said.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fieldkit.core.fields import (
    CONSENT_FIELD,
    FIELDS,
    LOCAL_FIELDS,
    Category,
    QuantityUnit,
    Urgency,
    typed_value,
)
from fieldkit.core.ops import (
    PLAIN_FIELDS,
    PRIVATE_FIELDS,
    REDACTED_FIELDS,
    Confirm,
    Create,
    FieldValue,
    Link,
    Match,
    Merge,
    Op,
    RecordId,
    Redact,
    SetStatus,
    Update,
)
from fieldkit.core.records import STATUS_RANK, Contact, Kind, Status

KEEP = 3

#: An op's last-writer-wins key: (causal counter, hybrid clock, origin hub).
Key = tuple[int, int, int]
#: A record's latest (causal counter, hybrid clock) over every op held for it.
Top = tuple[int, int]


def causal_after(tops: Iterable[Top], hlc: int) -> int:
    """The causal counter for a new op stamped ``hlc`` on records whose latest ops are
    ``tops``: the least that orders it after every one of them. 0 while clocks behave (the
    stamp alone is later), one more than a record's counter when the stamp is not."""
    return max((c if hlc > h else c + 1 for c, h in tops), default=0)


def _key_json(key: Key) -> list[int]:
    """A key as stored: ``[hlc, origin]``, with the causal counter appended when it is not 0
    (so the state of a record without one reads and hashes as in earlier releases)."""
    causal, hlc, origin = key
    return [hlc, origin, causal] if causal else [hlc, origin]


def _key_of(data: list[int]) -> Key:
    return (data[2] if len(data) > 2 else 0, data[0], data[1])


@dataclass(frozen=True, order=True)
class Write:
    """One value written to one field, ordered by its last-writer-wins key."""

    key: Key
    value: FieldValue = field(compare=False)


@dataclass(frozen=True, order=True)
class StatusClaim:
    order: tuple[int, int, int, int, int, int]  # fulfilled, epoch, rank, causal, hlc, origin
    status: Status = field(compare=False)
    message: str = field(compare=False, default="")

    @classmethod
    def of(cls, status: Status, epoch: int, key: Key, message: str = "") -> StatusClaim:
        fulfilled = 1 if status is Status.FULFILLED else 0
        return cls((fulfilled, epoch, STATUS_RANK[status], *key), status, message)

    @property
    def epoch(self) -> int:
        return self.order[1]

    @property
    def origin(self) -> int:
        return self.order[5]

    @property
    def hlc(self) -> int:
        return self.order[4]

    def to_json(self) -> list[object]:
        head, key = list(self.order[:3]), (self.order[3], self.order[4], self.order[5])
        return [head + _key_json(key), self.status.value, self.message]

    @classmethod
    def from_json(cls, data: list[Any]) -> StatusClaim:
        order, status, message = data
        causal, hlc, origin = _key_of(order[3:])
        return cls((order[0], order[1], order[2], causal, hlc, origin), Status(status), message)


@dataclass(frozen=True, order=True)
class Claim:
    """One match op, as both of its records keep it: which need took how much of which
    offer, at which epochs, by whom. Identity is the op's (origin, seq)."""

    origin: int
    seq: int
    hlc: int = field(compare=False)
    need: RecordId = field(compare=False)
    offer: RecordId = field(compare=False)
    need_epoch: int = field(compare=False, default=0)
    offer_epoch: int = field(compare=False, default=0)
    quantity: int | None = field(compare=False, default=None)
    unit: QuantityUnit | None = field(compare=False, default=None)
    actor: str = field(compare=False, default="")
    message: str = field(compare=False, default="")

    def __hash__(self) -> int:
        return hash((self.origin, self.seq))

    @classmethod
    def of(cls, op: Op, body: Match) -> Claim:
        return cls(
            op.origin, op.seq, op.hlc, body.need, body.offer, body.need_epoch, body.offer_epoch,
            body.quantity, body.quantity_unit, op.actor, body.message,
        )  # fmt: skip

    def to_json(self) -> list[object]:
        unit = self.unit.value if self.unit else None
        return [
            self.origin, self.seq, self.hlc, str(self.need), str(self.offer), self.need_epoch,
            self.offer_epoch, self.quantity, unit, self.actor, self.message,
        ]  # fmt: skip

    @classmethod
    def from_json(cls, data: list[Any]) -> Claim:
        o, s, h, need, offer, ne, oe, q, unit, actor, message = data
        u = QuantityUnit(unit) if unit else None
        return cls(
            o, s, h, RecordId.parse(need), RecordId.parse(offer), ne, oe, q, u, actor, message
        )


T = TypeVar("T", Write, StatusClaim)


def _keep_top(items: list[T], new: T) -> list[T]:
    """The :data:`KEEP` greatest of ``items`` and ``new`` (equality is by order key only)."""
    if new in items:
        return items
    merged = list(items)
    merged.append(new)
    merged.sort(reverse=True)
    return merged[:KEEP]


def record_fields(value: Callable[[str], FieldValue]) -> dict[str, Any]:
    """Draft/Record keyword arguments from plain field values, walking the field table."""
    out: dict[str, Any] = {}
    contact: dict[str, Any] = {}
    for spec in FIELDS:
        typed = typed_value(spec, value(spec.name))
        head, _, part = spec.attr.partition(".")
        if part:
            contact[part] = typed
        else:
            out[head] = typed
    return out | {"contact": Contact(**contact)}


def _blank(name: str, value: FieldValue) -> FieldValue:
    if name == CONSENT_FIELD:
        return False
    return "" if name in REDACTED_FIELDS else value


@dataclass
class RecordState:
    """Everything the fold knows about one record; JSON-serialisable via :meth:`to_json`."""

    id: RecordId
    kind: Write | None = None
    created_at: int | None = None
    refs: set[str] = field(default_factory=set)
    fields: dict[str, list[Write]] = field(default_factory=dict)
    status: list[StatusClaim] = field(default_factory=list)
    matches: set[RecordId] = field(default_factory=set)
    redacted: bool = False
    updated: int = 0
    #: The latest (causal counter, clock) of any op held for this record.
    top: Top = (0, 0)
    claims: set[Claim] = field(default_factory=set)
    #: For a duplicate: the records it was merged into; for a kept record: its duplicates.
    merged_into: set[RecordId] = field(default_factory=set)
    merged: set[RecordId] = field(default_factory=set)
    #: "I'd like this": for a need, the offers it asks for; for an offer, the needs asking.
    linked: set[RecordId] = field(default_factory=set)
    #: The latest time (ms) a resident said the request is still needed; 0 if never.
    confirmed: int = 0

    def apply(self, op: Op) -> None:
        """Merge one op into this record (ops that don't concern it are ignored)."""
        body = op.body
        if self.id not in op.records():
            return
        self.updated = max(self.updated, op.hlc)
        self.top = max(self.top, (op.causal, op.hlc))
        if isinstance(body, Create):
            write = Write(op.key, body.kind.value)
            if self.kind is None or write > self.kind:
                self.kind = write
            if self.created_at is None or body.created_at < self.created_at:
                self.created_at = body.created_at
            if body.ref:
                self.refs.add(body.ref)
            self._write(op.key, body.fields)
            self._claim(StatusClaim.of(body.status, 0, op.key, body.status_message))
        elif isinstance(body, Update):
            self._write(op.key, body.fields)
        elif isinstance(body, SetStatus):
            self._claim(StatusClaim.of(body.status, body.epoch, op.key, body.message))
        elif isinstance(body, Match):
            if body.need == self.id:
                other, epoch = body.offer, body.need_epoch
            else:
                other, epoch = body.need, body.offer_epoch
            self.matches.add(other)
            self.claims.add(Claim.of(op, body))
            self._claim(StatusClaim.of(Status.MATCHED, epoch, op.key, body.message))
        elif isinstance(body, Merge):
            if body.duplicate == self.id:
                self.merged_into.add(body.record)
                self._claim(StatusClaim.of(Status.CANCELLED, body.epoch, op.key, ""))
            else:
                self.merged.add(body.duplicate)
        elif isinstance(body, Link):
            self.linked.add(body.offer if body.need == self.id else body.need)
        elif isinstance(body, Confirm):
            if body.needed:
                self.confirmed = max(self.confirmed, op.hlc >> 16)
            else:
                self._claim(StatusClaim.of(Status.CANCELLED, body.epoch, op.key, ""))
        elif isinstance(body, Redact):
            self.redacted = True
            self.fields = {
                name: sorted({Write(w.key, _blank(name, w.value)) for w in writes}, reverse=True)
                for name, writes in self.fields.items()
            }

    def _write(self, key: Key, values: Iterable[tuple[str, FieldValue]] | Any) -> None:
        for name, value in dict(values).items():
            kept = _blank(name, value) if self.redacted else value
            self.fields[name] = _keep_top(self.fields.get(name, []), Write(key, kept))

    def _claim(self, claim: StatusClaim) -> None:
        self.status = _keep_top(self.status, claim)

    # --- reading ------------------------------------------------------------------------

    @property
    def complete(self) -> bool:
        """True once the create op is here (updates may arrive before it)."""
        return self.kind is not None

    def value(self, name: str) -> FieldValue:
        writes = self.fields.get(name)
        return writes[0].value if writes else None

    def view(self) -> Record:
        if self.kind is None or self.created_at is None:
            raise ValueError(f"record {self.id} has no create op yet")
        top = self.status[0]
        return Record(
            id=self.id,
            kind=Kind(str(self.kind.value)),
            **record_fields(lambda name: self.value(name)),
            refs=tuple(sorted(self.refs)),
            status=top.status,
            status_message=top.message,
            epoch=top.epoch,
            matches=tuple(sorted(self.matches)),
            created_at=self.created_at,
            redacted=self.redacted,
            updated=self.updated,
            conflicts=self.conflicts(),
            claims=self.current_claims(),
            claim_conflict=self.claim_conflict(),
            remaining=self.remaining(),
            merged_into=tuple(sorted(self.merged_into)),
            merged=tuple(sorted(self.merged)),
            linked=tuple(sorted(self.linked)),
            confirmed=self.confirmed,
        )

    # --- claims -------------------------------------------------------------------------

    def _is_offer(self) -> bool:
        return self.kind is not None and self.kind.value == Kind.OFFER.value

    def current_claims(self) -> tuple[Claim, ...]:
        """The match claims at this record's current epoch, oldest first (a re-opened record
        starts afresh: earlier claims are history, in the audit trail)."""
        epoch = self.status[0].epoch if self.status else 0
        mine = [
            c
            for c in self.claims
            if (c.offer_epoch if c.offer == self.id else c.need_epoch) == epoch
        ]
        return tuple(sorted(mine, key=lambda c: (c.hlc, c.origin, c.seq)))

    def _by_partner(self) -> dict[RecordId, Claim]:
        """Each partner's latest claim at this epoch (the same pair matched twice is one)."""
        latest: dict[RecordId, Claim] = {}
        for c in self.current_claims():
            latest[c.need if c.offer == self.id else c.offer] = c
        return latest

    def remaining(self) -> int | None:
        """What an offer has left to give once its claims are counted (None: unknown)."""
        quantity, unit = self.value("quantity"), self.value("quantity_unit")
        if not isinstance(quantity, int) or not self._is_offer():
            return quantity if isinstance(quantity, int) else None
        taken = 0
        for c in self._by_partner().values():
            if c.quantity is None:
                return 0  # a whole-offer match takes it all
            if c.unit is not None and c.unit.value == unit:
                taken += c.quantity
        return max(quantity - taken, 0)

    def claim_conflict(self) -> bool:
        """True when this record's claims together take more than it has (or one takes it
        whole beside another): a person must decide, every claim is kept and shown."""
        if not self.status or self.status[0].status not in (Status.OPEN, Status.MATCHED):
            return False
        latest = self._by_partner()
        if len(latest) < 2:
            return False
        if any(c.quantity is None for c in latest.values()):
            return True
        quantity, unit = self.value("quantity"), self.value("quantity_unit")
        if not isinstance(quantity, int):
            return False
        same = [c.quantity or 0 for c in latest.values() if c.unit and c.unit.value == unit]
        return sum(same) > quantity

    def conflicts(self) -> tuple[Conflict, ...]:
        """Concurrent writes by other hubs that lost, for a coordinator to review."""
        out: list[Conflict] = []
        for name in PLAIN_FIELDS:
            writes = self.fields.get(name, [])
            if writes:
                winner, seen = writes[0], {writes[0].key[2]}
                for w in writes[1:]:  # each other hub's latest write only
                    if w.key[2] not in seen and w.value != winner.value:
                        out.append(Conflict(name, w.value, w.key[2], w.key[1]))
                    seen.add(w.key[2])
        if self.status:
            top = self.status[0]
            out.extend(
                Conflict("status", c.status.value, c.origin, c.hlc)
                for c in self.status[1:]
                if c.epoch == top.epoch
                and c.origin != top.origin
                and c.status not in (top.status, Status.OPEN)
            )
        if self.claim_conflict():
            out.extend(
                Conflict("claim", str(c.need if c.offer == self.id else c.offer), c.origin, c.hlc)
                for c in self._by_partner().values()
            )
        return tuple(out)

    # --- persistence --------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(self.id),
            "kind": [_key_json(self.kind.key), self.kind.value] if self.kind else None,
            "created_at": self.created_at,
            "refs": sorted(self.refs),
            "fields": {
                name: [[_key_json(w.key), w.value] for w in writes]
                for name, writes in sorted(self.fields.items())
            },
            "status": [c.to_json() for c in self.status],
            "matches": sorted(str(m) for m in self.matches),
            "redacted": self.redacted,
            "updated": self.updated,
        }
        if self.top[0]:  # without a causal counter, the top is (0, updated)
            out["top"] = list(self.top)
        # each absent while empty, so a record without them reads and hashes as before
        if self.claims:
            out["claims"] = [c.to_json() for c in sorted(self.claims)]
        for name in ("merged_into", "merged", "linked"):
            ids: set[RecordId] = getattr(self, name)
            if ids:
                out[name] = sorted(str(r) for r in ids)
        if self.confirmed:
            out["confirmed"] = self.confirmed
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RecordState:
        kind = data["kind"]
        top = data.get("top") or (0, data["updated"])
        return cls(
            id=RecordId.parse(data["id"]),
            kind=Write(_key_of(kind[0]), kind[1]) if kind else None,
            created_at=data["created_at"],
            refs=set(data["refs"]),
            fields={
                name: [Write(_key_of(k), v) for k, v in writes]
                for name, writes in data["fields"].items()
            },
            status=[StatusClaim.from_json(claim) for claim in data["status"]],
            matches={RecordId.parse(m) for m in data["matches"]},
            redacted=data["redacted"],
            updated=data["updated"],
            top=(top[0], top[1]),
            claims={Claim.from_json(c) for c in data.get("claims", [])},
            merged_into={RecordId.parse(r) for r in data.get("merged_into", [])},
            merged={RecordId.parse(r) for r in data.get("merged", [])},
            linked={RecordId.parse(r) for r in data.get("linked", [])},
            confirmed=data.get("confirmed", 0),
        )


@dataclass(frozen=True)
class Conflict:
    field: str
    value: FieldValue
    hub: int
    hlc: int


@dataclass(frozen=True)
class Record:
    """A record as people see it: the fold's winners, plus what lost concurrently."""

    id: RecordId
    kind: Kind
    category: Category
    urgency: Urgency
    quantity: int | None
    quantity_unit: QuantityUnit | None
    area: str
    note: str
    contact: Contact
    share_contact: bool
    language: str
    refs: tuple[str, ...]
    status: Status
    status_message: str
    epoch: int
    matches: tuple[RecordId, ...]
    created_at: int
    redacted: bool
    updated: int
    conflicts: tuple[Conflict, ...] = ()
    expires: int | None = None
    local_note: str = ""
    claims: tuple[Claim, ...] = ()
    claim_conflict: bool = False
    remaining: int | None = None
    merged_into: tuple[RecordId, ...] = ()
    merged: tuple[RecordId, ...] = ()
    linked: tuple[RecordId, ...] = ()
    confirmed: int = 0

    @property
    def hub(self) -> int:
        return self.id.hub

    @property
    def ref(self) -> str:
        return self.refs[0] if self.refs else ""


def fold(ops: Iterable[Op]) -> dict[RecordId, RecordState]:
    """The state of every record touched by ``ops``, in any order, with any duplicates."""
    states: dict[RecordId, RecordState] = {}
    for op in ops:
        for rid in op.records():
            states.setdefault(rid, RecordState(rid)).apply(op)
    return states


def state_hash(states: Iterable[RecordState], *, public: bool = False) -> str:
    """A digest of whole replica state: equal op sets give equal hashes.

    ``public`` leaves out what may differ between hubs by design: contact details, which
    travel only with consent, the consent flag that travels with them, and local fields.
    """
    digest = hashlib.sha256()
    for state in sorted(states, key=lambda s: s.id):
        data = state.to_json()
        if public:  # local fields (a note kept at its hub) never reach other hubs at all
            data["fields"] = {
                name: [[key, None] for key, _ in writes] if name in _CONSENTED else writes
                for name, writes in data["fields"].items()
                if name not in LOCAL_FIELDS
            }
        digest.update(json.dumps(data, sort_keys=True, separators=(",", ":")).encode())
        digest.update(b"\n")
    return digest.hexdigest()


_CONSENTED = PRIVATE_FIELDS | {CONSENT_FIELD}
