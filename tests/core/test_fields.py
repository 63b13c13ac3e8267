"""The field table: every field declared once, every wire code pinned, every layer agrees."""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from typing import Any

import pytest

from fieldkit.core import fields as table
from fieldkit.core.fields import FIELDS, Category, Kind, QuantityUnit, Status, Urgency
from fieldkit.core.fold import fold
from fieldkit.core.interchange import CSV_COLUMNS, flatten, to_public
from fieldkit.core.ops import (
    PLAIN_FIELDS,
    PRIVATE_FIELDS,
    Create,
    Op,
    RecordId,
    draft_fields,
    op_from_json,
    op_to_json,
)
from fieldkit.core.records import parse_draft
from fieldkit.wire.frame import decode_envelope, encode_envelope
from fieldkit.wire.messages import Envelope, Ops

#: The codes on air. Changing any of these breaks every hub running an older version.
PINNED: dict[str, dict[str, int]] = {
    "KIND_CODES": {"need": 0, "offer": 1, "notice": 2},
    "CATEGORY_CODES": {
        "water": 0, "food": 1, "medication": 2, "medical_supplies": 3, "healthcare": 4,
        "shelter": 5, "power_fuel": 6, "transport": 7, "childcare": 8,
        "elder_disability_care": 9, "hygiene": 10, "clothing_bedding": 11,
        "repair_cleanup": 12, "skills": 13, "information": 14, "other": 15,
    },
    "URGENCY_CODES": {"critical": 0, "today": 1, "this_week": 2, "flexible": 3},
    "UNIT_CODES": {"": 0, "people": 1, "units": 2},
    "STATUS_CODES": {"open": 0, "matched": 1, "cancelled": 2, "fulfilled": 3},
    "OP_CODES": {
        "create": 0, "update": 1, "status": 2, "match": 3, "redact": 4,
        "create_ext": 5, "update_ext": 6, "causal": 7,
    },
    "EXT_OP_CODES": {"status": 0, "match": 1, "merge": 2, "link": 3, "confirm": 4},
    "LANGUAGE_CODES": {"": 0, "en": 2, "es": 3, "ht": 4, "vi": 5, "zh": 6, "ar": 7},
}  # fmt: skip
PINNED_FIELD_CODES = {
    "category": 0, "urgency": 1, "quantity": 2, "quantity_unit": 3, "area": 4, "note": 5,
    "language": 6, "share_contact": 7, "contact_name": 8, "contact_phone": 9,
    "contact_location": 10, "expires": 11, "local_note": 12,
}  # fmt: skip
PINNED_OP_ATTR_CODES = {
    "op": 16, "actor": 17, "status": 18, "epoch": 19, "message": 20, "other_hub": 21,
    "other_seq": 22, "other_epoch": 23, "quantity": 24, "quantity_unit": 25, "needed": 26,
}  # fmt: skip
ENUM_TABLES: dict[str, type[StrEnum]] = {
    "KIND_CODES": Kind,
    "CATEGORY_CODES": Category,
    "URGENCY_CODES": Urgency,
    "UNIT_CODES": QuantityUnit,
    "STATUS_CODES": Status,
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_every_wire_code_table_equals_its_pinned_literal(name: str) -> None:
    assert dict(getattr(table, name)) == PINNED[name]


def test_every_field_has_its_pinned_wire_code() -> None:
    assert {spec.name: spec.wire_code for spec in FIELDS} == PINNED_FIELD_CODES


@pytest.mark.parametrize("name", sorted(PINNED))
def test_wire_codes_are_unique_within_each_table(name: str) -> None:
    codes = list(getattr(table, name).values())
    assert len(set(codes)) == len(codes)


def test_every_op_attribute_has_its_pinned_wire_code() -> None:
    assert {spec.name: spec.wire_code for spec in table.OP_ATTRS} == PINNED_OP_ATTR_CODES


def test_field_and_op_attribute_codes_never_share_a_bit_of_the_mask() -> None:
    codes = [spec.wire_code for spec in (*FIELDS, *table.OP_ATTRS)]
    assert len(set(codes)) == len(codes)


def test_fields_before_this_release_fit_todays_mask_and_new_ones_are_extensions() -> None:
    old = [spec for spec in FIELDS if spec.name not in ("expires", "local_note")]
    assert max(spec.wire_code for spec in old) < table.BASE_FIELD_CODES
    assert table.FIELD["expires"].wire_code >= table.BASE_FIELD_CODES
    assert table.FIELD["local_note"].wire_code >= table.BASE_FIELD_CODES


def test_extension_codings_are_ones_every_reader_can_step_over() -> None:
    for spec in (*FIELDS, *table.OP_ATTRS):
        if spec.wire_code >= table.BASE_FIELD_CODES:
            assert spec.coding in ("count", "flag", "text", "enum"), spec.name


def test_the_note_kept_at_this_hub_is_the_only_local_field() -> None:
    assert {"local_note"} == table.LOCAL_FIELDS


@pytest.mark.parametrize("name", sorted(ENUM_TABLES))
def test_every_enum_value_has_a_wire_code(name: str) -> None:
    assert {m.value for m in ENUM_TABLES[name]} <= set(getattr(table, name))


@pytest.mark.parametrize("name", sorted(ENUM_TABLES))
def test_reordering_an_enum_does_not_change_its_wire_codes(name: str) -> None:
    enum = ENUM_TABLES[name]
    shuffled = StrEnum(enum.__name__, [(m.name, m.value) for m in reversed(enum)])  # type: ignore[misc]
    codes = getattr(table, name)
    assert [codes[m.value] for m in shuffled] == [codes[m.value] for m in reversed(enum)]
    pinned = {value: code for value, code in PINNED[name].items() if value}  # "" is "absent"
    assert {m.value: codes[m.value] for m in shuffled} == pinned


def test_each_enum_code_fits_its_fields_width() -> None:
    for spec in FIELDS:
        if spec.choices is not None:
            assert max(spec.choices.values()) < 1 << spec.width, spec.name


def test_private_fields_are_the_contact_and_the_local_note_and_are_redacted() -> None:
    assert {"contact_name", "contact_phone", "contact_location", "local_note"} == PRIVATE_FIELDS
    assert all(spec.redacted for spec in FIELDS if spec.private)


# --- one walk through every layer -----------------------------------------------------------

RAW = {
    "kind": "need", "category": "medical_supplies", "urgency": "today", "quantity": "3",
    "quantity_unit": "units", "area": "Vieux-Port", "note": "Bandages, gauze;\nçà et là 💧",
    "language": "ht", "share_contact": "yes", "contact_name": "Zoë Ng",
    "contact_phone": "+509 3412-0000", "contact_location": "Rue 4\nblue gate",
    "expires": "1763500000000", "local_note": "gate code 4412",
}  # fmt: skip
HUB = 0x0BADC0DE
MS = 1_763_448_000_000


def _through_every_layer() -> tuple[dict[str, Any], Any, dict[str, Any], dict[str, str]]:
    draft = parse_draft(RAW)
    values = draft_fields(draft)
    op = Op(HUB, 1, MS << 16, Create(RecordId(HUB, 1), draft.kind, MS, values, "7KQ-4XD"))
    op = op_from_json(json.loads(json.dumps(op_to_json(op))))
    key = b"field table test key"
    decoded = decode_envelope(key, encode_envelope(key, Envelope(HUB, 1, Ops((op,)))))
    (back,) = decoded.message.ops  # type: ignore[union-attr]
    assert back == op
    record = fold([back])[RecordId(HUB, 1)].view()
    public = to_public(record)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS)
    writer.writeheader()
    writer.writerow(flatten(public))
    (row,) = csv.DictReader(io.StringIO(buffer.getvalue()))
    return values, record, public, row


EXPORTED = [spec for spec in FIELDS if not spec.local]


@pytest.mark.parametrize("spec", EXPORTED, ids=[spec.name for spec in EXPORTED])
def test_every_field_survives_draft_op_json_frame_fold_and_interchange(spec: Any) -> None:
    values, record, public, row = _through_every_layer()
    expected = values[spec.name]
    assert expected not in (None, "", False), "the walk must exercise a non-default value"
    value: Any = record
    for part in spec.json_path:
        value = getattr(value, part)
    assert (value.value if isinstance(value, StrEnum) else value) == expected
    node: Any = public
    for part in spec.json_path:
        node = node[part]
    assert node == expected
    assert row[spec.csv] == (str(expected).lower() if isinstance(expected, bool) else str(expected))


def test_a_local_field_survives_to_the_record_but_is_never_written_to_a_file() -> None:
    _, record, public, row = _through_every_layer()
    assert record.local_note == RAW["local_note"]
    assert "local_note" not in public
    assert "local_note" not in row


def test_the_walk_covers_every_plain_field() -> None:
    values, *_ = _through_every_layer()
    assert set(values) == set(PLAIN_FIELDS) == {spec.name for spec in FIELDS}
