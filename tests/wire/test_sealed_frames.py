"""Sealed frames (wire version 4, issue 11): everything after the header is enciphered under the
network key, with a nonce made of the sender and its frame counter, so a stranger on air reads
no record, summary or want, and the frame is exactly as long as in the clear."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldkit.core.ops import Create, FieldValue, Op, RecordId
from fieldkit.core.records import Kind
from fieldkit.mesh.transport import MAX_PAYLOAD
from fieldkit.wire.frame import (
    SEALED_VERSION,
    TAG_BYTES,
    DecodeError,
    decode_envelope,
    encode_envelope,
    pack_ops,
)
from fieldkit.wire.messages import Envelope, Ops, Summary
from fieldkit.wire.ops_body import WIRE_VERSIONS
from tests.codec_strategies import envelopes
from tests.stranger import read_as_stranger

KEY = b"k" * 32
HUB = 0x3FA9C2D1
MS = 1_763_448_000_000
CONTACT: dict[str, FieldValue] = {
    "category": "medication", "urgency": "critical", "quantity": 1, "quantity_unit": "people",
    "area": "riverside", "note": "insulin in the fridge has gone warm", "language": "en",
    "share_contact": True, "contact_name": "Marisol Ortega", "contact_phone": "+15551234567",
    "contact_location": "blue door behind the laundromat",
}  # fmt: skip


def contact_op(seq: int = 1) -> Op:
    body = Create(RecordId(HUB, seq), Kind.NEED, MS, CONTACT, "7KQ-4XD")
    return Op(HUB, seq, MS << 16, body)


def sealed(env: Envelope) -> bytes:
    return encode_envelope(KEY, env, SEALED_VERSION)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(envelopes)
def test_every_envelope_survives_a_round_trip_sealed_and_costs_no_byte_more(env: Envelope) -> None:
    frame = sealed(env)
    assert frame[0] == SEALED_VERSION
    assert decode_envelope(KEY, frame) == env
    assert len(frame) == len(encode_envelope(KEY, env))


def test_a_stranger_on_air_reads_no_name_phone_place_or_note() -> None:
    env = Envelope(HUB, 9, Ops((contact_op(),)))
    assert "Marisol Ortega" in read_as_stranger(encode_envelope(KEY, env))  # in the clear
    frame = sealed(env)
    seen = read_as_stranger(frame)
    for secret in ("Marisol", "5551234567", "laundromat", "insulin", "riverside", "medication"):
        assert secret not in seen
    for secret in (b"Marisol", b"laundromat", b"insulin", b"riverside"):
        assert secret not in frame
    clear = encode_envelope(KEY, env)
    # the bits past the header differ from the frame in the clear nearly everywhere
    differing = sum(a != b for a, b in zip(clear[6:-TAG_BYTES], frame[6:-TAG_BYTES], strict=True))
    assert differing > 0.8 * (len(frame) - 6 - TAG_BYTES)


def test_the_same_ops_under_another_counter_look_unrelated() -> None:
    """A fresh nonce each frame: resending the same record shows nothing repeated."""
    one = sealed(Envelope(HUB, 9, Ops((contact_op(),))))
    two = sealed(Envelope(HUB, 10, Ops((contact_op(),))))
    same = sum(a == b for a, b in zip(one[6:-TAG_BYTES], two[6:-TAG_BYTES], strict=True))
    assert same < 0.2 * (len(one) - 6 - TAG_BYTES)


def test_a_sealed_frame_under_another_key_is_refused_unread() -> None:
    frame = sealed(Envelope(HUB, 9, Ops((contact_op(),))))
    with pytest.raises(DecodeError) as info:
        decode_envelope(b"x" * 32, frame)
    assert info.value.reason == "auth"


@settings(max_examples=200)
@given(st.data())
def test_any_flipped_bit_of_a_sealed_frame_is_refused(data: st.DataObject) -> None:
    frame = bytearray(sealed(Envelope(HUB, 9, Ops((contact_op(),), Summary({HUB: 1})))))
    bit = data.draw(st.integers(0, len(frame) * 8 - 1))
    frame[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(DecodeError) as info:
        decode_envelope(KEY, bytes(frame))
    assert info.value.reason in {"auth", "version", "truncated"}


def test_a_hub_of_an_earlier_release_is_told_the_version_not_fed_noise() -> None:
    frame = sealed(Envelope(HUB, 9, Summary({HUB: 3})))
    with pytest.raises(DecodeError) as info:
        decode_envelope(KEY, frame, WIRE_VERSIONS[-1])
    assert info.value.reason == "version"


def test_sealed_packing_fits_as_many_ops_as_in_the_clear() -> None:
    batch = [contact_op(seq) for seq in range(1, 12)]
    clear, fitted = pack_ops(KEY, HUB, 9, batch, MAX_PAYLOAD)
    frame, fitted_sealed = pack_ops(KEY, HUB, 9, batch, MAX_PAYLOAD, version=SEALED_VERSION)
    assert fitted_sealed == fitted > 1
    assert len(frame) == len(clear) <= MAX_PAYLOAD
    assert decode_envelope(KEY, frame).message == Ops(tuple(batch[:fitted]))
