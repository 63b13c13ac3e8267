"""Fuzz the wire decoder: whatever arrives, it returns an Envelope or raises DecodeError.

    python bench/fuzz_codec.py -atheris_runs=100000      # with atheris (pip install atheris)
    python bench/fuzz_codec.py --hypothesis 20000        # without it: hypothesis instead

Each input is tried three ways, because a random frame almost never carries a valid tag and
would only test the MAC check:

1. as a frame, raw;
2. as a frame body behind a valid version byte and tag (garbage the parser must survive);
3. as a mutation of a genuine frame (XORed into its body, then re-signed), which reaches deep
   into valid-looking ops, summaries and texts.

Any exception other than DecodeError is a crash. At exit the rejection reasons are printed
as ``reason_NAME: count`` lines, with ``decoded: count`` for inputs that decoded.
"""

from __future__ import annotations

import atexit
import contextlib
import sys
from collections import Counter
from typing import Any

atheris: Any
try:
    import atheris  # type: ignore[import-not-found,import-untyped,no-redef,unused-ignore]
except ImportError:
    atheris = None

# Coverage guidance for fieldkit's modules (atheris instruments them as they are imported).
with atheris.instrument_imports(include=["fieldkit"]) if atheris else contextlib.nullcontext():
    from fieldkit.core.ops import (
        Confirm,
        Create,
        FieldValue,
        Link,
        Match,
        Merge,
        Op,
        RecordId,
        Redact,
        SetStatus,
        Update,
    )
    from fieldkit.core.records import Kind, Status
    from fieldkit.wire.frame import (
        COMPACT_VERSION,
        REASONS,
        SEALED_VERSION,
        TAG_BYTES,
        WIRE_VERSION,
        DecodeError,
        decode_envelope,
        encode_envelope,
        seal,
    )
    from fieldkit.wire.messages import Envelope, Ops, Summary, Want
    from fieldkit.wire.ops_body import WIRE_VERSIONS

KEY = b"fuzzing network key, 32 bytes..."
HUB, OTHER = 0x3FA9C2D1, 0x0B0B0B0B
MS = 1_763_448_000_000
FIELDS: dict[str, FieldValue] = {
    "category": "water", "urgency": "critical", "quantity": 4, "quantity_unit": "people",
    "area": "riverside", "note": "Familia de 6, sin agua potable", "language": "es",
    "share_contact": True, "contact_name": "Ana", "contact_phone": "555 0100",
    "contact_location": "blue door",
}  # fmt: skip
AREAS = ("port", "riverside")  # the network's area table: compact frames code these by index
SEEDS = [  # each message in the clear, sealed (version 4) and compact (5, as hubs send it)
    encode_envelope(KEY, Envelope(HUB, 7, message), version, areas=AREAS)
    for version in (WIRE_VERSIONS[-1], SEALED_VERSION, COMPACT_VERSION)
    for message in (
        Summary({HUB: 40, OTHER: 12}, {OTHER: (15, 16)}),
        Want(OTHER, {OTHER: ((3, 5), (9, 9))}),
        Ops(
            (
                Op(HUB, 41, MS << 16, Create(RecordId(HUB, 41), Kind.NEED, MS, FIELDS, "7KQ-4XD")),
                Op(OTHER, 13, (MS + 5) << 16 | 1, Update(RecordId(HUB, 41), {"note": "二"})),
                Op(HUB, 42, (MS + 9) << 16, SetStatus(RecordId(HUB, 41), Status.MATCHED, 0, "ok")),
                Op(OTHER, 14, MS << 16, Match(RecordId(HUB, 41), RecordId(OTHER, 2), 0, 1, "")),
            )
        ),
        Ops(  # the extended ops: an attribute of the wrong kind once escaped the decoder
            (
                Op(
                    HUB,
                    43,
                    (MS + 11) << 16,
                    Merge(RecordId(HUB, 41), RecordId(OTHER, 7), 1),
                    0,
                    "Ana",
                ),
                Op(OTHER, 15, (MS + 12) << 16, Link(RecordId(HUB, 41), RecordId(OTHER, 2))),
                Op(HUB, 44, (MS + 13) << 16, Confirm(RecordId(HUB, 41), False, 3)),
                Op(HUB, 45, (MS + 14) << 16, Redact(RecordId(HUB, 41))),
            )
        ),
    )
]
counts: Counter[str] = Counter()


def one_input(data: bytes) -> None:
    for frame in candidates(data):
        try:
            decode_envelope(KEY, frame, areas=AREAS)
        except DecodeError as exc:
            if exc.reason not in REASONS:
                raise AssertionError(f"undocumented reason {exc.reason!r}") from exc
            counts[f"reason_{exc.reason}"] += 1
        else:
            counts["decoded"] += 1


def candidates(data: bytes) -> list[bytes]:
    out = [data, seal(KEY, bytes([WIRE_VERSION]) + data)]
    if data:
        seed = SEEDS[data[0] % len(SEEDS)]
        body = bytearray(seed[:-TAG_BYTES])
        for i, byte in enumerate(data[1:]):
            body[1 + (i % (len(body) - 1))] ^= byte
        cut = len(body) - (data[0] >> 4 if len(data) > 1 else 0)
        out.append(seal(KEY, bytes(body[: max(cut, 1)])))
    return out


def report() -> None:
    total = sum(counts.values())
    print(f"inputs_tried: {total}", file=sys.stderr)
    for name, count in sorted(counts.items()):
        print(f"{name}: {count}", file=sys.stderr)


def run_hypothesis(examples: int) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=examples, deadline=None, database=None)
    @given(st.binary(max_size=256))
    def fuzz(data: bytes) -> None:
        one_input(data)

    fuzz()


def main() -> None:
    atexit.register(report)
    if "--hypothesis" in sys.argv:
        index = sys.argv.index("--hypothesis")
        run_hypothesis(int(sys.argv[index + 1]) if len(sys.argv) > index + 1 else 10_000)
        return
    if atheris is None:
        print("atheris is not installed: fuzzing with hypothesis instead", file=sys.stderr)
        run_hypothesis(10_000)
        return
    for seed in SEEDS:  # the seeds themselves must decode
        decode_envelope(KEY, seed, areas=AREAS)
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
