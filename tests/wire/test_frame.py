"""The wire codec: lossless, compact, authenticated, and unbreakable by what it is fed."""

from __future__ import annotations

import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldkit.core.ops import Create, FieldValue, Op, RecordId, SetStatus
from fieldkit.core.records import Kind
from fieldkit.mesh.transport import MAX_PAYLOAD
from fieldkit.wire import frame as codec
from fieldkit.wire import ops_body as codec_ops
from fieldkit.wire.bits import BitReader, BitWriter
from fieldkit.wire.frame import (
    FRAME_VERSIONS,
    REASONS,
    TAG_BYTES,
    WIRE_VERSION,
    DecodeError,
    decode_envelope,
    encode_envelope,
    pack_frame,
    pack_ops,
    seal,
)
from fieldkit.wire.messages import Envelope, Ops, Summary, Want
from fieldkit.wire.text import TEXT_DEFLATE, deflate, zdict
from tests.codec_strategies import envelopes, ops, realistic_ops, summaries, wants

KEY = b"network key of thirty-two bytes!"
HUB = 0x3FA9C2D1
MS = 1_763_448_000_000
FIELDS: dict[str, FieldValue] = {
    "category": "water", "urgency": "critical", "quantity": 4, "quantity_unit": "people",
    "area": "riverside", "note": "", "language": "es", "share_contact": False,
    "contact_name": "", "contact_phone": "", "contact_location": "",
}  # fmt: skip


def create(seq: int = 1, ms: int = MS, origin: int = HUB, **fields: FieldValue) -> Op:
    body = Create(RecordId(origin, seq), Kind.NEED, ms, FIELDS | fields, "7KQ-4XD")
    return Op(origin, seq, ms << 16, body)


def frame(message: Ops | Summary | Want, sender: int = HUB, counter: int = 9) -> bytes:
    return encode_envelope(KEY, Envelope(sender, counter, message))


def reason(data: bytes, key: bytes = KEY) -> str:
    with pytest.raises(DecodeError) as info:
        decode_envelope(key, data)
    assert info.value.reason in REASONS
    return info.value.reason


# --- round trips ----------------------------------------------------------------------------


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(envelopes)
def test_every_envelope_survives_a_round_trip(env: Envelope) -> None:
    assert decode_envelope(KEY, encode_envelope(KEY, env)) == env


@settings(max_examples=150)
@given(st.lists(ops(), min_size=1, max_size=10))
def test_any_valid_ops_decode_equal_and_in_order(batch: list[Op]) -> None:
    env = decode_envelope(KEY, frame(Ops(tuple(batch))))
    assert isinstance(env.message, Ops)
    assert list(env.message.ops) == batch


@given(summaries)
def test_summaries_survive_a_round_trip(summary: Summary) -> None:
    assert decode_envelope(KEY, frame(summary)).message == summary


@given(wants)
def test_wants_survive_a_round_trip(want: Want) -> None:
    assert decode_envelope(KEY, frame(want)).message == want


def test_invalid_ops_are_refused_when_encoding() -> None:
    for bad in (
        create(quantity=0),
        create(note="x" * 281),
        create(category="lava"),
        create(origin=0),
        Op(HUB, 2, 5, SetStatus(RecordId(HUB, 1), Kind.NEED, 0)),  # type: ignore[arg-type]
        create(contact_name="\ud800"),  # not encodable as UTF-8
    ):
        with pytest.raises(ValueError, match=r"."):
            frame(Ops((bad,)))


# --- sizes ----------------------------------------------------------------------------------


def test_a_summary_of_ten_hubs_costs_about_six_bytes_a_hub() -> None:
    summary = Summary({0x10000000 * i + 7: 1000 + i for i in range(1, 11)})
    assert len(frame(summary)) <= 1 + 7 + 10 * 6 + TAG_BYTES
    assert len(frame(Summary({}))) <= 1 + 7 + TAG_BYTES


