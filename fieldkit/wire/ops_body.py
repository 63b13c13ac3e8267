"""The body of an Ops frame (pure): many ops, delta-coded, with their text set aside.

Layout, all in one bitstream (see :mod:`fieldkit.wire.frame` for the frame around it)::

    hub table   uvar(n-1 extra hubs) · 32 bits each   (hub 0 is the frame's sender, free)
    n_ops       uvar · text mode (2 bits: none, raw, deflate+dictionary)
    per op      type (3 bits) · origin: 1 bit "same as the previous op", else hub index
                seq: 1 bit "previous seq of this origin + 1", else zigzag step
                clock: zigzag(ms − previous op's ms) · 2 + (counter ≠ 0), then the counter
                body (below)

A record reference costs 1 bit when it is the op's own id (a Create names its record after
itself), else 1 bit "same hub as the op" plus a zigzag seq distance, or a hub index plus the
seq. Create: kind, status (2 bits each), created_at − clock ms (zigzag, usually 0), reference
code (2 bits: none, a standard code in 30 bits, or text), status message, then the fields.
Fields: 1 bit "all eleven present" (else an 11-bit mask, bit = the field's ``wire_code`` in
:data:`~fieldkit.core.fields.FIELDS`; every code comes from the literal tables there, never
from declaration order), then per field: category 4 bits, urgency 2, quantity 1 (+ uvar), unit
2, area 2 (empty / new text / repeat of an area earlier in the frame + index), note 1,
language 3 (empty / other text / en es ht vi zh ar), share_contact 1, name 1, phone 2 (empty /
4-bit symbols / text), location 1.
A text costs its UTF-8 length in the bitstream and its bytes in the frame's text stream.

Room to grow (wire version 2 only; today's records never need it, so they cost nothing):
op types 5 and 6 are a Create and an Update whose codes do not fit today's slots. Their fields
are as above, but after the 11-bit mask (or the "all" bit) comes uvar(mask of field codes ≥ 11),
every enum code is a uvar of its slot's width (a 17th category is code 16), and each field
beyond the first eleven starts with its coding in 2 bits (count, flag, text, enum-as-uvar), so
a reader that does not know the field or the code steps over the op and reports it (reason
``newer``) instead of refusing the frame.

Ops beyond today's vocabulary (wire version 2; :data:`~fieldkit.core.fields.EXT_OP_CODES`):
a coordinator's name (``actor``), a match's quantity, a merge, an "I'd like this" link and a
resident's "still needed" answer travel as an extended update (op type 6) whose base mask is 0
and whose extension mask holds the op's attributes (:data:`~fieldkit.core.fields.OP_ATTRS`,
codes 16 and up): ``op`` (which op, an enum), then the rest in code order, each with its 2-bit
coding like any extension field. The op's first record is the update's record; a second one
is ``other_hub`` (1 + an index into the hub table) and ``other_seq``. A Create or Update with
an actor is its extended form with the ``actor`` attribute. A hub of an earlier release does
not know the codes, steps over the op and reports it (``newer``), as for a 17th category.
Extension enums are varints in 2-bit groups (as every reader steps over them).

The compact layout (sealed frames of wire version 5, see :mod:`fieldkit.wire.frame`): the ops
as above, but an op's clock delta is :meth:`~fieldkit.wire.bits.BitWriter.sized` (its bit
length in 6 bits, then its bits: ~27 bits where 7-bit groups take 32), a Create's created_at
is 1 bit "same as its clock" (else 1 + the zigzag step), its status 1 bit "open" (else 1 + 2
bits), its reference code 1 bit "a standard code" (else 1 bit: none, or text), a text's length
comes in 6-bit groups and a phone number's count of symbols in 4-bit ones, and an area of the
**network's area table** (the ids of ``network.areas``, sorted: every hub of a network holds
the same, as it holds the same key) is area mode 3 and its index in just enough bits for the
table (3 for 6 areas) instead of its name as text. A frame that uses the table says so after
its text mode (1 bit) with the table's check byte (8 bits: :func:`table_check`); a hub whose
table differs refuses the frame (reason ``areas``) rather than read wrong areas, and says so
in its summaries (``Summary.table_differs``), so that its neighbours send areas by name.

Causal counters (wire version 3 only): an op whose causal counter is not 0 (its hub's clock
was behind an op it held for the record, see :func:`fieldkit.core.fold.causal_after`) is
preceded by op type 7 and uvar(counter − 1); then the op as above. Ops without one, which is
every op while clocks behave, cost nothing and keep the frame at version 1 or 2.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fieldkit.core.fields import (
    BASE_FIELD_CODES,
    EXT_OP_CODES,
    FIELDS,
    KIND_CODES,
    LANGUAGE_AS_TEXT,
    LANGUAGE_CODES,
    OP_ATTR,
    OP_ATTRS,
    OP_CODES,
    STATUS_CODES,
    FieldSpec,
    Kind,
    QuantityUnit,
    Status,
)
from fieldkit.core.ops import (
    CAUSAL_MAX,
    MESSAGE_MAX,
    Confirm,
    Create,
    FieldValue,
    InvalidOp,
    Link,
    Match,
    Merge,
    Op,
    RecordId,
    Redact,
    SetStatus,
    Update,
    op_from_json,
    op_to_json,
)
from fieldkit.core.refcode import ALPHABET, format_code, parse_code
from fieldkit.errors import DecodeError
from fieldkit.wire.bits import BitReader, BitWriter, unzigzag, zigzag
from fieldkit.wire.text import phone_packable, phone_symbols, phone_text

CREATE, UPDATE, STATUS, MATCH, REDACT, CREATE_EXT, UPDATE_EXT, CAUSAL = (
    OP_CODES[name]
    for name in (
        "create", "update", "status", "match", "redact", "create_ext", "update_ext", "causal"
    )
)  # fmt: skip
#: The wire versions this codec reads. Version 1 frames are today's; a version 2 frame may also
#: hold extended ops (a code beyond its slot's width, a field beyond the 11-bit mask); a
#: version 3 frame, ops with a causal counter.
WIRE_VERSIONS = (1, 2, 3)
CAUSAL_VERSION = 3
#: Extension fields describe their own coding (2 bits), so any reader can step over them.
_EXT_TAGS = {"count": 0, "flag": 1, "text": 2, "enum": 3}
_LANGUAGE_OF = {code: value for value, code in LANGUAGE_CODES.items()}
REF_MAX = 16
RECORD_SEQ_MAX = 10**12 - 1  # the largest seq a RecordId's text form can hold
_ALL_FIELDS = sum(1 << spec.wire_code for spec in FIELDS if spec.wire_code < BASE_FIELD_CODES)
_FIELD_BITS = BASE_FIELD_CODES
_OPEN = STATUS_CODES["open"]
C_LEN_COMPACT = 6  # text lengths in the compact layout: a note of up to 64 bytes in 7 bits
C_PHONE_COMPACT = 4  # a phone number's symbols, counted: up to 15 in 5 bits


def table_check(areas: Sequence[str]) -> int:
    """The check byte of a network's area table (its ids, in any order)."""
    return hashlib.sha256("\n".join(sorted(set(areas))).encode()).digest()[0]


