"""Compact frames (wire version 5, issue 14): sealed like version 4, with fewer bits per op and
the areas of the network's area table sent as indices, never as their names."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldkit.core.ops import Create, FieldValue, Op, RecordId
from fieldkit.core.records import Kind
from fieldkit.mesh.transport import MAX_PAYLOAD
from fieldkit.wire.bits import BitReader, BitWriter
from fieldkit.wire.frame import (
    COMPACT_VERSION,
    SEALED_VERSION,
    DecodeError,
    decode_envelope,
    encode_envelope,
    pack_frame,
)
from fieldkit.wire.messages import Envelope, Ops
from tests.codec_strategies import envelopes, realistic_ops
from tests.stranger import read_as_stranger

KEY = b"k" * 32
HUB = 0x3FA9C2D1
MS = 1_763_448_000_000
TABLE = ("downtown", "eastgate", "hillside", "north-end", "port", "riverside")
FIELDS: dict[str, FieldValue] = {
    "category": "water", "urgency": "critical", "quantity": 4, "quantity_unit": "people",
    "area": "riverside", "note": "", "language": "es", "share_contact": True,
    "contact_name": "Marisol Ortega", "contact_phone": "+1 555 0140", "contact_location": "",
}  # fmt: skip


def create(seq: int, **fields: FieldValue) -> Op:
    ms = MS + 97_000 * seq
    return Op(
        HUB, seq, ms << 16, Create(RecordId(HUB, seq), Kind.NEED, ms, FIELDS | fields, "7KQ-4XD")
    )


def compact(env: Envelope, areas: tuple[str, ...] = TABLE) -> bytes:
    return encode_envelope(KEY, env, COMPACT_VERSION, areas=areas)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(envelopes, st.lists(st.sampled_from([*TABLE, "riverside", "abc"]), max_size=8))
def test_every_envelope_survives_a_round_trip_compact_with_any_area_table(
    env: Envelope, table: list[str]
) -> None:
    frame = compact(env, tuple(table))
    assert frame[0] == COMPACT_VERSION
    assert decode_envelope(KEY, frame, areas=tuple(reversed(table))) == env  # order is no matter


@settings(max_examples=100, deadline=None)
@given(realistic_ops())
def test_compact_frames_are_never_longer_than_sealed_ones(batch: list[Op]) -> None:
    env = Envelope(HUB, 100_000, Ops(tuple(batch)))
    assert len(compact(env)) <= len(encode_envelope(KEY, env, SEALED_VERSION))


def test_an_area_of_the_networks_table_goes_as_an_index_not_its_name() -> None:
    ops = tuple(create(seq, area=area) for seq, area in enumerate(TABLE, 1))
    env = Envelope(HUB, 9, Ops(ops))
    by_index, by_name = compact(env), compact(env, areas=())
    assert decode_envelope(KEY, by_index, areas=TABLE) == env
    assert decode_envelope(KEY, by_name) == env
    names = sum(len(area) for area in TABLE)
    assert len(by_name) - len(by_index) >= names // 2  # the names, less what deflate saved


def test_a_hub_whose_area_table_differs_refuses_the_frame_rather_than_read_wrong_areas() -> None:
    frame = compact(Envelope(HUB, 9, Ops((create(1, area="port"),))))
    for theirs in ((), TABLE[:-1], (*TABLE[:-1], "riverbank")):
        with pytest.raises(DecodeError) as refused:
            decode_envelope(KEY, frame, areas=theirs)
        assert refused.value.reason == "areas"
    elsewhere = compact(Envelope(HUB, 10, Ops((create(2, area="a field by the school"),))))
    assert decode_envelope(KEY, elsewhere, areas=()).message == Ops(
        (create(2, area="a field by the school"),)
    )  # an area outside the table is its name: any hub reads it


def test_a_hub_that_reads_up_to_version_4_is_told_to_upgrade() -> None:
    frame = compact(Envelope(HUB, 9, Ops((create(1),))))
    with pytest.raises(DecodeError, match="update fieldkit") as refused:
        decode_envelope(KEY, frame, reads=SEALED_VERSION, areas=TABLE)
    assert refused.value.reason == "version"


def test_a_compact_frame_is_sealed_a_stranger_reads_no_contact_or_area() -> None:
    frame = compact(Envelope(HUB, 9, Ops((create(1, note="insulin has gone warm"),))))
    seen = read_as_stranger(frame)
    for secret in ("Marisol", "0140", "insulin", "riverside"):
        assert secret not in seen


def test_a_full_frame_of_records_costs_fewer_bytes_each_than_sealed() -> None:
    ops = [create(seq, area=TABLE[seq % 6], note="") for seq in range(1, 40)]
    _, sealed_taken = pack_frame(KEY, HUB, 100_000, ops, MAX_PAYLOAD, version=SEALED_VERSION)
    frame, taken = pack_frame(KEY, HUB, 100_000, ops, MAX_PAYLOAD, version=COMPACT_VERSION,
                              areas=TABLE)  # fmt: skip
    assert len(taken) > len(sealed_taken)
    assert decode_envelope(KEY, frame, areas=TABLE).message == Ops(tuple(ops[i] for i in taken))


@given(st.lists(st.integers(0, (1 << 63) - 1), max_size=20))
def test_a_sized_integer_reads_back_and_costs_six_bits_over_its_own(values: list[int]) -> None:
    w = BitWriter()
    for value in values:
        before = w.bit_length
        w.sized(value)
        assert w.bit_length - before == 6 + max(value.bit_length() - 1, 0)
    r = BitReader(w.getvalue())
    assert [r.sized() for _ in values] == values
    assert r.padding_is_zero()


def test_a_summary_says_its_sender_cannot_read_the_area_table_in_every_version() -> None:
    from fieldkit.wire.messages import Summary

    summary = Summary({HUB: 40}, {}, reads=COMPACT_VERSION, partial=True, table_differs=True)
    for version in (1, SEALED_VERSION, COMPACT_VERSION):
        frame = encode_envelope(KEY, Envelope(HUB, 9, summary), version)
        assert decode_envelope(KEY, frame).message == summary
