"""Bytes and LoRa airtime per record: fieldkit's wire codec against JSON text messages.

    python bench/airtime.py [--corpus FILE.jsonl] [--preset LONG_FAST] [--budget 200]

Each record of the corpus (public JSON form, as ``fieldkit export`` writes it) becomes the
Create op its hub would have logged, as it may leave the hub: without the resident's consent
(``share_contact`` false) its contact is blanked (:func:`fieldkit.core.ops.shareable`, what the
gossip sends); with ``--strip-notes`` its note too (:func:`fieldkit.core.ops.strip_private`).

* **codec**: one hub relays all of them, most urgent first (as the gossip orders them),
  packed into frames of at most ``--budget`` bytes as the gossip packs them
  (:func:`fieldkit.wire.frame.pack_frame`, header and MAC included), as compact sealed frames
  (wire version 5) of a network whose area table holds the corpus's six areas; the airtime of
  each frame as a PRIVATE_APP packet is summed.
* **baseline**: what a volunteer would do today — paste each record's public JSON (compact,
  UTF-8) into the Meshtastic app as text messages of at most 200 bytes each.

Prints ``name: value`` lines; every ratio comes from this run; the last line is
``airtime_ratio_vs_json_text``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from workload import NETWORK_AREAS, create_op, fallback_ref, frames_of, json_text, split_utf8

from fieldkit.core.clock import HybridClock
from fieldkit.core.interchange import json_line_fields, parse_iso, row_from_fields
from fieldkit.core.ops import Create, Op, RecordId, shareable, strip_private
from fieldkit.core.records import Urgency
from fieldkit.mesh.airtime import TEXT_MESSAGE_APP, packet_airtime_s, preset
from fieldkit.mesh.transport import MAX_PAYLOAD, PRIVATE_APP
from fieldkit.wire.frame import TAG_BYTES
from fieldkit.wire.ops_body import OpsWriter
from fieldkit.wire.text import deflate, pack_text

DEFAULT_CORPUS = Path(__file__).with_name("corpus.jsonl")
RELAY = 0x3FA9C2D1  # the hub that sends every frame
NO_ID_START = parse_iso("2026-11-18T06:00:00Z")


def load_ops(path: Path, *, strip_notes: bool = False) -> list[Op]:
    """The corpus as Create ops, as each record's hub would have logged them."""
    clocks: dict[int, HybridClock] = {}
    seqs: dict[int, int] = {}
    ops = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        new = row_from_fields(json_line_fields(line))
        rid = new.record_id
        if rid is None:  # a line without an id: the relay hub created it
            seqs[RELAY] = seqs.get(RELAY, 0) + 1
            rid = RecordId(RELAY, seqs[RELAY])
        created = new.created_at if new.created_at is not None else NO_ID_START + n * 60_000
        clock = clocks.setdefault(rid.hub, HybridClock())
        op = create_op(new, rid, created, new.ref or fallback_ref(line), clock.tick(created))
        if strip_notes and not new.draft.share_contact:
            ops.append(strip_private(op))  # contact and note
        else:
            ops.append(shareable(op, new.draft.share_contact))
    return ops


def urgency_first(ops: Sequence[Op]) -> list[Op]:
    order = {u: i for i, u in enumerate(Urgency)}

    def key(op: Op) -> tuple[int, int, int]:
        assert isinstance(op.body, Create)
        return (order[Urgency(str(op.body.fields["urgency"]))], op.hlc, op.origin)

    return sorted(ops, key=key)


def pack_all(ops: Sequence[Op], budget: int) -> list[tuple[bytes, list[Op]]]:
    """Every op in frames, as the gossip packs them, from one relay."""
    return frames_of(ops, budget, RELAY, 1000)


def has_note(op: Op) -> bool:
    assert isinstance(op.body, Create)
    return bool(op.body.fields.get("note"))


