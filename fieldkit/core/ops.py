"""The operation log's vocabulary (pure core).

Every change is an :class:`Op` appended to its origin hub's log; ``(origin, seq)`` is its
identity and seq counts 1, 2, 3… per origin. A record's state is a deterministic fold of its
ops (see :mod:`fieldkit.core.fold`), so any replica holding the same ops shows the same state.

Notices are records of kind ``notice``: they are posted with a :class:`Create` op, edited
with :class:`Update`, and withdrawn with a ``cancelled`` :class:`SetStatus`; their ``expires``
field takes them off residents' boards when it passes.

A coordinator's act (a status, a match, a notice, a merge) carries the coordinator's name as
the op's ``actor``: a public act, shown in every hub's audit trail. Residents' acts (intake, a
``still needed`` answer, "I'd like this") carry none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from fieldkit.core.fields import (
    BASE_FIELD_CODES,
    CONSENT_FIELD,
    FIELD,
    FIELDS,
    LOCAL_FIELDS,
    NAME_MAX,
    QUANTITY_MAX,
    QuantityUnit,
    json_value,
)
from fieldkit.core.fields import FieldValue as FieldValue
from fieldkit.core.records import Draft, Kind, Status, Urgency
from fieldkit.errors import InvalidOp as InvalidOp

#: Last-writer-wins fields, in the order of :data:`fieldkit.core.fields.FIELDS`.
PLAIN_FIELDS: tuple[str, ...] = tuple(spec.name for spec in FIELDS)
PRIVATE_FIELDS: frozenset[str] = frozenset(spec.name for spec in FIELDS if spec.private)
#: What a redaction erases: the private contact and the free-text note (which may hold it too).
REDACTED_FIELDS: frozenset[str] = frozenset(spec.name for spec in FIELDS if spec.redacted)
MESSAGE_MAX = 200


_RECORD_ID_RE = re.compile(r"^([0-9a-f]{8})-([1-9][0-9]{0,11})$")


@dataclass(frozen=True, order=True)
class RecordId:
    """A record is named by the op that first created it: its origin hub and seq."""

    hub: int
    seq: int

    def __str__(self) -> str:
        return f"{self.hub:08x}-{self.seq}"

    @classmethod
    def parse(cls, text: str) -> RecordId:
        match = _RECORD_ID_RE.match(text.strip().lower())
        if not match:
            raise ValueError(f"not a record id: {text!r} (expected like 3fa9c2d1-42)")
        return cls(int(match.group(1), 16), int(match.group(2)))


def hub_name(hub: int) -> str:
    return f"{hub:08x}"


@dataclass(frozen=True)
class Create:
    record: RecordId
    kind: Kind
    created_at: int
    fields: Mapping[str, FieldValue]
    ref: str = ""
    status: Status = Status.OPEN
    status_message: str = ""


@dataclass(frozen=True)
class Update:
    record: RecordId
    fields: Mapping[str, FieldValue]


@dataclass(frozen=True)
class SetStatus:
    """Open → matched → fulfilled, or cancelled; re-opening is ``open`` at a higher epoch."""

    record: RecordId
    status: Status
    epoch: int = 0
    message: str = ""


@dataclass(frozen=True)
class Match:
    """A need matched with an offer: both become ``matched`` at their current epochs.

    ``quantity`` (in ``quantity_unit``) is how much of the offer this match takes, so a
    partial match leaves the rest of the offer to give; None: the whole offer."""

    need: RecordId
    offer: RecordId
    need_epoch: int = 0
    offer_epoch: int = 0
    message: str = ""
    quantity: int | None = None
    quantity_unit: QuantityUnit | None = None


@dataclass(frozen=True)
class Redact:
    """Erase a record's personal data everywhere, for good."""

    record: RecordId


@dataclass(frozen=True)
class Merge:
    """``duplicate`` is the same request as ``record``: both records and both histories stay;
    the duplicate is shown as merged into ``record`` and leaves the queues."""

    record: RecordId
    duplicate: RecordId
    epoch: int = 0  # the duplicate's epoch when merged (it is cancelled at that epoch)


