"""The record's fields, declared once (pure core), and every wire code, pinned.

:data:`FIELDS` is the one table of a record's plain (last-writer-wins) fields: name, type,
limits, whether it is private (travels only with the resident's consent) or redactable, its
wire code (its bit in the codec's field mask), the coding the codec uses for it, its JSON/CSV
name and whether its text may span lines. Validation (:func:`fieldkit.core.records.parse_draft`),
the op vocabulary (:data:`fieldkit.core.ops.PLAIN_FIELDS`, ``check_fields``, ``draft_fields``),
the fold's :class:`~fieldkit.core.fold.Record`, the public JSON/CSV form, the codec's field
loop and the intake form all walk it.

Wire codes are literal mappings, never positions: reordering an enum's members or this table
changes no byte on air. A code, once given, is never reused; ``tests/core/test_fields.py``
pins every table below to its literal value, and ``tests/wire/test_golden.py`` the bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Kind(StrEnum):
    NEED = "need"
    OFFER = "offer"
    NOTICE = "notice"


class Category(StrEnum):
    WATER = "water"
    FOOD = "food"
    MEDICATION = "medication"
    MEDICAL_SUPPLIES = "medical_supplies"
    HEALTHCARE = "healthcare"
    SHELTER = "shelter"
    POWER_FUEL = "power_fuel"
    TRANSPORT = "transport"
    CHILDCARE = "childcare"
    ELDER_DISABILITY_CARE = "elder_disability_care"
    HYGIENE = "hygiene"
    CLOTHING_BEDDING = "clothing_bedding"
    REPAIR_CLEANUP = "repair_cleanup"
    SKILLS = "skills"
    INFORMATION = "information"
    OTHER = "other"


class Urgency(StrEnum):
    """Most urgent first; the order is the order of service."""

    CRITICAL = "critical"
    TODAY = "today"
    THIS_WEEK = "this_week"
    FLEXIBLE = "flexible"


class QuantityUnit(StrEnum):
    PEOPLE = "people"
    UNITS = "units"


class Status(StrEnum):
    OPEN = "open"
    MATCHED = "matched"
    CANCELLED = "cancelled"
    FULFILLED = "fulfilled"


NOTE_MAX = 280
AREA_MAX = 60
NAME_MAX = 80
PHONE_MAX = 32
LOCATION_MAX = 140
LANGUAGE_MAX = 16
QUANTITY_MAX = 100_000
#: A notice's expiry: a Unix time in milliseconds, like ``created_at``.
EXPIRES_MAX = (1 << 48) - 1

# --- wire codes: the one place they are declared --------------------------------------------
# A code is what a hub on any version reads; add new values with new codes, never renumber.

KIND_CODES: Mapping[str, int] = {"need": 0, "offer": 1, "notice": 2}
CATEGORY_CODES: Mapping[str, int] = {
    "water": 0, "food": 1, "medication": 2, "medical_supplies": 3, "healthcare": 4,
    "shelter": 5, "power_fuel": 6, "transport": 7, "childcare": 8, "elder_disability_care": 9,
    "hygiene": 10, "clothing_bedding": 11, "repair_cleanup": 12, "skills": 13,
    "information": 14, "other": 15,
}  # fmt: skip
URGENCY_CODES: Mapping[str, int] = {"critical": 0, "today": 1, "this_week": 2, "flexible": 3}
#: "" is the absent unit (a record without a quantity).
UNIT_CODES: Mapping[str, int] = {"": 0, "people": 1, "units": 2}
STATUS_CODES: Mapping[str, int] = {"open": 0, "matched": 1, "cancelled": 2, "fulfilled": 3}
#: Op types by their JSON name; "create_ext"/"update_ext" carry codes beyond today's widths;
#: "causal" prefixes an op with its causal counter (wire version 3).
OP_CODES: Mapping[str, int] = {
    "create": 0, "update": 1, "status": 2, "match": 3, "redact": 4,
    "create_ext": 5, "update_ext": 6, "causal": 7,
}  # fmt: skip
#: Ops beyond the 3-bit op type, by their JSON name: each travels as an extended update
#: ("update_ext") whose ``op`` attribute (:data:`OP_ATTRS`) holds this code, so a hub of an
#: earlier release steps over it (reason ``newer``). "status" and "match" here are those ops
#: with an attribute today's forms cannot carry (the coordinator's name, a match's quantity).
EXT_OP_CODES: Mapping[str, int] = {
    "status": 0, "match": 1, "merge": 2, "link": 3, "confirm": 4,
}  # fmt: skip
#: Languages coded in the 3-bit slot; 0 is empty, 1 is "other, as text".
LANGUAGE_CODES: Mapping[str, int] = {
    "": 0, "en": 2, "es": 3, "ht": 4, "vi": 5, "zh": 6, "ar": 7,
}  # fmt: skip
LANGUAGE_AS_TEXT = 1

FieldType = Literal["enum", "text", "int", "bool"]
EnumType = type[StrEnum]
#: How the codec writes a value: an enum code, an optional count, a flag, or text (plain,
#: an area that may repeat an earlier one, a language from its table, a phone in symbols).
Coding = Literal["enum", "count", "flag", "text", "area", "language", "phone"]


@dataclass(frozen=True)
class FieldSpec:
    """One plain field of a record."""

    name: str
    type: FieldType
    wire_code: int  # its bit in the codec's field mask
    coding: Coding
    limit: int = 0  # text: characters; int: largest value (the smallest is 1)
    choices: Mapping[str, int] | None = None  # enum: value -> wire code
    width: int = 0  # enum: bits of its code on the wire
    optional: bool = False  # may be None (no quantity, no unit)
    private: bool = False  # contact details: leave the hub only with consent
    redacted: bool = False  # erased by a redaction (private ones, and the free-text note)
    multiline: bool = False
    required: bool = False  # text that may not be empty
    draft: str = ""  # attribute path in Draft/Record, when not ``name``
    enum: EnumType | None = None  # enum: the Python type of its values
    default: str = ""  # text: what an absent value reads as
    local: bool = False  # never leaves this hub (radio, HTTP, bundle): stripped at every exit

    @property
    def attr(self) -> str:
        return self.draft or self.name

    @property
    def json_path(self) -> tuple[str, ...]:
        """Where it sits in the public JSON object: ``contact.name`` nests."""
        return tuple(self.attr.split("."))

    @property
    def csv(self) -> str:
        return self.name


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("category", "enum", 0, "enum", choices=CATEGORY_CODES, width=4, enum=Category),
    FieldSpec("urgency", "enum", 1, "enum", choices=URGENCY_CODES, width=2, enum=Urgency),
    FieldSpec("quantity", "int", 2, "count", QUANTITY_MAX, optional=True),
    FieldSpec("quantity_unit", "enum", 3, "enum", choices=UNIT_CODES, width=2, optional=True,
              enum=QuantityUnit),
    FieldSpec("area", "text", 4, "area", AREA_MAX, required=True),
    FieldSpec("note", "text", 5, "text", NOTE_MAX, redacted=True, multiline=True),
    FieldSpec("language", "text", 6, "language", LANGUAGE_MAX, default="en"),
    FieldSpec("share_contact", "bool", 7, "flag"),
    FieldSpec("contact_name", "text", 8, "text", NAME_MAX, private=True, redacted=True,
              draft="contact.name"),
    FieldSpec("contact_phone", "text", 9, "phone", PHONE_MAX, private=True, redacted=True,
              draft="contact.phone"),
    FieldSpec("contact_location", "text", 10, "text", LOCATION_MAX, private=True, redacted=True,
              multiline=True, draft="contact.location"),
    # a notice's expiry (ms); a notice is withdrawn by its ``cancelled`` status
    FieldSpec("expires", "int", 11, "count", EXPIRES_MAX, optional=True),
    # the note, when the resident keeps it at this hub only: never leaves the hub
    FieldSpec("local_note", "text", 12, "text", NOTE_MAX, private=True, redacted=True,
              multiline=True, local=True),
)  # fmt: skip
FIELD: Mapping[str, FieldSpec] = {spec.name: spec for spec in FIELDS}
#: The consent flag: withdrawn (False) whenever private fields are blanked.
CONSENT_FIELD = "share_contact"
#: Field codes below this fit today's field mask; higher ones need an extended op.
BASE_FIELD_CODES = 11
#: Fields that never leave this hub.
LOCAL_FIELDS: frozenset[str] = frozenset(spec.name for spec in FIELDS if spec.local)

#: An op's attributes beyond its record's fields, as they travel in an extended op: each has
#: a wire code in the same mask as the fields' extension codes (so they never share one), and
#: a coding any reader can step over. ``other_hub`` is an index into the frame's hub table.
OP_ATTRS: tuple[FieldSpec, ...] = (
    FieldSpec("op", "enum", 16, "enum", choices=EXT_OP_CODES, width=3),
    FieldSpec("actor", "text", 17, "text", NAME_MAX),
    FieldSpec("status", "enum", 18, "enum", choices=STATUS_CODES, width=2),
    FieldSpec("epoch", "int", 19, "count", 0xFFFF, optional=True),
    FieldSpec("message", "text", 20, "text", 200),
    FieldSpec("other_hub", "int", 21, "count", 1 << 16),
    FieldSpec("other_seq", "int", 22, "count", 10**12 - 1),
    FieldSpec("other_epoch", "int", 23, "count", 0xFFFF, optional=True),
    FieldSpec("quantity", "int", 24, "count", QUANTITY_MAX, optional=True),
    FieldSpec("quantity_unit", "enum", 25, "enum", choices=UNIT_CODES, width=2, optional=True),
    FieldSpec("needed", "bool", 26, "flag"),
)  # fmt: skip
OP_ATTR: Mapping[str, FieldSpec] = {spec.name: spec for spec in OP_ATTRS}


FieldValue = str | int | bool | None


def typed_value(spec: FieldSpec, value: FieldValue) -> object:
    """A stored field value as the Draft/Record attribute holds it (an enum member, …)."""
    if spec.type == "enum":
        assert spec.enum is not None
        if (value is None or value == "") and spec.optional:
            return None
        return spec.enum(str(value))
    if spec.type == "int":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if spec.type == "bool":
        return bool(value)
    return str(value or spec.default)


def json_value(value: object) -> FieldValue:
    """A Draft/Record attribute as its JSON (and op) value."""
    if isinstance(value, StrEnum):
        return value.value
    assert value is None or isinstance(value, str | int | bool)
    return value
