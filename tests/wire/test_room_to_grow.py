"""Room to grow: a newer hub's 17th category or new field, without breaking older frames.

A Create/Update whose codes do not fit today's slots goes out as an *extended* op (op types
``create_ext``/``update_ext``) in a version 2 frame: enum codes as varints, and fields beyond
the 11-bit mask as a varint mask, each with its own 2-bit coding so any reader can step over
it. Everything else stays version 1, byte for byte.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from fieldkit.core.fields import CATEGORY_CODES, FIELD, FIELDS, FieldSpec
from fieldkit.core.ops import Create, Op, RecordId
from fieldkit.core.records import Kind
from fieldkit.wire.frame import REASONS, DecodeError, decode_envelope, encode_envelope, seal
from fieldkit.wire.messages import Envelope, Ops
from tests.golden_frames import CASES, GOLDEN, KEY, layout

HUB = 0x3FA9C2D1
MS = 1_763_448_000_000
NEWER: tuple[FieldSpec, ...] = (
    *(replace(s, choices={**CATEGORY_CODES, "pets": 16}) if s.name == "category" else s
      for s in FIELDS),
    FieldSpec("animals", "int", 40, "count", 50, optional=True),  # beyond every code in use
)  # fmt: skip
BASE = {"category": "water", "urgency": "today", "area": "riverside", "language": "en"}


def create(seq: int, **fields: object) -> Op:
    return Op(HUB, seq, (MS + seq) << 16, Create(RecordId(HUB, seq), Kind.NEED, MS, BASE | fields))  # type: ignore[arg-type]


def newer_frame(*ops: Op, version: int = 2) -> bytes:
    return encode_envelope(KEY, Envelope(HUB, 5, Ops(ops)), version, NEWER)


def test_a_newer_table_writes_every_golden_frame_byte_for_byte() -> None:
    for name, env in CASES.items():
        expected = (GOLDEN / f"{name}.hex").read_text(encoding="ascii").strip()
        version, areas = layout(name)
        assert encode_envelope(KEY, env, version, NEWER, areas).hex() == expected, name


def test_todays_records_stay_in_version_1_frames() -> None:
    assert newer_frame(create(1), create(2, quantity=3))[0] == 1


@pytest.mark.parametrize("extra", [{"category": "pets"}, {"animals": 4}])
def test_a_17th_category_or_a_new_field_goes_out_in_a_version_2_frame(
    extra: dict[str, object],
) -> None:
    assert newer_frame(create(1, **extra))[0] == 2


@pytest.mark.parametrize("extra", [{"category": "pets"}, {"animals": 4}])
def test_todays_reader_skips_just_the_newer_op_and_names_it(extra: dict[str, object]) -> None:
    ops = (create(1), create(2, **extra), create(3, note="agua"))
    message = decode_envelope(KEY, newer_frame(*ops)).message
    assert isinstance(message, Ops)
    assert list(message.ops) == [ops[0], ops[2]]
    assert list(message.skipped) == [(HUB, 2, "newer")]
    assert "newer" in REASONS


def test_an_extended_op_is_refused_toward_a_neighbour_that_reads_version_1() -> None:
    with pytest.raises(ValueError, match="version 2"):
        newer_frame(create(1, category="pets"), version=1)


def test_an_extended_op_type_inside_a_version_1_frame_is_a_bad_enum() -> None:
    data = newer_frame(create(1, category="pets"))
    with pytest.raises(DecodeError) as info:
        decode_envelope(KEY, seal(KEY, b"\x01" + data[1:-8]))
    assert info.value.reason == "bad_enum"


def test_the_category_slot_is_full_today_so_growth_needs_the_extension() -> None:
    spec = FIELD["category"]
    assert spec.choices is not None
    assert len(spec.choices) == 1 << spec.width