@dataclass(frozen=True)
class Link:
    """A resident's "I'd like this": ``need`` (theirs, just made) asks for ``offer``."""

    need: RecordId
    offer: RecordId


@dataclass(frozen=True)
class Confirm:
    """A resident's answer with their code: still needed (the need is fresh again), or no
    longer needed (it is cancelled at ``epoch``, its current one)."""

    record: RecordId
    needed: bool
    epoch: int = 0


Body = Create | Update | SetStatus | Match | Redact | Merge | Link | Confirm
#: Bodies that name two records, as (first, second) attribute names.
PAIRS: Mapping[type, tuple[str, str]] = {
    Match: ("need", "offer"),
    Link: ("need", "offer"),
    Merge: ("record", "duplicate"),
}


#: The largest causal counter an op may carry.
CAUSAL_MAX = 0xFFFF_FFFF


@dataclass(frozen=True)
class Op:
    """One change. ``causal`` is the record's causal counter: 0 unless the hub that made the
    op held an op of its record stamped at or after the op's own clock stamp (a wrong clock),
    then one more than the counter of what it held (see :func:`fieldkit.core.fold.causal_after`)."""

    origin: int
    seq: int
    hlc: int
    body: Body = field(compare=True)
    causal: int = 0
    #: The coordinator's name for a coordinator's act ("" for residents' and imports).
    actor: str = ""

    @property
    def key(self) -> tuple[int, int, int]:
        """Last-writer-wins order: causal counter, then hybrid clock, then origin hub."""
        return (self.causal, self.hlc, self.origin)

    def records(self) -> tuple[RecordId, ...]:
        pair = PAIRS.get(type(self.body))
        if pair is not None:
            return (getattr(self.body, pair[0]), getattr(self.body, pair[1]))
        return (self.body.record,)  # type: ignore[union-attr]


@dataclass(frozen=True)
class NewRecord:
    """What a :class:`Create` op is made from: a draft plus what an import may bring along."""

    draft: Draft
    idempotency_key: str | None = None
    record_id: RecordId | None = None
    created_at: int | None = None
    status: Status = Status.OPEN
    status_message: str = ""
    ref: str | None = None


def shareable(op: Op, consented: bool) -> Op:
    """The op as it may leave this hub: contact details only with the resident's consent,
    and local fields (a note kept at this hub) never. Every exit (radio, HTTP, bundle) sends
    what this returns."""
    op = without_local(op)
    if consented:
        return op
    body = op.body
    if isinstance(body, Create | Update) and any(body.fields.get(name) for name in PRIVATE_FIELDS):
        return strip_private(op, PRIVATE_FIELDS)
    return op


def without_local(op: Op) -> Op:
    """The op without the fields that never leave this hub (the keys go, not just values)."""
    body = op.body
    if not isinstance(body, Create | Update) or not LOCAL_FIELDS & set(body.fields):
        return op
    fields = {name: v for name, v in body.fields.items() if name not in LOCAL_FIELDS}
    if isinstance(body, Create):
        return replace(op, body=_replace_create(body, fields))
    return replace(op, body=Update(body.record, fields))


def draft_attr(obj: object, spec_name: str) -> object:
    """A field's value on a Draft or a Record (``contact.name`` follows the contact)."""
    for part in FIELD[spec_name].attr.split("."):
        obj = getattr(obj, part)
    return obj


def draft_fields(draft: Draft) -> dict[str, FieldValue]:
    """A draft's plain fields, keyed as :data:`PLAIN_FIELDS` (enums as their values).

    Fields beyond today's mask (``expires``, ``local_note``) are left out while empty, so a
    record that uses none of them is created by an op every release reads."""
    out: dict[str, FieldValue] = {}
    for spec in FIELDS:
        value = json_value(draft_attr(draft, spec.name))
        if spec.wire_code < BASE_FIELD_CODES or value not in (None, ""):
            out[spec.name] = value
    return out