def markdown_table(output: str) -> str:
    """README's table of a saved run (``--table FILE``)."""
    v = dict(line.split(": ", 1) for line in output.splitlines() if ": " in line)

    def ms(name: str) -> str:
        return f"{float(v[name]):,.0f} ms"

    return "\n".join([
        "| | codec | JSON text |",
        "|---|---|---|",
        f"| bytes per record | {v['bytes_per_record_codec']} ({v['bytes_per_record_no_notes']} "
        f"without a note, {v['bytes_per_record_with_notes']} with) | "
        f"{v['bytes_per_record_json_text']} |",
        f"| records per full frame | {v['records_per_full_frame']} | — |",
        f"| airtime per record | {ms('airtime_ms_per_record_codec')} | "
        f"{ms('airtime_ms_per_record_json_text')} |",
        f"| records per hour at 10% duty | {v['records_per_hour_at_10pct_duty_codec']} | "
        f"{v['records_per_hour_at_10pct_duty_json_text']} |",
        f"| **airtime_ratio_vs_json_text** | **{v['airtime_ratio_vs_json_text']}×** less | |",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, help="print the README table of a saved output")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--preset", default="LONG_FAST")
    parser.add_argument("--budget", type=int, default=MAX_PAYLOAD)
    parser.add_argument(
        "--strip-notes", action="store_true", help="without consent, send no note either"
    )
    args = parser.parse_args()
    if args.table:
        print(markdown_table(args.table.read_text()))
        return
    modem = preset(args.preset)
    ops = urgency_first(load_ops(args.corpus, strip_notes=args.strip_notes))
    n = len(ops)

    frames = pack_all(ops, args.budget)
    codec_bytes = sum(len(f) for f, _ in frames)
    codec_air = sum(packet_airtime_s(len(f), modem, PRIVATE_APP) for f, _ in frames)
    full = [len(held) for _, held in frames[:-1]] or [len(frames[-1][1])]
    plain = [o for o in ops if not has_note(o)]
    noted = [o for o in ops if has_note(o)]

    def per_record(subset: list[Op]) -> str:
        if not subset:
            return "n/a"
        return f"{sum(len(f) for f, _ in pack_all(subset, args.budget)) / len(subset):.1f}"

    text_plain = text_dict = text_nodict = 0
    for _, held in frames:
        writer = OpsWriter(RELAY, compact=True, areas=NETWORK_AREAS)
        for op in held:
            writer.add(op)
        raw = b"".join(writer.texts)
        text_plain += len(raw)
        text_dict += len(pack_text(raw)[1])
        text_nodict += min(len(raw), len(deflate(raw, use_dict=False))) if raw else 0

    texts = [json_text(op) for op in ops]
    pieces = [p for t in texts for p in split_utf8(t)]
    json_bytes = sum(len(t) for t in texts)
    json_air = sum(packet_airtime_s(len(p), modem, TEXT_MESSAGE_APP) for p in pieces)

    out = {
        "corpus": args.corpus.name,
        "records": n,
        "records_with_notes": len(noted),
        "preset": modem.name,
        "frames_codec": len(frames),
        "records_per_full_frame": f"{sum(full) / len(full):.2f}",
        "mean_frame_bytes": f"{codec_bytes / len(frames):.1f}",
        "mac_bytes": TAG_BYTES,
        "mac_share_of_bytes": f"{TAG_BYTES * len(frames) / codec_bytes:.3f}",
        "bytes_per_record_codec": f"{codec_bytes / n:.1f}",
        "bytes_per_record_no_notes": per_record(plain),
        "bytes_per_record_with_notes": per_record(noted),
        "text_bytes_plain": text_plain,
        "text_bytes_deflate_no_dict": text_nodict,
        "text_bytes_zdict": text_dict,
        "zdict_ratio_vs_plain": f"{text_plain / max(text_dict, 1):.2f}",
        "zdict_ratio_vs_deflate_no_dict": f"{text_nodict / max(text_dict, 1):.2f}",
        "airtime_ms_per_record_codec": f"{1000 * codec_air / n:.1f}",
        "bytes_per_record_json_text": f"{json_bytes / n:.1f}",
        "messages_per_record_json_text": f"{len(pieces) / n:.2f}",
        "airtime_ms_per_record_json_text": f"{1000 * json_air / n:.1f}",
        "bytes_ratio_vs_json_text": f"{json_bytes / codec_bytes:.2f}",
        "records_per_hour_at_10pct_duty_codec": f"{360 / (codec_air / n):.0f}",
        "records_per_hour_at_10pct_duty_json_text": f"{360 / (json_air / n):.0f}",
        "airtime_ratio_vs_json_text": f"{json_air / codec_air:.2f}",
    }
    for name, value in out.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