def test_a_create_without_note_costs_under_twenty_bytes_in_a_full_frame() -> None:
    batch = [
        create(seq, MS + 60_000 * seq, area=["riverside", "port"][seq % 2]) for seq in range(1, 30)
    ]
    data, fitted = pack_ops(KEY, HUB, 1000, batch, MAX_PAYLOAD)
    assert fitted >= 10
    assert len(data) / fitted < 20


def test_a_note_is_compressed_with_the_dictionary() -> None:
    note = "Familia de 6, sin agua potable desde ayer. Necesitamos comida y pañales."
    assert len(deflate(note.encode())) < 0.75 * len(note.encode())
    assert len(deflate(note.encode())) < len(deflate(note.encode(), use_dict=False))
    assert zdict()  # the shipped dictionary matches its pinned hash


def test_the_airtime_benchmark_meets_its_targets() -> None:
    bench = Path(__file__).resolve().parents[2] / "bench" / "airtime.py"
    run = subprocess.run([sys.executable, bench], capture_output=True, text=True, check=True)
    lines = run.stdout.splitlines()
    out = dict(line.split(": ", 1) for line in lines)
    assert lines[-1].startswith("airtime_ratio_vs_json_text: ")
    assert float(out["airtime_ratio_vs_json_text"]) >= 8.5  # issue 14's targets
    assert float(out["bytes_per_record_codec"]) <= 45
    assert float(out["bytes_per_record_no_notes"]) <= 30
    assert float(out["bytes_per_record_with_notes"]) <= 60


# --- packing --------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(realistic_ops(), st.integers(60, 231))
def test_packing_fills_the_budget_keeps_order_and_takes_the_longest_prefix(
    batch: list[Op], budget: int
) -> None:
    try:
        data, fitted = pack_ops(KEY, HUB, 5, batch, budget)
    except ValueError:
        assert len(frame(Ops(tuple(batch[:1])), counter=5)) > budget
        return
    assert 1 <= fitted <= len(batch)
    assert len(data) <= budget
    assert decode_envelope(KEY, data) == Envelope(HUB, 5, Ops(tuple(batch[:fitted])))
    for longer in range(fitted + 1, len(batch) + 1):
        assert len(frame(Ops(tuple(batch[:longer])), counter=5)) > budget


@settings(max_examples=60, deadline=None)
@given(realistic_ops(), st.integers(60, 231), st.integers(0, 8))
def test_a_filled_frame_starts_with_the_first_op_and_takes_none_from_beyond_the_lookahead(
    batch: list[Op], budget: int, lookahead: int
) -> None:
    try:
        data, taken = pack_frame(KEY, HUB, 5, batch, budget, lookahead=lookahead)
    except ValueError:
        assert len(frame(Ops(tuple(batch[:1])), counter=5)) > budget
        return
    assert len(data) <= budget
    assert taken[0] == 0
    assert len(set(taken)) == len(taken)
    assert decode_envelope(KEY, data) == Envelope(HUB, 5, Ops(tuple(batch[i] for i in taken)))
    for i in taken:  # overtaking at most the lookahead's worth of ops left for later
        assert sum(1 for j in range(i) if j not in taken) < max(lookahead, 1)


def test_a_filled_frame_prefers_ops_whose_area_and_origin_it_already_names() -> None:
    other = 0x5C1D09F3
    batch = [
        create(1, area="riverside", note="insulin needs to stay cold"),
        create(2, MS + 1, origin=other, area="north-end"),
        create(3, MS + 2, area="riverside"),
    ]
    one_more = len(frame(Ops((batch[0], batch[2])))) + 1
    data, taken = pack_frame(KEY, HUB, 9, batch, one_more)
    assert taken == (0, 2)  # same area, same hub: cheaper than the op given before it
    assert decode_envelope(KEY, data).message == Ops((batch[0], batch[2]))