def check_fields(fields: Mapping[str, Any]) -> dict[str, FieldValue]:
    """Check plain field values that came from outside (another hub, a file)."""
    out: dict[str, FieldValue] = {}
    for name, value in fields.items():
        spec = FIELD.get(name)
        if spec is None:
            raise InvalidOp(f"unknown field {name!r}")
        if value is None and spec.optional:
            pass
        elif spec.type == "enum":
            if value not in (spec.choices or {}) or value == "":
                raise InvalidOp(f"{name}: unknown value {value!r}")
        elif spec.type == "int":
            is_int = isinstance(value, int) and not isinstance(value, bool)
            if not (is_int and 1 <= value <= spec.limit):
                raise InvalidOp(f"{name}: not a whole number 1..{spec.limit}: {value!r}")
        elif spec.type == "bool":
            if not isinstance(value, bool):
                raise InvalidOp(f"{name}: not true/false: {value!r}")
        elif not isinstance(value, str) or len(value) > spec.limit:
            raise InvalidOp(f"{name}: not text of at most {spec.limit} characters")
        out[name] = value
    return out


def strip_private(op: Op, erase: frozenset[str] = REDACTED_FIELDS) -> Op:
    """The op with the ``erase`` fields blanked and consent withdrawn.

    By default the redactable fields (contact and note), for redaction; with
    ``erase=PRIVATE_FIELDS``, only the contact, for sending without the resident's consent.
    """
    body = op.body
    if isinstance(body, Create | Update):
        fields = {
            name: ("" if name in erase else (False if name == CONSENT_FIELD else v))
            for name, v in body.fields.items()
        }
        if isinstance(body, Create):
            return replace(op, body=_replace_create(body, fields))
        return replace(op, body=Update(body.record, fields))
    return op


def _replace_create(body: Create, fields: Mapping[str, FieldValue]) -> Create:
    return Create(
        body.record, body.kind, body.created_at, fields, body.ref, body.status, body.status_message
    )


# --- JSON form (the store's column, the HTTP sync API) ---------------------------------


def op_to_json(op: Op) -> dict[str, Any]:
    body = op.body
    out: dict[str, Any] = {"origin": op.origin, "seq": op.seq, "hlc": op.hlc}
    if op.causal:  # absent when 0: every op of an earlier release reads as before
        out["causal"] = op.causal
    if op.actor:
        out["actor"] = op.actor
    if isinstance(body, Create):
        out |= {
            "op": "create",
            "record": str(body.record),
            "kind": body.kind.value,
            "created_at": body.created_at,
            "fields": dict(body.fields),
            "ref": body.ref,
            "status": body.status.value,
            "status_message": body.status_message,
        }
    elif isinstance(body, Update):
        out |= {"op": "update", "record": str(body.record), "fields": dict(body.fields)}
    elif isinstance(body, SetStatus):
        out |= {
            "op": "status",
            "record": str(body.record),
            "status": body.status.value,
            "epoch": body.epoch,
            "message": body.message,
        }
    elif isinstance(body, Match):
        out |= {
            "op": "match",
            "need": str(body.need),
            "offer": str(body.offer),
            "need_epoch": body.need_epoch,
            "offer_epoch": body.offer_epoch,
            "message": body.message,
        }
        if body.quantity is not None:
            out["quantity"] = body.quantity
        if body.quantity_unit is not None:
            out["quantity_unit"] = body.quantity_unit.value
    elif isinstance(body, Merge):
        out |= {
            "op": "merge",
            "record": str(body.record),
            "duplicate": str(body.duplicate),
            "epoch": body.epoch,
        }
    elif isinstance(body, Link):
        out |= {"op": "link", "need": str(body.need), "offer": str(body.offer)}
    elif isinstance(body, Confirm):
        out |= {
            "op": "confirm",
            "record": str(body.record),
            "needed": body.needed,
            "epoch": body.epoch,
        }
    else:
        out |= {"op": "redact", "record": str(body.record)}
    return out


def _int(data: Mapping[str, Any], name: str, lo: int = 0, hi: int = (1 << 64) - 1) -> int:
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise InvalidOp(f"{name}: expected a whole number {lo}..{hi}, got {value!r}")
    return value


def _str(data: Mapping[str, Any], name: str, limit: int = MESSAGE_MAX) -> str:
    value = data.get(name, "")
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidOp(f"{name}: expected text of at most {limit} characters")
    return value


