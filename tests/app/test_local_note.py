"""A note kept at this hub only never leaves it: not by radio, not by HTTP, not in a bundle.

The resident ticks "keep the note at this hub only": the note is stored in ``local_note``, a
field of the table marked ``local``. Every exit sends ops as
:func:`fieldkit.core.ops.shareable` makes them, and that drops local fields whole (the key,
not just its value), so the op stays in its version 1 form for every hub.
"""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from fieldkit.app.hub import Hub
from fieldkit.core.ops import Create, Op, RecordId, Update, op_to_json, shareable
from fieldkit.core.records import Category, Draft, Kind, Urgency, parse_draft
from fieldkit.sync.bundle_file import export_bundle, import_bundle
from fieldkit.sync.http import http_peer, sync_with
from fieldkit.sync.replica import MemoryReplica, StoreReplica
from fieldkit.web import sync_api
from fieldkit.wire.bundle_format import read_bundle
from fieldkit.wire.frame import decode_envelope, encode_envelope
from fieldkit.wire.messages import Envelope, Ops
from fieldkit.wire.ops_body import op_version

KEY = b"n" * 32
SECRET = "Door code 4412, key under the blue pot"
DRAFT_ID = RecordId(1, 1)
DRAFT = Draft(Kind.NEED, Category.MEDICATION, Urgency.TODAY, "riverside", local_note=SECRET)


def leaks(ops: list[Op]) -> list[Op]:
    return [op for op in ops if SECRET in str(op_to_json(op)) or "local_note" in str(op)]


async def our_ops(hub: Hub) -> list[Op]:
    return await StoreReplica(hub, 1000).shareable_ops([(hub.id, seq) for seq in range(1, 10)])


def test_the_form_checkbox_moves_the_note_to_the_local_field() -> None:
    raw = {"kind": "need", "category": "water", "urgency": "today", "area": "riverside",
           "note": SECRET, "keep_note_here": "yes"}  # fmt: skip
    draft = parse_draft(raw)
    assert (draft.note, draft.local_note) == ("", SECRET)
    assert parse_draft({**raw, "keep_note_here": ""}).note == SECRET


async def test_the_hub_itself_keeps_and_shows_the_note(hub: Hub) -> None:
    done = await hub.submit(DRAFT)
    assert done.record.local_note == SECRET


def test_shareable_drops_the_local_field_whole_so_the_op_stays_version_1() -> None:
    op = Op(1, 1, 1 << 16, Create(DRAFT_ID, Kind.NEED, 0, {"category": "water",
            "urgency": "today", "area": "x", "local_note": SECRET}))  # fmt: skip
    for consented in (False, True):
        out = shareable(op, consented)
        assert isinstance(out.body, Create)
        assert "local_note" not in out.body.fields
        assert op_version(out) == 1
    edit = Op(1, 2, 2 << 16, Update(DRAFT_ID, {"local_note": SECRET + "!"}))
    assert shareable(edit, True).body == Update(DRAFT_ID, {})


async def test_by_radio_the_note_never_leaves(hub: Hub) -> None:
    await hub.submit(DRAFT)
    await hub.update((await hub.submit(DRAFT, "k2")).record.id, {"local_note": SECRET + "."})
    ops = await our_ops(hub)
    assert len(ops) == 3
    assert leaks(ops) == []
    frame = encode_envelope(KEY, Envelope(hub.id, 1, Ops(tuple(ops))))
    assert frame[0] == 1  # nothing new on air
    decoded = decode_envelope(KEY, frame).message
    assert isinstance(decoded, Ops)
    assert leaks(list(decoded.ops)) == []


async def test_by_radio_in_the_simulations_too() -> None:
    replica = MemoryReplica()
    op = Op(7, 1, 1 << 16, Create(DRAFT_ID, Kind.NEED, 0, {"category": "water",
            "urgency": "today", "area": "x", "local_note": SECRET}))  # fmt: skip
    replica.add(op)
    assert leaks(await replica.shareable_ops([(7, 1)])) == []


async def test_by_http_sync_the_note_never_leaves(hub: Hub, hub2: Hub) -> None:
    record = (await hub.submit(DRAFT)).record
    app = Starlette(routes=sync_api.sync_routes(hub2, KEY, "server"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        await sync_with(hub, KEY, http_peer(client, "http://hub"))
    there = await hub2.store.get(record.id)
    assert there is not None
    assert there.local_note == ""
    assert leaks([entry.op for entry in await hub2.store.history(record.id)]) == []
    # the hubs agree on everything they share: the local note is no difference to reconcile
    assert await hub.store.state_hash(public=True) == await hub2.store.state_hash(public=True)


async def test_in_a_bundle_the_note_never_leaves(hub: Hub, hub2: Hub) -> None:
    record = (await hub.submit(DRAFT)).record
    data, count = await export_bundle(hub, KEY)
    assert count == 1
    ops = [op for env in read_bundle(KEY, data) if isinstance(env.message, Ops)
           for op in env.message.ops]  # fmt: skip
    assert len(ops) == 1
    assert leaks(ops) == []
    assert SECRET.encode() not in data
    await import_bundle(hub2, KEY, data)
    there = await hub2.store.get(record.id)
    assert there is not None
    assert there.local_note == ""
