"""Golden wire frames: the cases, and the script that wrote ``tests/data/golden/``.

Each case is one envelope. ``NAME.hex`` holds its frame (hex, one line) as the codec wrote it
when the case was added; ``NAME.json`` what a decoder must read from it, forever: the envelope
as JSON (ops in :func:`fieldkit.core.ops.op_to_json` form). ``tests/wire/test_golden.py``
checks that today's decoder reads every ``.hex`` to its ``.json`` and that today's encoder,
given the ``.json``, writes the same bytes.

Run once per new case (never to "fix" a failing golden test: a changed byte is a wire break)::

    python -m tests.golden_frames            # writes only cases that have no files yet
    python -m tests.golden_frames --force    # rewrites all: only with a new wire version
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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
    op_from_json,
    op_to_json,
)
from fieldkit.core.records import Kind, QuantityUnit, Status
from fieldkit.wire.frame import COMPACT_VERSION, SEALED_VERSION, encode_envelope
from fieldkit.wire.messages import Envelope, Message, Ops, Summary, Want
from fieldkit.wire.ops_body import WIRE_VERSIONS

GOLDEN = Path(__file__).with_name("data") / "golden"
KEY = b"golden frames network key, 32 B!"
HUB = 0x3FA9C2D1
OTHER = 0x0A0B0C0D
MS = 1_763_448_000_000
#: The network area table of the compact cases (areas outside it travel as text).
AREAS = ("downtown", "port", "riverside")

ALL_FIELDS: dict[str, FieldValue] = {
    "category": "medication", "urgency": "critical", "quantity": 3, "quantity_unit": "people",
    "area": "riverside", "note": "Insulin for my father, fridge broke.\nSecond floor.",
    "language": "es", "share_contact": True, "contact_name": "María José Núñez",
    "contact_phone": "+1 (555) 010-2233", "contact_location": "Blue house behind the church",
}  # fmt: skip


def _op(
    seq: int, body: Any, origin: int = HUB, ms: int = MS, counter: int = 0, causal: int = 0
) -> Op:
    return Op(origin, seq, (ms + seq * 1000) << 16 | counter, body, causal)


def _cases() -> dict[str, Envelope]:
    create_all = _op(1, Create(RecordId(HUB, 1), Kind.NEED, MS + 1000, ALL_FIELDS, "7KQ-4XD"))
    offer = _op(2, Create(
        RecordId(HUB, 2), Kind.OFFER, MS, {**ALL_FIELDS, "category": "water",
        "urgency": "flexible", "quantity": 40, "quantity_unit": "units", "note": "",
        "language": "en", "share_contact": False, "contact_name": "", "contact_phone": "",
        "contact_location": ""}, "", Status.MATCHED, "held for the school"))  # fmt: skip
    unusual = _op(3, Create(
        RecordId(HUB, 3), Kind.NOTICE, MS + 3000, {"category": "information",
        "urgency": "today", "area": "Quartier Nord — école", "note": "水は午後3時に配ります。 🚰",
        "language": "tl-PH", "contact_phone": "call ext. 12#"}, "imported-row-17"),
        counter=7)  # fmt: skip
    update = _op(4, Update(RecordId(HUB, 1), {"urgency": "today", "quantity": 2,
        "note": "Got one box; need one more.", "contact_phone": "5550102233"}))  # fmt: skip
    status = _op(5, SetStatus(RecordId(OTHER, 12), Status.OPEN, 2, "re-opened: no-show"))
    match = _op(6, Match(RecordId(HUB, 1), RecordId(OTHER, 9), 0, 1, "Ana brings it at 5"))
    redact = _op(7, Redact(RecordId(HUB, 2)))
    foreign = _op(40, Update(RecordId(OTHER, 40), {"area": "riverside", "share_contact": False,
        "contact_name": "", "contact_location": "Zelt 4, Reihe B"}), origin=OTHER)  # fmt: skip
    every_op = (create_all, offer, unusual, update, status, match, redact, foreign)
    summary = Summary({HUB: 7, OTHER: 1234, 0x00000001: 0}, {OTHER: (1240, 1299)})
    # wire version 3: ops with causal counters (a hub whose clock was behind), among one without
    causal = (
        _op(8, Update(RecordId(OTHER, 40), {"area": "downtown"}), causal=1),
        _op(9, SetStatus(RecordId(OTHER, 40), Status.MATCHED, 0, "at 4 pm"), causal=300),
        update,
    )

    # wire version 2: this release's ops and attributes (the coordinator's name, a match's
    # quantity, a notice's expiry, merge, "I'd like this", "still needed"), beside a base op
    def _by(op: Op, actor: str) -> Op:
        return Op(op.origin, op.seq, op.hlc, op.body, op.causal, actor)

    notice_fields: dict[str, FieldValue] = {
        "category": "water", "urgency": "today", "area": "riverside",
        "note": "Water at St. Mary's 2–6 pm", "language": "en", "expires": MS + 86_400_000,
    }  # fmt: skip
    extended = (
        _by(_op(10, Create(RecordId(HUB, 10), Kind.NOTICE, MS + 10_000, notice_fields)), "Ana"),
        _by(_op(11, Update(RecordId(HUB, 10), {"expires": MS + 172_800_000})), "Ana"),
        _by(_op(12, SetStatus(RecordId(HUB, 10), Status.CANCELLED)), "Ana"),
        _by(_op(13, SetStatus(RecordId(OTHER, 12), Status.OPEN, 2, "no-show")), "Jean-Baptiste"),
        _by(
            _op(
                14,
                Match(
                    RecordId(HUB, 1),
                    RecordId(OTHER, 9),
                    0,
                    1,
                    "Pick up at 5",
                    12,
                    QuantityUnit.UNITS,
                ),
            ),
            "Ana",
        ),
        _op(15, Match(RecordId(OTHER, 3), RecordId(HUB, 2), 0, 0, "", 4, QuantityUnit.PEOPLE)),
        _by(_op(16, Merge(RecordId(HUB, 1), RecordId(OTHER, 30), 1)), "Thảo"),
        _op(17, Link(RecordId(HUB, 17), RecordId(OTHER, 9))),
        _op(18, Confirm(RecordId(HUB, 1), True)),
        _op(19, Confirm(RecordId(OTHER, 12), False, 2)),
        update,
    )
    return {
        "summary": Envelope(HUB, 1, summary),
        "summary_empty": Envelope(HUB, 2, Summary({})),
        "want": Envelope(HUB, 3, Want(OTHER, {OTHER: ((1, 5), (9, 9)), HUB: ((3, 300),)})),
        "ops_create_all_fields": Envelope(HUB, 4, Ops((create_all,))),
        "ops_each_type": Envelope(HUB, 5, Ops(every_op)),
        "ops_summary": Envelope(HUB, 6, Ops((update, match), summary)),
        "ops_unusual_text": Envelope(OTHER, 2**40, Ops((unusual, foreign))),
        "ops_causal": Envelope(HUB, 7, Ops(causal)),
        "ops_extended": Envelope(HUB, 8, Ops(extended)),
        "sealed_ops_each_type": Envelope(HUB, 9, Ops(every_op)),
        "compact_ops_each_type": Envelope(HUB, 10, Ops(every_op)),
        "compact_ops_summary": Envelope(HUB, 11, Ops((update, match, create_all), summary)),
        "compact_ops_areas": Envelope(HUB, 12, Ops((unusual, foreign, *causal))),
        "compact_summary": Envelope(HUB, 13, summary),
    }


def layout(name: str) -> tuple[int, tuple[str, ...]]:
    """The wire version a case is written in, and the network area table it is read with."""
    if name.startswith("compact_"):
        return COMPACT_VERSION, AREAS
    if name.startswith("sealed_"):
        return SEALED_VERSION, ()
    return WIRE_VERSIONS[-1], ()


CASES = _cases()


def envelope_to_json(env: Envelope) -> dict[str, Any]:
    return {"sender": env.sender, "counter": env.counter, "message": _message(env.message)}


def _summary(s: Summary) -> dict[str, Any]:
    return {
        "vector": [[hub, seq] for hub, seq in sorted(s.vector.items())],
        "extra": [[hub, list(seqs)] for hub, seqs in sorted(s.extra.items())],
    }


def _message(m: Message) -> dict[str, Any]:
    if isinstance(m, Summary):
        return {"type": "summary", **_summary(m)}
    if isinstance(m, Want):
        ranges = [[hub, [list(r) for r in rs]] for hub, rs in sorted(m.ranges.items())]
        return {"type": "want", "provider": m.provider, "ranges": ranges}
    out: dict[str, Any] = {"type": "ops", "ops": [op_to_json(op) for op in m.ops]}
    if m.summary is not None:
        out["summary"] = _summary(m.summary)
    return out


def envelope_from_json(data: Mapping[str, Any]) -> Envelope:
    m = data["message"]

    def summary(s: Mapping[str, Any]) -> Summary:
        return Summary(dict(map(tuple, s["vector"])), {h: tuple(q) for h, q in s["extra"]})

    message: Message
    if m["type"] == "summary":
        message = summary(m)
    elif m["type"] == "want":
        message = Want(m["provider"], {h: tuple(map(tuple, rs)) for h, rs in m["ranges"]})
    else:
        ops = tuple(op_from_json(op) for op in m["ops"])
        message = Ops(ops, summary(m["summary"]) if "summary" in m else None)
    return Envelope(data["sender"], data["counter"], message)


def write(force: bool = False) -> list[str]:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    written = []
    for name, env in CASES.items():
        hex_path, json_path = GOLDEN / f"{name}.hex", GOLDEN / f"{name}.json"
        if hex_path.exists() and not force:
            continue
        version, areas = layout(name)
        frame = encode_envelope(KEY, env, version, areas=areas)
        hex_path.write_text(frame.hex() + "\n", encoding="ascii")
        text = json.dumps(envelope_to_json(env), indent=1, ensure_ascii=False)
        json_path.write_text(text + "\n", encoding="utf-8")
        written.append(name)
    return written


if __name__ == "__main__":
    print("wrote:", ", ".join(write("--force" in sys.argv[1:])) or "nothing new")
