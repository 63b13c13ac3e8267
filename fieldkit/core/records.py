"""Records and their validation (pure core).

A record is a need, an offer or a notice. :func:`parse_draft` turns untrusted text fields (a
web form, an import line) into a :class:`Draft` or raises :class:`ValidationError` listing
every field error at once, each as data a page can show in the resident's language.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from fieldkit.core.fields import (
    AREA_MAX,
    FIELD,
    LANGUAGE_MAX,
    LOCATION_MAX,
    NAME_MAX,
    NOTE_MAX,
    PHONE_MAX,
    QUANTITY_MAX,
    Category,
    Kind,
    QuantityUnit,
    Status,
    Urgency,
)
from fieldkit.errors import FieldError, ValidationError

__all__ = [
    "AREA_MAX", "LANGUAGE_MAX", "LOCATION_MAX", "NAME_MAX", "NOTE_MAX", "PHONE_MAX",
    "QUANTITY_MAX", "STATUS_MOVES", "STATUS_RANK", "Category", "Contact", "Draft", "Kind",
    "QuantityUnit", "Status", "Urgency", "canonical_area", "clean_text", "parse_bool",
    "parse_draft",
]  # fmt: skip


#: Status lattice rank within one epoch: open < matched < cancelled < fulfilled.
STATUS_RANK: Mapping[Status, int] = {
    Status.OPEN: 0,
    Status.MATCHED: 1,
    Status.CANCELLED: 2,
    Status.FULFILLED: 3,
}

#: What a coordinator may move a record to (the console's buttons, the API's actions, in the
#: order the console shows them), each with the statuses it moves a record on from:
#: fulfilled absorbs everything, so a fulfilled record is never reopened or cancelled.
STATUS_MOVES: Mapping[Status, frozenset[Status]] = {
    Status.FULFILLED: frozenset({Status.OPEN, Status.MATCHED, Status.CANCELLED}),
    Status.CANCELLED: frozenset({Status.OPEN, Status.MATCHED}),
    Status.OPEN: frozenset({Status.MATCHED, Status.CANCELLED}),
}

_PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{3,32}$")
_LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
E = TypeVar("E", bound=StrEnum)

_TRUE = frozenset({"1", "true", "yes", "y", "on", "si", "sí", "wi"})
_FALSE = frozenset({"", "0", "false", "no", "n", "off", "non"})


@dataclass(frozen=True)
class Contact:
    """Private contact details: they stay on the hub unless the resident consents."""

    name: str = ""
    phone: str = ""
    location: str = ""

    def is_empty(self) -> bool:
        return not (self.name or self.phone or self.location)


EMPTY_CONTACT = Contact()


@dataclass(frozen=True)
class Draft:
    """A validated submission, not yet a record (it has no id, clock or status yet)."""

    kind: Kind
    category: Category
    urgency: Urgency
    area: str
    note: str = ""
    quantity: int | None = None
    quantity_unit: QuantityUnit | None = None
    contact: Contact = EMPTY_CONTACT
    share_contact: bool = False
    language: str = "en"
    expires: int | None = None
    local_note: str = ""


# --- normalisation --------------------------------------------------------------------


def clean_text(value: str, *, multiline: bool = False) -> str:
    """NFC-normalise, drop control characters, collapse runs of blanks, strip the ends."""
    value = unicodedata.normalize("NFC", value)
    kept = []
    for ch in value:
        if ch in "\r\n\t" and multiline:
            kept.append("\n" if ch != "\t" else " ")
        elif (
            unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") and ch not in "\u200c\u200d"
        ):
            kept.append(" " if ch in "\r\n\t" else "")
        else:
            kept.append(ch)
    text = "".join(kept)
    if multiline:
        lines = [" ".join(line.split()) for line in text.split("\n")]
        text = "\n".join(lines)
        text = re.sub(r"\n{3,}", "\n\n", text)
        return text.strip()
    return " ".join(text.split())


def parse_bool(value: str) -> bool | None:
    """Checkbox and spreadsheet spellings of yes/no; None when it is neither."""
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    return None


def _choices(enum: type[StrEnum]) -> str:
    return ", ".join(m.value for m in enum)


# --- validation -----------------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, field: str, code: str, message: str, **params: str | int) -> None:
        self.items.append(FieldError(field, code, message, params))


def _enum_field(
    raw: Mapping[str, str], name: str, enum: type[E], errors: _Errors, default: E | None = None
) -> E | None:
    value = raw.get(name, "").strip().lower().replace("-", "_").replace(" ", "_")
    if not value:
        if default is None:
            errors.add(name, "required", "Please choose one.")
        return default
    try:
        return enum(value)
    except ValueError:
        errors.add(
            name,
            "unknown_choice",
            "“%(value)s” is not one of the choices: %(choices)s.",
            value=value[:40],
            choices=_choices(enum),
        )
        return default


def _text_field(raw: Mapping[str, str], name: str, errors: _Errors) -> str:
    spec = FIELD[name]
    limit = spec.limit
    value = clean_text(raw.get(name, ""), multiline=spec.multiline)
    if len(value) > limit:
        errors.add(
            name,
            "too_long",
            "Please keep this to %(max)d characters (it has %(length)d).",
            max=limit,
            length=len(value),
        )
        return value[:limit]
    return value


def canonical_area(value: str, areas: Mapping[str, str]) -> str:
    """Map a typed area onto a configured area id (by id or display name, any case)."""
    folded = value.casefold()
    for area_id, name in areas.items():
        if folded in (area_id.casefold(), name.casefold()):
            return area_id
    return value


def parse_draft(raw: Mapping[str, str], areas: Mapping[str, str] | None = None) -> Draft:
    """Validate untrusted text fields into a :class:`Draft`.

    ``raw`` holds strings keyed by the public field names (``kind``, ``category``,
    ``urgency``, ``quantity``, ``quantity_unit``, ``area``, ``note``, ``contact_name``,
    ``contact_phone``, ``contact_location``, ``share_contact``, ``language``). ``areas`` maps
    configured area ids to display names; an area may also be free text.

    Raises :class:`ValidationError` with every error found, never just the first.
    """
    areas = areas or {}
    errors = _Errors()
    kind = _enum_field(raw, "kind", Kind, errors)
    category = _enum_field(raw, "category", Category, errors)
    urgency_default = None if kind is Kind.NEED else Urgency.FLEXIBLE
    urgency = _enum_field(raw, "urgency", Urgency, errors, default=urgency_default)

    area = _text_field(raw, "area", errors)
    if not area:
        errors.add("area", "required", "Please say which area.")
    area = canonical_area(area, areas)

    note = _text_field(raw, "note", errors)
    local_note = _text_field(raw, "local_note", errors)
    if parse_bool(raw.get("keep_note_here", "")) and note:  # "keep the note at this hub only"
        local_note, note = note, ""

    expires: int | None = None
    expires_text = raw.get("expires", "").strip()
    if expires_text:
        if not expires_text.isdecimal() or not 1 <= int(expires_text) <= FIELD["expires"].limit:
            errors.add("expires", "bad_time", "Please give a date and time for the expiry.")
        else:
            expires = int(expires_text)

    quantity: int | None = None
    quantity_text = raw.get("quantity", "").strip()
    if quantity_text:
        try:
            quantity = int(quantity_text)
        except ValueError:
            errors.add("quantity", "not_a_number", "Please enter a whole number, like 3.")
        else:
            if not 1 <= quantity <= FIELD["quantity"].limit:
                errors.add(
                    "quantity",
                    "out_of_range",
                    "Please enter a number from %(min)d to %(max)d.",
                    min=1,
                    max=FIELD["quantity"].limit,
                )
                quantity = None
    unit: QuantityUnit | None = None
    if raw.get("quantity_unit", "").strip():
        unit = _enum_field(raw, "quantity_unit", QuantityUnit, errors)
    elif quantity is not None:
        unit = QuantityUnit.PEOPLE if kind is Kind.NEED else QuantityUnit.UNITS

    name = _text_field(raw, "contact_name", errors)
    phone = _text_field(raw, "contact_phone", errors)
    if phone and not _PHONE_RE.match(phone):
        errors.add(
            "contact_phone",
            "bad_phone",
            "Please enter a phone number using digits (spaces, + and - are fine).",
        )
    location = _text_field(raw, "contact_location", errors)

    share = parse_bool(raw.get("share_contact", ""))
    if share is None:
        errors.add("share_contact", "not_yes_no", "Please answer yes or no.")
        share = False

    language = raw.get("language", "").strip() or "en"
    if len(language) > FIELD["language"].limit or not _LANGUAGE_RE.match(language):
        errors.add(
            "language",
            "bad_language",
            "Unknown language code “%(value)s”.",
            value=language[: FIELD["language"].limit],
        )
        language = "en"

    if errors.items:
        raise ValidationError(errors.items)
    assert kind is not None
    assert category is not None
    assert urgency is not None
    return Draft(
        kind=kind,
        category=category,
        urgency=urgency,
        area=area,
        note=note,
        quantity=quantity,
        quantity_unit=unit,
        contact=Contact(name=name, phone=phone, location=location),
        share_contact=share,
        language=language,
        expires=expires,
        local_note=local_note,
    )
