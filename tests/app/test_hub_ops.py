"""The hub's coordinator and resident acts of this release, end to end through the store.

The coordinator's name travels with each act and shows in the audit trail at another hub; a
partial match leaves the rest of the offer; notices are posted, edited and withdrawn; a merge
keeps both histories; "I'd like this" links a resident's need to an offer; a resident answers
"still needed" or "no longer needed" with their code.
"""

from __future__ import annotations

import pytest

from fieldkit.app.hub import Hub
from fieldkit.core.freshness import on_board, still_needed
from fieldkit.core.ops import Confirm, Link, Match, Merge
from fieldkit.core.records import Category, Draft, Kind, QuantityUnit, Status, Urgency
from fieldkit.errors import FieldkitError, NotFound
from fieldkit.sync.bundle_file import export_bundle, import_bundle
from tests.conftest import FakeWall

KEY = b"n" * 32
HOUR = 3_600_000


def need(quantity: int | None = None, area: str = "riverside") -> Draft:
    unit = QuantityUnit.UNITS if quantity else None
    return Draft(Kind.NEED, Category.WATER, Urgency.TODAY, area, quantity=quantity,
                 quantity_unit=unit)  # fmt: skip


def offer(quantity: int = 40) -> Draft:
    return Draft(Kind.OFFER, Category.WATER, Urgency.FLEXIBLE, "riverside", quantity=quantity,
                 quantity_unit=QuantityUnit.UNITS)  # fmt: skip


async def test_the_coordinators_name_travels_to_the_audit_trail_of_another_hub(
    hub: Hub, hub2: Hub
) -> None:
    n = (await hub.submit(need(4))).record
    o = (await hub.submit(offer())).record
    op = await hub.match(n.id, o.id, "Pick up at St. Mary's 2–6 pm", by="Ana")
    assert op.actor == "Ana"
    await hub.set_status(n.id, Status.FULFILLED, by="Ana")
    await import_bundle(hub2, KEY, (await export_bundle(hub, KEY))[0])
    trail = await hub2.store.history(n.id)
    assert [(type(e.op.body).__name__, e.actor) for e in trail][1:] == [
        ("Match", "Ana"), ("SetStatus", "Ana"),
    ]  # fmt: skip


async def test_a_partial_match_keeps_the_remaining_quantity_of_the_offer(hub: Hub) -> None:
    o = (await hub.submit(offer(40))).record
    first = (await hub.submit(need(15))).record
    second = (await hub.submit(need(10))).record
    op = await hub.match(first.id, o.id, by="Ana")
    assert isinstance(op.body, Match)
    assert (op.body.quantity, op.body.quantity_unit) == (15, QuantityUnit.UNITS)
    await hub.match(second.id, o.id, by="Ana", quantity=5)
    left = await hub.store.get(o.id)
    assert left is not None
    assert left.remaining == 20
    assert not left.claim_conflict


async def test_matching_more_than_the_offer_has_is_kept_and_flagged(hub: Hub) -> None:
    o = (await hub.submit(offer(10))).record
    for _ in range(2):
        await hub.match((await hub.submit(need(8))).record.id, o.id, by="Ana", quantity=8)
    flagged = await hub.store.get(o.id)
    assert flagged is not None
    assert flagged.claim_conflict
    assert len(flagged.claims) == 2


async def test_notices_are_posted_edited_withdrawn_and_expire(hub: Hub, wall: FakeWall) -> None:
    draft = Draft(Kind.NOTICE, Category.WATER, Urgency.TODAY, "riverside",
                  note="Water at St. Mary's", expires=wall.ms + HOUR)  # fmt: skip
    posted = await hub.post_notice(draft, by="Ana")
    assert on_board(posted, wall.ms)
    assert not on_board(posted, wall.ms + 2 * HOUR)
    edit = await hub.edit_notice(posted.id, {"note": "Water at the school"}, by="Jo")
    assert edit.actor == "Jo"
    await hub.withdraw_notice(posted.id, by="Jo")
    gone = await hub.store.get(posted.id)
    assert gone is not None
    assert gone.note == "Water at the school"
    assert gone.status is Status.CANCELLED
    assert not on_board(gone, wall.ms)
    trail = await hub.store.history(posted.id)
    assert [e.actor for e in trail] == ["Ana", "Jo", "Jo"]
    with pytest.raises(FieldkitError):
        await hub.post_notice(need(), by="Ana")


async def test_a_merge_keeps_both_records_and_both_histories(hub: Hub) -> None:
    first = (await hub.submit(need(3))).record
    dup = (await hub.submit(need(3))).record
    await hub.update(dup.id, {"note": "same family"})
    op = await hub.merge(first.id, dup.id, by="Ana")
    assert isinstance(op.body, Merge)
    kept, merged = await hub.store.get(first.id), await hub.store.get(dup.id)
    assert kept is not None
    assert merged is not None
    assert kept.merged == (dup.id,)
    assert merged.merged_into == (first.id,)
    assert merged.status is Status.CANCELLED
    assert len(await hub.store.history(dup.id)) == 3  # its create, its edit, the merge
    assert [type(e.op.body) for e in await hub.store.history(first.id)][-1] is Merge


async def test_id_like_this_creates_a_need_linked_to_the_offer(hub: Hub) -> None:
    o = (await hub.submit(offer())).record
    done = await hub.want_offer(o.id, need(2), "web:token-1")
    assert done.record.linked == (o.id,)
    again = await hub.want_offer(o.id, need(2), "web:token-1")
    assert (again.new, again.record.id) == (False, done.record.id)
    linked = await hub.store.get(o.id)
    assert linked is not None
    assert linked.linked == (done.record.id,)
    assert type((await hub.store.history(o.id))[-1].op.body) is Link
    with pytest.raises(NotFound):
        await hub.want_offer(done.record.id, need(2))  # a need is no offer


async def test_a_resident_says_still_needed_or_no_longer_needed(hub: Hub, wall: FakeWall) -> None:
    n = (await hub.submit(need())).record
    wall.ms += 100 * HOUR
    stale = await hub.store.get(n.id)
    assert stale is not None
    assert still_needed(stale, wall.ms)
    op = await hub.confirm(n.id, True)
    assert isinstance(op.body, Confirm)
    fresh = await hub.store.get(n.id)
    assert fresh is not None
    assert not still_needed(fresh, wall.ms)
    await hub.confirm(n.id, False)
    done = await hub.store.get(n.id)
    assert done is not None
    assert done.status is Status.CANCELLED