def test_a_filled_frame_takes_a_later_op_that_fits_where_the_next_does_not() -> None:
    long_note = "Roof blew off the back bedroom, rain coming in. Need a tarp " * 3
    batch = [create(1), create(2, MS + 1, note=long_note), create(3, MS + 2)]
    budget = len(frame(Ops((batch[0], batch[2])))) + 2
    assert len(frame(Ops(tuple(batch[:2])))) > budget  # the prefix stops at one op
    _, fitted = pack_ops(KEY, HUB, 9, batch, budget)
    _, taken = pack_frame(KEY, HUB, 9, batch, budget)
    assert fitted == 1
    assert taken == (0, 2)


def test_an_op_too_big_for_a_frame_alone_is_refused() -> None:
    scattered = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(280))  # incompressible
    big = create(note=scattered)
    with pytest.raises(ValueError, match="does not fit"):
        pack_ops(KEY, HUB, 1, [big, create(2)], budget=MAX_PAYLOAD)
    with pytest.raises(ValueError, match="no ops"):
        pack_ops(KEY, HUB, 1, [], MAX_PAYLOAD)


# --- authentication and versions ------------------------------------------------------------


def test_a_frame_under_another_key_is_rejected_as_auth() -> None:
    assert reason(frame(Ops((create(),))), key=b"another network key entirely....") == "auth"


def test_every_altered_byte_is_detected() -> None:
    data = frame(Ops((create(), create(2, note="agua"))))
    for i in range(len(data)):
        for bit in (0x01, 0x80):
            altered = bytearray(data)
            altered[i] ^= bit
            assert reason(bytes(altered)) == ("version" if i == 0 else "auth")


def test_another_wire_version_is_named_before_the_tag_is_checked() -> None:
    data = bytearray(frame(Summary({HUB: 3})))
    data[0] = max(FRAME_VERSIONS) + 1
    with pytest.raises(DecodeError, match=rf"version {data[0]}.*versions \(1, 2, 3, 4, 5\)"):
        decode_envelope(KEY, bytes(data))
    assert reason(seal(KEY, bytes(data[:-TAG_BYTES]))) == "version"


def test_truncated_frames_are_rejected() -> None:
    data = frame(Ops((create(), create(2, note="agua"))))
    for cut in range(len(data)):
        assert reason(data[:cut]) in {"truncated", "auth"}
    assert reason(b"") == "truncated"


# --- malformed content behind a valid tag ---------------------------------------------------


def sealed_bits(write: BitWriter, tail: bytes = b"") -> bytes:
    return seal(KEY, bytes([WIRE_VERSION]) + write.getvalue() + tail)


def header(kind: int) -> BitWriter:
    w = BitWriter()
    w.bits(kind, 2)
    w.bits(HUB, 32)
    w.uvar(1, 7)
    return w


def test_ops_with_a_summary_cut_after_the_header_are_refused() -> None:
    assert reason(sealed_bits(header(3))) in {"truncated", "bad_varint", "bad_message"}


def test_a_summary_rides_along_with_ops_when_there_is_room() -> None:
    summary = Summary({HUB: 3, HUB + 1: 9})
    ops = [create(seq) for seq in range(1, 30)]
    alone, fitted_alone = pack_ops(KEY, HUB, 1, ops, MAX_PAYLOAD)
    both, fitted = pack_ops(KEY, HUB, 1, ops, MAX_PAYLOAD, summary=summary)
    assert len(both) <= MAX_PAYLOAD
    assert 1 <= fitted <= fitted_alone
    env = decode_envelope(KEY, both)
    assert isinstance(env.message, Ops)
    assert env.message.summary == summary
    assert list(env.message.ops) == ops[:fitted]
    assert decode_envelope(KEY, alone).message == Ops(tuple(ops[:fitted_alone]))


def test_bytes_after_a_message_are_trailing() -> None:
    data = frame(Summary({HUB: 3}))
    assert reason(seal(KEY, data[:-TAG_BYTES] + b"\x00")) == "trailing"


def test_an_integer_wider_than_64_bits_is_a_bad_varint() -> None:
    w = BitWriter()
    w.bits(0, 2)
    w.bits(HUB, 32)
    for _ in range(12):
        w.bits(0x7F, 7)
        w.flag(True)
    assert reason(sealed_bits(w)) == "bad_varint"