def _table_width(size: int) -> int:
    return max(size - 1, 0).bit_length()


def _decoding(codes: Mapping[str, int]) -> dict[int, str]:
    return {code: value for value, code in codes.items()}


_KIND_OF, _STATUS_OF = _decoding(KIND_CODES), _decoding(STATUS_CODES)
_LANGUAGE_OF = _decoding(LANGUAGE_CODES)
_EXT_ENUM_GROUP = 2  # extension enums: varints in 2-bit groups, as every reader steps over them
_ATTR_DECODINGS = {s.name: _decoding(s.choices) for s in OP_ATTRS if s.choices is not None}
_EXT_OP_OF = _decoding(EXT_OP_CODES)


def knows_attrs(fields: tuple[FieldSpec, ...]) -> bool:
    """Op attributes came with this release's fields: a table without ``expires`` is an
    earlier release's (a simulated older hub), which steps over every extended op."""
    return any(spec.name == "expires" for spec in fields)


def op_attrs(op: Op) -> dict[str, FieldValue]:
    """The attributes ``op`` travels with in its extended form ({}: its base form will do)."""
    body, actor = op.body, ({"actor": op.actor} if op.actor else {})
    out: dict[str, FieldValue] = {}
    if isinstance(body, Create | Update | Redact):
        return dict(actor)
    if isinstance(body, SetStatus):
        if not actor:
            return {}
        out = {"op": "status", **actor, "status": body.status.value, "epoch": body.epoch,
               "message": body.message}  # fmt: skip
    elif isinstance(body, Match):
        if not actor and body.quantity is None:
            return {}
        unit = body.quantity_unit.value if body.quantity_unit else None
        out = {"op": "match", **actor, "epoch": body.need_epoch,
               "other_epoch": body.offer_epoch, "message": body.message,
               "quantity": body.quantity, "quantity_unit": unit}  # fmt: skip
    elif isinstance(body, Merge):
        out = {"op": "merge", **actor, "other_epoch": body.epoch}
    elif isinstance(body, Link):
        out = {"op": "link", **actor}
    else:
        out = {"op": "confirm", **actor, "needed": body.needed, "epoch": body.epoch}
    # absent, not written: a zero epoch, an empty message, no quantity
    return {k: v for k, v in out.items() if v not in (0, "", None) or k == "needed"}


