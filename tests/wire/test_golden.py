"""Golden frames: bytes on air today stay readable, and are written the same, forever.

The frames in ``tests/data/golden/`` were written once by ``python -m tests.golden_frames``;
a failure here is a wire-compatibility break between hubs on different versions, not a
golden file to regenerate.
"""

from __future__ import annotations

import json

import pytest

from fieldkit.wire.frame import SEALED_VERSION, decode_envelope, encode_envelope
from tests.golden_frames import CASES, GOLDEN, KEY, envelope_from_json, envelope_to_json, layout

NAMES = sorted(p.stem for p in GOLDEN.glob("*.hex"))


def _load(name: str) -> tuple[bytes, dict[str, object]]:
    data = bytes.fromhex((GOLDEN / f"{name}.hex").read_text(encoding="ascii").strip())
    expected = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    return data, expected


def test_every_golden_case_has_its_frame_checked_in() -> None:
    assert set(CASES) <= set(NAMES)
    assert {"summary", "want", "ops_each_type", "ops_summary"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_todays_decoder_reads_each_golden_frame_to_its_expected_ops(name: str) -> None:
    data, expected = _load(name)
    assert envelope_to_json(decode_envelope(KEY, data, areas=layout(name)[1])) == expected


@pytest.mark.parametrize("name", NAMES)
def test_todays_encoder_writes_each_golden_frame_byte_for_byte(name: str) -> None:
    data, expected = _load(name)
    version, areas = layout(name)
    assert (
        encode_envelope(KEY, envelope_from_json(expected), version, areas=areas).hex() == data.hex()
    )


def test_the_golden_frames_cover_every_op_type_private_and_unusual_values() -> None:
    ops = [op for name in NAMES for op in _load(name)[1]["message"].get("ops", [])]  # type: ignore[attr-defined]
    assert {op["op"] for op in ops} == {
        "create", "update", "status", "match", "redact", "merge", "link", "confirm",
    }  # fmt: skip
    assert any("actor" in op for op in ops)  # the coordinator's name on the wire
    assert any("quantity" in op for op in ops if op["op"] == "match")
    assert any("expires" in op.get("fields", {}) for op in ops)
    texts = json.dumps(ops, ensure_ascii=False)
    for needle in ("contact_phone", "tl-PH", "imported-row-17"):
        assert needle in texts
    assert any(ord(ch) > 0xFFFF for ch in texts)  # beyond the BMP: an emoji


def test_a_bundle_written_one_envelope_at_a_time_equals_the_whole() -> None:
    from fieldkit.wire.bundle_format import BundleWriter, write_bundle
    from fieldkit.wire.messages import Envelope, Summary

    key = b"k" * 32
    envelopes = [Envelope(7, 0, Summary({7: n})) for n in range(1, 6)]
    writer = BundleWriter(key, random_bytes=bytes)
    streamed = writer.start() + b"".join(writer.add(env) for env in envelopes) + writer.finish()
    assert streamed == write_bundle(key, envelopes, random_bytes=bytes)


def test_causal_counters_travel_in_version_3_frames_and_nothing_else_changed_version() -> None:
    versions = {name: _load(name)[0][0] for name in NAMES if layout(name)[0] < SEALED_VERSION}
    assert versions.pop("ops_causal") == 3
    assert set(versions.values()) <= {1, 2}
    for name in set(NAMES) - set(versions) - {"ops_causal"}:  # sealed or compact: their own byte
        assert _load(name)[0][0] == layout(name)[0]
    causal = [op.get("causal", 0) for op in _load("ops_causal")[1]["message"]["ops"]]  # type: ignore[index]
    assert causal == [1, 300, 0]