def _rid(data: Mapping[str, Any], name: str) -> RecordId:
    try:
        return RecordId.parse(str(data.get(name, "")))
    except ValueError as exc:
        raise InvalidOp(str(exc)) from None


def op_from_json(data: Mapping[str, Any]) -> Op:
    """Parse and check an op; raises :class:`InvalidOp` naming what is wrong."""
    origin = _int(data, "origin", 1, 0xFFFFFFFF)
    seq = _int(data, "seq", 1)
    hlc = _int(data, "hlc")
    causal = _int(data, "causal", 0, CAUSAL_MAX) if "causal" in data else 0
    actor = _str(data, "actor", NAME_MAX)
    kind = data.get("op")
    body: Body
    try:
        if kind == "create":
            fields = data.get("fields")
            if not isinstance(fields, dict):
                raise InvalidOp("fields: expected an object")
            body = Create(
                record=_rid(data, "record"),
                kind=Kind(str(data.get("kind"))),
                created_at=_int(data, "created_at", 0, (1 << 48) - 1),
                fields=check_fields(fields),
                ref=_str(data, "ref", 16),
                status=Status(data.get("status", "open")),
                status_message=_str(data, "status_message"),
            )
        elif kind == "update":
            fields = data.get("fields")
            if not isinstance(fields, dict):
                raise InvalidOp("fields: expected an object")
            body = Update(_rid(data, "record"), check_fields(fields))
        elif kind == "status":
            body = SetStatus(
                _rid(data, "record"),
                Status(str(data.get("status"))),
                _int(data, "epoch", 0, 0xFFFF),
                _str(data, "message"),
            )
        elif kind == "match":
            quantity = _int(data, "quantity", 1, QUANTITY_MAX) if "quantity" in data else None
            unit = data.get("quantity_unit")
            body = Match(
                _rid(data, "need"),
                _rid(data, "offer"),
                _int(data, "need_epoch", 0, 0xFFFF),
                _int(data, "offer_epoch", 0, 0xFFFF),
                _str(data, "message"),
                quantity,
                None if unit is None else QuantityUnit(str(unit)),
            )
            if (quantity is None) != (unit is None):
                raise InvalidOp(
                    "quantity: a match's quantity needs its unit, and a unit its quantity"
                )
        elif kind == "redact":
            if actor:  # a redaction must reach every hub, of every release: no extended form
                raise InvalidOp("actor: a redaction carries no coordinator's name")
            body = Redact(_rid(data, "record"))
        elif kind == "merge":
            body = Merge(
                _rid(data, "record"), _rid(data, "duplicate"), _int(data, "epoch", 0, 0xFFFF)
            )
        elif kind == "link":
            body = Link(_rid(data, "need"), _rid(data, "offer"))
        elif kind == "confirm":
            needed = data.get("needed")
            if not isinstance(needed, bool):
                raise InvalidOp(f"needed: not true/false: {needed!r}")
            body = Confirm(_rid(data, "record"), needed, _int(data, "epoch", 0, 0xFFFF))
        else:
            raise InvalidOp(f"unknown op {kind!r}")
    except ValueError as exc:  # an enum value that is not ours
        raise InvalidOp(str(exc)) from None
    pair = PAIRS.get(type(body)) if isinstance(body, Merge | Link) else None
    if pair is not None and getattr(body, pair[0]) == getattr(body, pair[1]):
        raise InvalidOp(f"{pair[1]}: the same record as {pair[0]}")
    return Op(origin, seq, hlc, body, causal, actor)


# --- the send order ---------------------------------------------------------------------

#: Each urgency's rank in the order of service (most urgent first: the enum's own order).
URGENCY_RANK: Mapping[str, int] = {u.value: i for i, u in enumerate(Urgency)}
#: The rank of an op whose record has no urgency (not held yet, or a notice): sent last.
LEAST_URGENT = 99


def send_order(urgency_rank: int | None, op: Op) -> tuple[int, int, int, int]:
    """The order ops go out in, everywhere (radio, HTTP, simulations): the most urgent record
    first, then the oldest op, then by origin hub and seq, so ties never depend on storage."""
    rank = LEAST_URGENT if urgency_rank is None else urgency_rank
    return (rank, op.hlc, op.origin, op.seq)