def ops_frame_with_text(
    op: Op, mode: int, stream: bytes, monkeypatch: pytest.MonkeyPatch | None = None
) -> bytes:
    """A sealed Ops frame whose text stream is replaced (checks off, to forge bad frames)."""
    writer = codec_ops.OpsWriter(HUB)
    if monkeypatch is None:
        writer.add(op)
    else:
        with monkeypatch.context() as patched:
            patched.setattr(codec_ops, "op_from_json", lambda data: op)
            writer.add(op)
    w = header(1)
    w.uvar(0, codec_ops.C_INDEX)
    w.uvar(1, 4)
    w.bits(mode, 2)
    w.extend(writer.bits)
    return sealed_bits(w, stream)


def test_a_decompression_bomb_is_rejected_without_inflating_it() -> None:
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = bomb.compress(b"a" * 50_000_000) + bomb.flush()
    assert len(stream) < 60_000
    data = ops_frame_with_text(create(note="abc"), TEXT_DEFLATE, stream)
    assert reason(data) == "bad_text"


def test_text_that_does_not_inflate_is_bad_text() -> None:
    assert reason(ops_frame_with_text(create(note="abc"), TEXT_DEFLATE, b"\xff\xff")) == "bad_text"
    assert reason(ops_frame_with_text(create(note="abc"), 1, b"\xff\xfe\xfd")) == "bad_text"
    assert reason(ops_frame_with_text(create(note="abc"), 1, b"ab")) == "bad_text"


def test_oversize_text_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    long_note = create(note="x" * 281)
    data = ops_frame_with_text(long_note, 1, b"x" * 281, monkeypatch)
    assert reason(data) == "bad_text"
    huge = create(note="x" * 5000)
    assert reason(ops_frame_with_text(huge, 1, b"x" * 5000, monkeypatch)) == "bad_text"


def test_an_op_breaking_the_rules_is_a_bad_op(monkeypatch: pytest.MonkeyPatch) -> None:
    data = ops_frame_with_text(create(quantity=100_001), 1, b"riverside", monkeypatch)
    assert reason(data) == "bad_op"


# --- fuzzing: nothing but DecodeError, whatever comes in --------------------------------------


def decodes_or_rejects(data: bytes) -> None:
    try:
        decode_envelope(KEY, data)
    except DecodeError as exc:
        rejected = exc.reason
    else:
        return
    assert rejected in REASONS


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=240))
def test_random_bytes_only_ever_raise_decode_error(data: bytes) -> None:
    decodes_or_rejects(data)
    decodes_or_rejects(bytes([WIRE_VERSION]) + data)
    decodes_or_rejects(seal(KEY, bytes([WIRE_VERSION]) + data))  # garbage behind a valid tag


@settings(max_examples=500, deadline=None)
@given(envelopes, st.data())
def test_bit_flips_and_cuts_behind_a_valid_tag_only_raise_decode_error(
    env: Envelope, data: st.DataObject
) -> None:
    body = bytearray(encode_envelope(KEY, env)[:-TAG_BYTES])
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(1, len(body) - 1)) if len(body) > 1 else 0
        body[position] ^= 1 << data.draw(st.integers(0, 7))
    cut = data.draw(st.integers(1, len(body)))
    decodes_or_rejects(seal(KEY, bytes(body)))
    decodes_or_rejects(seal(KEY, bytes(body[:cut])))


def test_the_bit_reader_never_reads_past_its_data() -> None:
    r = BitReader(b"\xff")
    assert r.bits(7) == 0x7F
    with pytest.raises(Exception, match="ends"):
        r.bits(2)


def test_reasons_are_documented() -> None:
    assert {"version", "auth", "truncated", "bad_varint", "bad_enum", "bad_text", "bad_op",
            "trailing"} <= REASONS  # fmt: skip
    assert codec.MAX_TEXT_BYTES >= 1 << 20
