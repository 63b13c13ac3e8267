"""Shared by the sync benchmarks: the corpus as ops, spread over hubs as residents made them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from make_corpus import AREAS

from fieldkit.core.clock import HybridClock
from fieldkit.core.fold import fold
from fieldkit.core.interchange import json_line_fields, row_from_fields, to_public
from fieldkit.core.ops import Create, NewRecord, Op, RecordId, draft_fields, shareable
from fieldkit.core.records import Status
from fieldkit.core.refcode import format_code
from fieldkit.mesh.transport import MAX_PAYLOAD
from fieldkit.wire.frame import COMPACT_VERSION, pack_frame

CORPUS = Path(__file__).with_name("corpus.jsonl")
#: The area table of the corpus's network (``network.areas``): every benchmark hub holds it, as
#: hubs that joined one network do, so compact frames send these areas as indices.
NETWORK_AREAS = AREAS
KEY = b"benchmark network key, 32 bytes!"


def records(path: Path = CORPUS) -> list[dict[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json_line_fields(line) for line in lines if line.strip()]


def fallback_ref(seed: str) -> str:
    """A stable reference code for a corpus line that has none."""
    return format_code(int(hashlib.sha256(seed.encode()).hexdigest(), 16) >> 226)


def create_op(new: NewRecord, rid: RecordId, created: int, ref: str, hlc: int) -> Op:
    """The Create op a hub logs for one corpus record (as stored: the caller decides what of
    it may leave the hub)."""
    body = Create(
        rid, new.draft.kind, created, draft_fields(new.draft), ref, new.status, new.status_message
    )
    return Op(rid.hub, rid.seq, hlc, body)


def ops_at_hubs(count: int, hub_ids: list[int], path: Path = CORPUS) -> dict[int, list[Op]]:
    """``count`` corpus records, created round-robin at ``hub_ids`` as new, open submissions,
    as each hub logs them (contact details only where the resident consented: that is what
    leaves a hub)."""
    rows = records(path)
    by_hub: dict[int, list[Op]] = {h: [] for h in hub_ids}
    clocks = {h: HybridClock() for h in hub_ids}
    for n in range(count):
        fields = dict(rows[n % len(rows)])
        fields.pop("id", None)
        fields.pop("hub", None)
        new = replace(row_from_fields(fields), status=Status.OPEN, status_message="")
        hub = hub_ids[n % len(hub_ids)]
        rid = RecordId(hub, len(by_hub[hub]) + 1)
        created = new.created_at or 1_795_500_000_000 + n * 60_000
        op = create_op(new, rid, created, new.ref or fallback_ref(str(n)),
                       clocks[hub].tick(created + n))  # fmt: skip
        by_hub[hub].append(shareable(op, new.draft.share_contact))
    return by_hub


def urgency_of(op: Op) -> str:
    assert isinstance(op.body, Create)
    return str(op.body.fields["urgency"])


def json_text(op: Op) -> bytes:
    """The record as a volunteer would paste it today: its public JSON, compact."""
    (state,) = fold([op]).values()
    record = to_public(state.view())
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


def split_utf8(data: bytes, limit: int = MAX_PAYLOAD) -> list[bytes]:
    """Text messages of at most ``limit`` bytes, never cutting a character in two."""
    pieces = []
    while data:
        cut = min(limit, len(data))
        while cut < len(data) and (data[cut] & 0xC0) == 0x80:
            cut -= 1
        pieces.append(data[:cut])
        data = data[cut:]
    return pieces


def frames_of(
    ops: Sequence[Op], budget: int, sender: int, counter: int, counter_step: int = 1
) -> list[tuple[bytes, list[Op]]]:
    """Every op in compact frames of at most ``budget`` bytes from ``sender``, as the gossip
    packs them (:func:`fieldkit.wire.frame.pack_frame`): each frame with the ops it holds.
    Frame counters start at ``counter`` and go up by ``counter_step`` (0: every frame sized
    with the same counter)."""
    frames: list[tuple[bytes, list[Op]]] = []
    rest = list(ops)
    while rest:
        frame, taken = pack_frame(
            KEY, sender, counter, rest, budget, version=COMPACT_VERSION, areas=NETWORK_AREAS
        )
        chosen = set(taken)
        frames.append((frame, [rest[i] for i in taken]))
        rest = [op for i, op in enumerate(rest) if i not in chosen]
        counter += counter_step
    return frames
