"""This release's ops on the wire: each in its extended form, and an earlier release skips it.

The coordinator's name, a match's quantity, a notice's expiry, a merge, "I'd like this" and a
resident's "still needed" travel as extended ops (wire version 2). A hub of the release
before reads the frame, keeps the ops it knows and leaves each new one out, named ``newer``;
ops that need none of it keep their version 1 bytes.
"""

from __future__ import annotations

import pytest

from fieldkit.core.fields import BASE_FIELD_CODES, FIELDS, QuantityUnit
from fieldkit.core.ops import (
    Confirm,
    Create,
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
from fieldkit.core.records import Kind, Status
from fieldkit.errors import InvalidOp
from fieldkit.wire.frame import DecodeError, decode_envelope, encode_envelope
from fieldkit.wire.messages import Envelope, Ops
from fieldkit.wire.ops_body import op_version
from tests.golden_frames import CASES, KEY

HUB, OTHER = 0x3FA9C2D1, 0x0A0B0C0D
MS = 1_763_448_000_000
#: The field table of the release before this one: a simulated older hub.
PREVIOUS: tuple = tuple(spec for spec in FIELDS if spec.wire_code < BASE_FIELD_CODES)
BASE = {"category": "water", "urgency": "today", "area": "riverside", "language": "en"}


def op(seq: int, body: object, actor: str = "") -> Op:
    return Op(HUB, seq, (MS + seq) << 16, body, 0, actor)  # type: ignore[arg-type]


NEW_FORMS = {
    "status by a coordinator": op(2, SetStatus(RecordId(HUB, 1), Status.FULFILLED), "Ana"),
    "match by a coordinator": op(2, Match(RecordId(HUB, 1), RecordId(OTHER, 4)), "Ana"),
    "partial match": op(
        2, Match(RecordId(HUB, 1), RecordId(OTHER, 4), 0, 0, "", 10, QuantityUnit.UNITS)
    ),
    "notice with an expiry": op(
        2, Create(RecordId(HUB, 2), Kind.NOTICE, MS, BASE | {"expires": MS + 3_600_000})
    ),
    "notice by a coordinator": op(2, Create(RecordId(HUB, 2), Kind.NOTICE, MS, BASE), "Ana"),
    "notice edited by a coordinator": op(2, Update(RecordId(HUB, 1), {"note": "moved"}), "Ana"),
    "merge": op(2, Merge(RecordId(HUB, 1), RecordId(OTHER, 7), 1), "Ana"),
    "i'd like this": op(2, Link(RecordId(HUB, 2), RecordId(OTHER, 4))),
    "still needed": op(2, Confirm(RecordId(HUB, 1), True)),
    "no longer needed": op(2, Confirm(RecordId(HUB, 1), False, 3)),
}
TODAYS = op(1, Create(RecordId(HUB, 1), Kind.NEED, MS, BASE))
AFTER = op(3, Update(RecordId(HUB, 1), {"note": "agua"}))


def frame(*ops: Op) -> bytes:
    return encode_envelope(KEY, Envelope(HUB, 1, Ops(ops)))


@pytest.mark.parametrize("name", sorted(NEW_FORMS))
def test_each_new_form_round_trips_through_json_and_the_wire(name: str) -> None:
    new = NEW_FORMS[name]
    assert op_from_json(op_to_json(new)) == new
    message = decode_envelope(KEY, frame(TODAYS, new, AFTER)).message
    assert isinstance(message, Ops)
    assert list(message.ops) == [TODAYS, new, AFTER]


@pytest.mark.parametrize("name", sorted(NEW_FORMS))
def test_each_new_form_needs_wire_version_2(name: str) -> None:
    assert op_version(NEW_FORMS[name]) == 2
    assert frame(TODAYS, NEW_FORMS[name])[0] == 2


@pytest.mark.parametrize("name", sorted(NEW_FORMS))
def test_a_hub_of_the_previous_release_skips_just_the_new_op_and_names_it(name: str) -> None:
    message = decode_envelope(KEY, frame(TODAYS, NEW_FORMS[name], AFTER), fields=PREVIOUS).message
    assert isinstance(message, Ops)
    assert list(message.ops) == [TODAYS, AFTER]
    assert list(message.skipped) == [(HUB, 2, "newer")]


def test_the_coordinators_name_travels_with_the_op() -> None:
    message = decode_envelope(KEY, frame(NEW_FORMS["match by a coordinator"])).message
    assert isinstance(message, Ops)
    assert message.ops[0].actor == "Ana"


def test_ops_without_anything_new_keep_their_version_1_form() -> None:
    plain = (
        TODAYS,
        op(2, SetStatus(RecordId(HUB, 1), Status.MATCHED, 0, "")),
        op(3, Match(RecordId(HUB, 1), RecordId(OTHER, 4))),
        op(4, Redact(RecordId(HUB, 1))),
    )
    assert [op_version(o) for o in plain] == [1, 1, 1, 1]
    assert frame(*plain)[0] == 1


def test_a_redaction_never_carries_a_name_so_every_release_reads_it() -> None:
    with pytest.raises(ValueError, match="actor"):
        frame(op(2, Redact(RecordId(HUB, 1)), "Ana"))
    data = op_to_json(op(2, Redact(RecordId(HUB, 1)))) | {"actor": "Ana"}
    with pytest.raises(InvalidOp, match="actor"):
        op_from_json(data)


def test_a_match_quantity_needs_its_unit() -> None:
    data = op_to_json(NEW_FORMS["partial match"])
    del data["quantity_unit"]
    with pytest.raises(InvalidOp, match="unit"):
        op_from_json(data)


def test_a_merge_or_a_link_of_a_record_with_itself_is_refused() -> None:
    for data in (
        op_to_json(op(2, Merge(RecordId(HUB, 1), RecordId(OTHER, 7))))
        | {"duplicate": "3fa9c2d1-1"},
        op_to_json(op(2, Link(RecordId(HUB, 1), RecordId(OTHER, 7)))) | {"offer": "3fa9c2d1-1"},
    ):
        with pytest.raises(InvalidOp, match="same record"):
            op_from_json(data)


def test_the_golden_extended_frame_reads_at_the_previous_release_as_its_base_ops() -> None:
    data = frame(*CASES["ops_extended"].message.ops)  # type: ignore[union-attr]
    message = decode_envelope(KEY, data, fields=PREVIOUS).message
    assert isinstance(message, Ops)
    assert [o.seq for o in message.ops] == [4]  # the plain update; the rest are newer
    assert len(message.skipped) == 10


def test_a_status_by_a_coordinator_costs_a_few_bytes_more_than_without() -> None:
    plain = frame(TODAYS, op(2, SetStatus(RecordId(HUB, 1), Status.FULFILLED)))
    named = frame(TODAYS, NEW_FORMS["status by a coordinator"])
    assert 0 < len(named) - len(plain) <= 8


def test_op_attributes_on_a_create_are_a_bad_op_not_a_crash() -> None:
    from fieldkit.wire.frame import DecodeError
    from fieldkit.wire.ops_body import OpsWriter

    class Sneaky(OpsWriter):  # writes a create with an ``op`` attribute
        def _fields(self, fields, *, create, ext, attrs=None):  # type: ignore[no-untyped-def]
            super()._fields(fields, create=create, ext=ext, attrs={**(attrs or {}), "op": "link"})

    import fieldkit.wire.frame as codec

    original = codec.OpsWriter
    codec.OpsWriter = Sneaky  # type: ignore[misc]
    try:
        data = frame(NEW_FORMS["notice by a coordinator"])
    finally:
        codec.OpsWriter = original  # type: ignore[misc]
    with pytest.raises(DecodeError) as info:
        decode_envelope(KEY, data)
    assert info.value.reason == "bad_op"


def test_an_extended_op_whose_record_attribute_is_empty_is_a_bad_op_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found by the bit-flip property test: a merge whose ``other_hub`` says "none" (its
    count's flag cleared) must be refused like any malformed frame."""
    from fieldkit.wire import ops_body

    merge = Op(0xA, 3, 3 << 16, Merge(RecordId(0xA, 1), RecordId(0xA, 2), 1))
    monkeypatch.setattr(ops_body, "op_attrs", lambda op: {"op": "merge", "other_hub": None,
                                                          "other_seq": 2})  # fmt: skip
    monkeypatch.setattr(ops_body, "_primary", lambda body: (body.record, None))
    frame = encode_envelope(KEY, Envelope(0xA, 1, Ops((merge,))))
    monkeypatch.undo()
    with pytest.raises(DecodeError) as refused:
        decode_envelope(KEY, frame)
    assert refused.value.reason == "bad_op"