def _primary(body: SetStatus | Match | Merge | Link | Confirm) -> tuple[RecordId, RecordId | None]:
    if isinstance(body, Match | Link):
        return body.need, body.offer
    if isinstance(body, Merge):
        return body.record, body.duplicate
    return body.record, None


# Continuation-group sizes, tuned on bench/corpus.jsonl.
C_INDEX, C_STEP, C_TIME, C_SMALL, C_LEN, C_SEQ = 2, 4, 7, 3, 5, 7


#: The reader's op types for ops beyond the 3-bit slot (never on the wire as such).
_EXT_TYPES = {"status": STATUS, "match": MATCH, "merge": 8, "link": 9, "confirm": 10}


class BodyError(DecodeError):
    """A well-formed bitstream that says something invalid."""


# --- encoding ---------------------------------------------------------------------------


class OpsWriter:
    """Encodes ops one at a time; :attr:`bits` and :attr:`texts` grow with each."""

    def __init__(
        self, sender: int, version: int = WIRE_VERSIONS[-1], fields: tuple[FieldSpec, ...] = FIELDS,
        *, compact: bool = False, areas: Sequence[str] = (),
    ) -> None:  # fmt: skip
        self.version = version  # the highest version the receivers read
        self.needs_version = 1  # the lowest version that holds what was added
        self.compact = compact  # the compact layout (module docstring)
        self._table = {a: i for i, a in enumerate(sorted(set(areas)))} if compact else {}
        self._table_check = table_check(areas)
        self.table_used = False  # an area went as an index into the network's table
        self._specs = {spec.name: spec for spec in fields}
        self._wire_fields = tuple(sorted(fields, key=lambda spec: spec.wire_code))
        self._table_is_ours = fields is FIELDS
        self.hubs = [sender]
        self._hub_index = {sender: 0}
        self.bits = BitWriter()
        self.texts: list[bytes] = []
        self._areas: dict[str, int] = {}
        self._prev_origin = 0
        self._prev_seq: dict[int, int] = {}
        self._prev_ms = 0
        self.count = 0

    def copy(self) -> OpsWriter:
        """A writer in the same state, to try an op on without touching this one."""
        twin = copy.copy(self)
        twin.hubs, twin._hub_index = list(self.hubs), dict(self._hub_index)
        twin.bits, twin.texts, twin._areas = self.bits.copy(), list(self.texts), dict(self._areas)
        twin._prev_seq = dict(self._prev_seq)
        return twin

    def shares(self, op: Op) -> tuple[bool, bool]:
        """Whether the frame already names ``op``'s area (or the network's table holds it) and
        its origin: each then costs a few bits, not its text or 32 bits."""
        body = op.body
        area = body.fields.get("area") if isinstance(body, Create | Update) else None
        return (area in self._areas or area in self._table, op.origin in self._hub_index)

    def mark_bits(self) -> int:
        """Bits of the frame's table mark (the compact layout): see :meth:`write_mark`."""
        return (1 + 8 * self.table_used) if self.compact else 0

    def write_mark(self, w: BitWriter) -> None:
        """In the compact layout: whether the frame codes areas by the network's table, and
        the table's check byte if it does."""
        if self.compact:
            w.flag(self.table_used)
            if self.table_used:
                w.bits(self._table_check, 8)

    def _hub(self, hub: int) -> int:
        if hub not in self._hub_index:
            self._hub_index[hub] = len(self.hubs)
            self.hubs.append(hub)
        return self._hub_index[hub]

    def _text(self, text: str) -> None:
        raw = text.encode()  # a lone surrogate raises UnicodeEncodeError, a ValueError
        self.bits.uvar(len(raw) - 1, C_LEN_COMPACT if self.compact else C_LEN)
        self.texts.append(raw)

    def _opt_text(self, text: str) -> None:
        self.bits.flag(bool(text))
        if text:
            self._text(text)

    def add(self, op: Op) -> None:
        """Append one op; raises ValueError if it breaks the rules of :func:`op_from_json`."""
        if self._table_is_ours:  # a newer table (a simulated newer hub) has newer rules
            try:
                checked = op_from_json(op_to_json(op))
            except InvalidOp as exc:
                raise ValueError(f"op {op.origin:08x}-{op.seq} is not valid: {exc}") from None
            if checked != op:
                raise ValueError(f"op {op.origin:08x}-{op.seq} is not valid: {op!r}")
        w, body = self.bits, op.body
        kind = {Create: CREATE, Update: UPDATE, SetStatus: STATUS, Match: MATCH, Redact: REDACT}
        attrs = op_attrs(op)
        if isinstance(body, Redact) and attrs:
            raise ValueError(f"op {op.origin:08x}-{op.seq}: a redaction carries no actor")
        ext = bool(attrs) or (isinstance(body, Create | Update) and self._needs_ext(body.fields))
        if ext:
            if self.version < 2:
                raise ValueError(
                    f"op {op.origin:08x}-{op.seq} needs wire version 2; the receiver reads 1"
                )
            self.needs_version = max(self.needs_version, 2)
        if op.causal:
            if self.version < CAUSAL_VERSION:
                raise ValueError(
                    f"op {op.origin:08x}-{op.seq} needs wire version {CAUSAL_VERSION}; "
                    f"the receiver reads {self.version}"
                )
            self.needs_version = CAUSAL_VERSION
            w.bits(CAUSAL, 3)
            w.uvar(op.causal - 1, C_SMALL)
        if not isinstance(body, Create | Update) and attrs:
            w.bits(UPDATE_EXT, 3)  # an op beyond today's vocabulary: an extended update
        else:
            code = kind[type(body)]
            w.bits({CREATE: CREATE_EXT, UPDATE: UPDATE_EXT}[code] if ext else code, 3)
        index = self._hub(op.origin)
        w.flag(index == self._prev_origin)
        if index != self._prev_origin:
            w.uvar(index, C_INDEX)
        self._prev_origin = index
        step = op.seq - self._prev_seq.get(op.origin, 0) - 1
        w.flag(step == 0)
        if step:
            w.svar(step, C_STEP)
        self._prev_seq[op.origin] = op.seq
        ms, counter = op.hlc >> 16, op.hlc & 0xFFFF
        time = zigzag(ms - self._prev_ms) << 1 | (counter != 0)
        if self.compact:
            w.sized(time)
        else:
            w.uvar(time, C_TIME)
        if counter:
            w.uvar(counter - 1, C_STEP)
        self._prev_ms = ms
        if isinstance(body, Create):
            self._own_or_ref(op, body.record)
            w.bits(KIND_CODES[body.kind], 2)
            status = STATUS_CODES[body.status]
            if self.compact:
                w.flag(status == _OPEN)
            if not self.compact or status != _OPEN:
                w.bits(status, 2)
            if self.compact:
                w.flag(body.created_at == ms)
            if not self.compact or body.created_at != ms:
                w.svar(body.created_at - ms, C_STEP)
            self._ref_code(body.ref)
            self._opt_text(body.status_message)
            self._fields(body.fields, create=True, ext=ext, attrs=attrs)
        elif isinstance(body, Update):
            self._own_or_ref(op, body.record)
            self._fields(body.fields, create=False, ext=ext, attrs=attrs)
        elif attrs and not isinstance(body, Redact):
            first, second = _primary(body)
            self._own_or_ref(op, first)
            if second is not None:
                attrs |= {"other_hub": self._hub(second.hub) + 1, "other_seq": second.seq}
            self._fields({}, create=False, ext=True, attrs=attrs)
        elif isinstance(body, SetStatus):
            self._own_or_ref(op, body.record)
            w.bits(STATUS_CODES[body.status], 2)
            w.uvar(body.epoch, C_INDEX)
            self._opt_text(body.message)
        elif isinstance(body, Match):
            self._record(op, body.need)
            self._record(op, body.offer)
            w.uvar(body.need_epoch, C_INDEX)
            w.uvar(body.offer_epoch, C_INDEX)
            self._opt_text(body.message)
        else:
            assert isinstance(body, Redact)  # every other op has attributes (above)
            self._own_or_ref(op, body.record)
        self.count += 1

    def _own_or_ref(self, op: Op, record: RecordId) -> None:
        own = record == RecordId(op.origin, op.seq)
        self.bits.flag(own)
        if not own:
            self._record(op, record)

    def _record(self, op: Op, record: RecordId) -> None:
        same_hub = record.hub == op.origin
        self.bits.flag(same_hub)
        if same_hub:
            self.bits.svar(op.seq - record.seq, C_STEP + 1)
        else:
            self.bits.uvar(self._hub(record.hub), C_INDEX)
            self.bits.uvar(record.seq - 1, C_SEQ)

    def _ref_code(self, ref: str) -> None:
        standard = len(ref) == 7 and parse_code(ref) == ref
        if self.compact:  # 1 bit "a standard code", else 1 bit "none"
            self.bits.flag(standard)
            if not standard:
                self.bits.flag(bool(ref))
        if not ref:
            if not self.compact:
                self.bits.bits(0, 2)
        elif standard:
            value = 0
            for ch in ref.replace("-", ""):
                value = value << 5 | ALPHABET.index(ch)
            if not self.compact:
                self.bits.bits(1, 2)
            self.bits.bits(value, 30)
        else:
            if not self.compact:
                self.bits.bits(2, 2)
            self._text(ref)

    def _needs_ext(self, fields: Mapping[str, FieldValue]) -> bool:
        return _needs_ext(self._specs, fields)

    def _fields(
        self,
        fields: Mapping[str, FieldValue],
        *,
        create: bool,
        ext: bool,
        attrs: Mapping[str, FieldValue] | None = None,
    ) -> None:
        w = self.bits
        attrs = attrs or {}
        codes = [self._specs[name].wire_code for name in fields]
        codes += [OP_ATTR[name].wire_code for name in attrs]
        mask = sum(1 << code for code in codes if code < BASE_FIELD_CODES)
        if create:
            w.flag(mask == _ALL_FIELDS)
        if not create or mask != _ALL_FIELDS:
            w.bits(mask, _FIELD_BITS)
        if ext:
            w.uvar(sum(1 << code for code in codes) >> BASE_FIELD_CODES, C_SMALL)
        todo = [(s.wire_code, s, fields[s.name]) for s in self._wire_fields if s.name in fields]
        todo += [(OP_ATTR[name].wire_code, OP_ATTR[name], value) for name, value in attrs.items()]
        for _, spec, value in sorted(todo, key=lambda item: item[0]):
            self._field(spec, value, ext)

    def _field(self, spec: FieldSpec, value: FieldValue, ext: bool = False) -> None:
        w = self.bits
        if spec.wire_code >= BASE_FIELD_CODES:
            w.bits(_EXT_TAGS[spec.coding], 2)  # ValueError: an extension field's coding
        if spec.coding == "enum":
            assert spec.choices is not None
            if spec.wire_code >= BASE_FIELD_CODES:  # stepped over by readers in 2-bit groups
                w.uvar(spec.choices[_key(value)], _EXT_ENUM_GROUP)
            elif ext:  # an extended op: codes as varints, so a 17th category fits
                w.uvar(spec.choices[_key(value)], spec.width)
            else:
                w.bits(spec.choices[_key(value)], spec.width)
        elif spec.coding == "count":
            w.flag(value is not None)
            if isinstance(value, int):
                w.uvar(value - 1, C_SMALL)
        elif spec.coding == "flag":
            w.flag(bool(value))
        elif spec.coding == "area":
            assert isinstance(value, str)
            if not value:
                w.bits(0, 2)
            elif value in self._table:
                w.bits(3, 2)
                w.bits(self._table[value], _table_width(len(self._table)))
                self.table_used = True
            elif value in self._areas:
                w.bits(2, 2)
                w.uvar(self._areas[value], C_INDEX)
            else:
                w.bits(1, 2)
                self._areas[value] = len(self._areas)
                self._text(value)
        elif spec.coding == "language":
            assert isinstance(value, str)
            if value in LANGUAGE_CODES:
                w.bits(LANGUAGE_CODES[value], 3)
            else:
                w.bits(LANGUAGE_AS_TEXT, 3)
                self._text(value)
        elif spec.coding == "phone":
            assert isinstance(value, str)
            if not value:
                w.bits(0, 2)
            elif phone_packable(value):
                plus, symbols = phone_symbols(value)
                w.bits(1, 2)
                w.flag(plus)
                w.uvar(len(symbols), C_PHONE_COMPACT if self.compact else C_SMALL)
                for symbol in symbols:
                    w.bits(symbol, 4)
            else:
                w.bits(2, 2)
                self._text(value)
        else:  # plain text: note, contact_name, contact_location
            assert isinstance(value, str)
            self._opt_text(value)


def _key(value: FieldValue) -> str:
    return "" if value is None else str(value)


def _needs_ext(specs: Mapping[str, FieldSpec], fields: Mapping[str, FieldValue]) -> bool:
    for name, value in fields.items():
        spec = specs[name]
        if spec.wire_code >= BASE_FIELD_CODES:
            return True
        if spec.choices is not None and spec.choices[_key(value)] >= 1 << spec.width:
            return True
    return False


def op_version(op: Op, fields: tuple[FieldSpec, ...] = FIELDS) -> int:
    """The lowest wire version that can carry ``op`` (3 with a causal counter, 2 for an
    extended op, else 1)."""
    if op.causal:
        return CAUSAL_VERSION
    body = op.body
    if op_attrs(op):
        return 2
    if not isinstance(body, Create | Update):
        return 1
    specs = _SPECS if fields is FIELDS else {spec.name: spec for spec in fields}
    return 2 if _needs_ext(specs, body.fields) else 1


_SPECS = {spec.name: spec for spec in FIELDS}


# --- decoding ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """A text not decoded yet: the index of its bytes in the frame's text stream."""

    index: int
    limit: int


TextSource = Callable[[Slot], str]


class OpsReader:
    """Parses the op part of the bitstream; :meth:`finish` fills in the texts."""

    def __init__(
        self,
        r: BitReader,
        hubs: list[int],
        version: int = 1,
        fields: tuple[FieldSpec, ...] = FIELDS,
        *,
        compact: bool = False,
        table: Sequence[str] = (),
    ) -> None:
        self.version = version
        self.compact = compact
        #: The network's area table, sorted, once the frame said it codes areas by it (and
        #: its check byte matched ours: see :meth:`read_mark`).
        self._table: list[str] = []
        self._own_table = sorted(set(table))
        self._table_is_ours = (
            fields is FIELDS
        )  # a newer table (a simulated newer hub) has newer rules
        self._by_code = {spec.wire_code: spec for spec in fields}
        self._decodings = {s.name: _decoding(s.choices) for s in fields if s.choices is not None}
        self._attr_by_code = {s.wire_code: s for s in OP_ATTRS} if knows_attrs(fields) else {}
        self._attrs: dict[str, Any] = {}  # the op attributes of the op being read
        #: Ops of a newer vocabulary than ours (origin, seq, reason), left out of :meth:`finish`.
        self.skipped: list[tuple[int, int, str]] = []
        self._unknown = False
        self.r = r
        self.hubs = hubs
        self.lengths: list[int] = []
        self._areas: list[Slot] = []
        self._prev_origin = 0
        self._prev_seq: dict[int, int] = {}
        self._prev_ms = 0
        self._pending: list[tuple[int, int, int, int, int, dict[str, Any]]] = []

    def read_mark(self) -> None:
        """The compact layout's table mark: a frame coding areas by a table other than ours
        is refused (``areas``), not read with wrong areas."""
        if not self.compact or not self.r.flag():
            return
        check = self.r.bits(8)
        if not self._own_table or check != table_check(self._own_table):
            raise BodyError(
                "areas",
                "the frame codes areas by another network area table than this hub's "
                f"({len(self._own_table)} areas): is network.json the same on every hub?",
            )
        self._table = self._own_table

    def _hub(self, index: int) -> int:
        if index >= len(self.hubs):
            raise BodyError("bad_op", f"hub index {index} beyond the frame's {len(self.hubs)}")
        return self.hubs[index]

    def _enum(self, table: Mapping[int, str], width: int, what: str) -> str:
        code = self.r.bits(width)
        if code not in table:
            raise BodyError("bad_enum", f"unknown {what} code {code}")
        return table[code]

    def _text(self, limit: int) -> Slot:
        size = self.r.uvar(C_LEN_COMPACT if self.compact else C_LEN) + 1
        if size > 4 * limit:
            raise BodyError("bad_text", f"a text of {size} bytes where {limit} characters fit")
        self.lengths.append(size)
        return Slot(len(self.lengths) - 1, limit)

    def _opt_text(self, limit: int) -> Slot | str:
        return self._text(limit) if self.r.flag() else ""

    def read(self) -> None:
        r = self.r
        op_type = r.bits(3)
        causal = 0
        if op_type == CAUSAL and self.version >= CAUSAL_VERSION:
            causal = r.uvar(C_SMALL) + 1
            op_type = r.bits(3)
            if causal > CAUSAL_MAX:
                raise BodyError("bad_op", "causal counter out of range")
        ext = op_type in (CREATE_EXT, UPDATE_EXT) and self.version >= 2
        if ext:
            op_type = CREATE if op_type == CREATE_EXT else UPDATE
        if op_type > REDACT:
            raise BodyError("bad_enum", f"unknown op type {op_type}")
        self._unknown = False
        self._attrs = {}
        if not r.flag():
            self._prev_origin = r.uvar(C_INDEX)
        origin = self._hub(self._prev_origin)
        if origin == 0:
            raise BodyError("bad_op", "an op from hub 0")
        seq = self._prev_seq.get(origin, 0) + 1 + (0 if r.flag() else r.svar(C_STEP))
        if not 1 <= seq < 1 << 64:
            raise BodyError("bad_op", f"op seq {seq} out of range")
        self._prev_seq[origin] = seq
        time = r.sized() if self.compact else r.uvar(C_TIME)
        ms = self._prev_ms + unzigzag(time >> 1)
        counter = r.uvar(C_STEP) + 1 if time & 1 else 0
        if not 0 <= ms < 1 << 48 or counter > 0xFFFF:
            raise BodyError("bad_op", "op clock out of range")
        self._prev_ms = ms
        args: dict[str, Any] = {}
        if op_type == MATCH:
            args["need"] = self._record(origin, seq)
            args["offer"] = self._record(origin, seq)
            args["need_epoch"] = r.uvar(C_INDEX)
            args["offer_epoch"] = r.uvar(C_INDEX)
            args["message"] = self._opt_text(MESSAGE_MAX)
        else:
            own = r.flag()
            args["record"] = RecordId(origin, seq) if own else self._record(origin, seq)
        if op_type == CREATE:
            args["kind"] = Kind(self._enum(_KIND_OF, 2, "kind"))
            if self.compact and r.flag():
                args["status"] = Status.OPEN
            else:
                args["status"] = Status(self._enum(_STATUS_OF, 2, "status"))
            args["created_at"] = ms if self.compact and r.flag() else ms + r.svar(C_STEP)
            args["ref"] = self._ref_code()
            args["status_message"] = self._opt_text(MESSAGE_MAX)
            args["fields"] = self._fields(create=True, ext=ext)
        elif op_type == UPDATE:
            args["fields"] = self._fields(create=False, ext=ext)
        elif op_type == STATUS:
            args["status"] = Status(self._enum(_STATUS_OF, 2, "status"))
            args["epoch"] = r.uvar(C_INDEX)
            args["message"] = self._opt_text(MESSAGE_MAX)
        if self._unknown:
            self.skipped.append((origin, seq, "newer"))
            return
        attrs = self._attrs
        if "op" in attrs:
            if op_type != UPDATE:
                raise BodyError("bad_op", "op attributes on an op that is not an update")
            try:
                op_type, args = self._attr_op(args, attrs)
            except (TypeError, ValueError, KeyError) as exc:  # an attribute of the wrong kind
                raise BodyError(
                    "bad_op", f"a {attrs['op']} op with bad attributes: {exc}"
                ) from None
        elif set(attrs) - {"actor"}:
            raise BodyError("bad_op", f"op attributes {sorted(attrs)} without an op")
        args["__actor"] = attrs.get("actor", "")
        self._pending.append((op_type, origin, seq, ms << 16 | counter, causal, args))

    def _attr_op(self, args: dict[str, Any], attrs: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """An op beyond today's vocabulary, from an extended update's attributes."""
        if args.get("fields"):
            raise BodyError("bad_op", "an extended op with record fields")
        name = attrs["op"]
        record: RecordId = args["record"]
        other: RecordId | None = None
        if "other_hub" in attrs or "other_seq" in attrs:
            if "other_seq" not in attrs or "other_hub" not in attrs:
                raise BodyError("bad_op", f"a {name} op with half its second record")
            other = RecordId(self._hub(attrs["other_hub"] - 1), attrs["other_seq"])
        needs_other = name in ("match", "merge", "link")
        if needs_other != (other is not None):
            raise BodyError("bad_op", f"a {name} op with the wrong number of records")
        epoch, other_epoch = attrs.get("epoch") or 0, attrs.get("other_epoch") or 0
        message = attrs.get("message", "")
        out: dict[str, Any]
        if name == "status":
            if "status" not in attrs:
                raise BodyError("bad_op", "a status op without its status")
            out = {"record": record, "status": Status(attrs["status"]), "epoch": epoch,
                   "message": message}  # fmt: skip
        elif name == "match":
            unit = attrs.get("quantity_unit")
            out = {"need": record, "offer": other, "need_epoch": epoch, "offer_epoch": other_epoch,
                   "message": message, "quantity": attrs.get("quantity"),
                   "quantity_unit": QuantityUnit(unit) if unit else None}  # fmt: skip
        elif name == "merge":
            out = {"record": record, "duplicate": other, "epoch": other_epoch}
        elif name == "link":
            out = {"need": record, "offer": other}
        else:
            if "needed" not in attrs:
                raise BodyError("bad_op", "a confirm op without its answer")
            out = {"record": record, "needed": attrs["needed"], "epoch": epoch}
        return _EXT_TYPES[name], out

    def _record(self, origin: int, seq: int) -> RecordId:
        if self.r.flag():
            hub, rseq = origin, seq - self.r.svar(C_STEP + 1)
        else:
            hub = self._hub(self.r.uvar(C_INDEX))
            rseq = self.r.uvar(C_SEQ) + 1
        if not 1 <= rseq <= RECORD_SEQ_MAX:
            raise BodyError("bad_op", f"record seq {rseq} out of range")
        return RecordId(hub, rseq)

    def _ref_code(self) -> Slot | str:
        if self.compact:
            mode = 1 if self.r.flag() else (2 if self.r.flag() else 0)
        else:
            mode = self.r.bits(2)
        if mode == 0:
            return ""
        if mode == 1:
            return format_code(self.r.bits(30))
        if mode == 2:
            return self._text(REF_MAX)
        raise BodyError("bad_enum", "unknown reference code mode 3")

    def _fields(self, *, create: bool, ext: bool) -> dict[str, Any]:
        r = self.r
        mask = _ALL_FIELDS if create and r.flag() else r.bits(_FIELD_BITS)
        if ext:
            mask |= r.uvar(C_SMALL) << BASE_FIELD_CODES
        out: dict[str, Any] = {}
        for code in range(mask.bit_length()):
            if mask >> code & 1:
                attr = self._attr_by_code.get(code)
                if attr is not None:
                    self._attrs[attr.name] = self._ext_field(attr, _ATTR_DECODINGS)
                    continue
                spec = self._by_code.get(code)
                if code >= BASE_FIELD_CODES:
                    value = self._ext_field(spec)
                else:
                    assert spec is not None  # every code of today's mask is a field
                    value = self._field(spec, ext)
                if spec is not None:
                    out[spec.name] = value
        return out

    def _ext_field(
        self, spec: FieldSpec | None, decodings: Mapping[str, Mapping[int, str]] | None = None
    ) -> Any:
        """An extension field: its 2-bit coding, then its value; unknown ones are stepped over."""
        r = self.r
        tag = r.bits(2)
        coding = {code: name for name, code in _EXT_TAGS.items()}[tag]
        if spec is None or spec.coding != coding:
            self._unknown = True
        if coding == "count":
            return r.uvar(C_SMALL) + 1 if r.flag() else None
        if coding == "flag":
            return r.flag()
        if coding == "text":
            return self._opt_text(spec.limit if spec else MESSAGE_MAX)
        code = r.uvar(_EXT_ENUM_GROUP)
        decodings = self._decodings if decodings is None else decodings
        if spec is None or spec.name not in decodings:
            return None
        return self._code(spec, code, decodings)

    def _code(
        self, spec: FieldSpec, code: int, decodings: Mapping[str, Mapping[int, str]] | None = None
    ) -> Any:
        table = (self._decodings if decodings is None else decodings)[spec.name]
        if code not in table:
            self._unknown = True  # a value from a newer hub: this op is left out, not the frame
            return None
        return None if table[code] == "" else table[code]

    def _field(self, spec: FieldSpec, ext: bool = False) -> Any:
        r = self.r
        if spec.coding == "enum":
            if ext:
                return self._code(spec, r.uvar(spec.width))
            value = self._enum(self._decodings[spec.name], spec.width, spec.name.replace("_", " "))
            return None if value == "" else value
        if spec.coding == "count":
            return r.uvar(C_SMALL) + 1 if r.flag() else None
        if spec.coding == "flag":
            return r.flag()
        if spec.coding == "area":
            mode = r.bits(2)
            if mode == 0:
                return ""
            if mode == 1:
                self._areas.append(self._text(spec.limit))
                return self._areas[-1]
            if mode == 3 and self._table:
                index = r.bits(_table_width(len(self._table)))
                if index >= len(self._table):
                    raise BodyError("bad_enum", f"area {index} beyond the network's table")
                return self._table[index]
            index = r.uvar(C_INDEX)
            if mode == 3 or index >= len(self._areas):
                raise BodyError("bad_enum", "unknown area mode or repeat")
            return self._areas[index]
        if spec.coding == "language":
            code = r.bits(3)
            if code == LANGUAGE_AS_TEXT:
                return self._text(spec.limit)
            if code not in _LANGUAGE_OF:
                raise BodyError("bad_enum", f"unknown language code {code}")
            return _LANGUAGE_OF[code]
        if spec.coding == "phone":
            mode = r.bits(2)
            if mode == 1:
                plus = r.flag()
                count = r.uvar(C_PHONE_COMPACT if self.compact else C_SMALL)
                if count > spec.limit:
                    raise BodyError("bad_text", "a phone number longer than 32 characters")
                return phone_text(plus, [r.bits(4) for _ in range(count)])
            if mode == 2:
                return self._text(spec.limit)
            if mode == 3:
                raise BodyError("bad_enum", "unknown phone mode 3")
            return ""
        return self._opt_text(spec.limit)

    def finish(self, texts: list[str]) -> list[Op]:
        """The ops, with texts filled in and every rule of :func:`op_from_json` checked."""

        def fill(value: Any) -> Any:
            if isinstance(value, Slot):
                text = texts[value.index]
                if len(text) > value.limit:
                    raise BodyError("bad_text", f"a text longer than {value.limit} characters")
                return text
            if isinstance(value, dict):
                return {k: fill(v) for k, v in value.items()}
            return value

        out = []
        classes: dict[int, Callable[..., Any]] = {
            CREATE: Create,
            UPDATE: Update,
            STATUS: SetStatus,
            MATCH: Match,
            REDACT: Redact,
            _EXT_TYPES["merge"]: Merge,
            _EXT_TYPES["link"]: Link,
            _EXT_TYPES["confirm"]: Confirm,
        }
        for op_type, origin, seq, hlc, causal, args in self._pending:
            filled = fill(args)
            actor = filled.pop("__actor")
            op = Op(origin, seq, hlc, classes[op_type](**filled), causal, actor)
            if not self._table_is_ours:
                out.append(op)
                continue
            try:
                checked = op_from_json(op_to_json(op))
            except InvalidOp as exc:
                raise BodyError("bad_op", str(exc)) from None
            out.append(checked)
        return out
