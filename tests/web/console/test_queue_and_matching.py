"""The console's queues, a record's audit trail, suggestions with their reasons, and matching
with a message the resident sees."""

from __future__ import annotations

import re
from dataclasses import replace

import httpx

from fieldkit.app.hub import Hub
from fieldkit.core.records import Category, Draft, Kind, QuantityUnit, Status, Urgency
from fieldkit.web.app import create_app
from tests.conftest import FakeWall
from tests.web.conftest import check, make_config
from tests.web.console.conftest import Console, csrf_of, sign_in

HOUR = 3_600_000
NEED = Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside", note="family of 4",
             quantity=4, quantity_unit=QuantityUnit.PEOPLE)  # fmt: skip
OFFER = Draft(Kind.OFFER, Category.WATER, Urgency.TODAY, "riverside", note="40 bottles",
              quantity=6, quantity_unit=QuantityUnit.PEOPLE)  # fmt: skip


def record_links(html: str) -> list[str]:
    return re.findall(r'<a href="/record/([0-9a-f]{8}-[0-9]+)">', html)


async def test_the_need_queue_is_most_urgent_first_then_oldest(
    console: Console, hub: Hub, wall: FakeWall
) -> None:
    later_today = await hub.submit(NEED)
    wall.ms += HOUR
    critical = await hub.submit(replace(NEED, urgency=Urgency.CRITICAL))
    wall.ms += HOUR
    newest_today = await hub.submit(NEED)
    await hub.submit(OFFER)
    await sign_in(console.client)
    page = await console.client.get("/queue?kind=need")
    assert record_links(page.text) == [
        str(critical.record.id), str(later_today.record.id), str(newest_today.record.id)
    ]  # fmt: skip


async def test_queue_filters_narrow_by_category_area_status_origin_and_text(
    console: Console, hub: Hub
) -> None:
    water = await hub.submit(NEED)
    food = await hub.submit(replace(NEED, category=Category.FOOD, area="downtown", note="rice"))
    await hub.set_status(food.record.id, Status.CANCELLED)
    await sign_in(console.client)

    async def ids(query: str) -> list[str]:
        return record_links((await console.client.get(f"/queue?kind=need&{query}")).text)

    assert await ids("") == [str(water.record.id)]  # open by default
    assert await ids("status=all") == [str(water.record.id), str(food.record.id)]
    assert await ids("status=all&category=food") == [str(food.record.id)]
    assert await ids("status=all&area=downtown") == [str(food.record.id)]
    assert await ids("status=all&q=RICE") == [str(food.record.id)]
    assert await ids(f"status=all&origin={hub.id:08x}") == [str(water.record.id),
                                                             str(food.record.id)]  # fmt: skip
    assert await ids("status=all&origin=0000beef") == []


async def test_a_need_shows_suggested_offers_with_their_reasons(
    console: Console, hub: Hub, wall: FakeWall
) -> None:
    offer = await hub.submit(OFFER)
    far = await hub.submit(replace(OFFER, area="downtown"))
    wall.ms += 2 * HOUR
    need = await hub.submit(NEED)
    await sign_in(console.client)
    page = (await console.client.get(f"/record/{need.record.id}")).text
    suggested = page.partition("Suggested offers")[2]
    assert suggested.index(str(offer.record.id)) < suggested.index(str(far.record.id))
    assert "same area · covers 4 of 4 people · offered 2 h ago" in suggested
    assert "another area · covers 4 of 4 people" in suggested


async def test_matching_with_a_message_reaches_the_residents_status_page_and_the_audit_trail(
    console: Console, hub: Hub
) -> None:
    offer = await hub.submit(OFFER)
    need = await hub.submit(NEED)
    await sign_in(console.client, name="Ana")
    page = await console.client.get(f"/record/{need.record.id}")
    form = {"csrf": csrf_of(page.text), "other": str(offer.record.id),
            "message": "Pick up water at St. Mary's, 2–6 pm"}  # fmt: skip
    done = await console.client.post(f"/record/{need.record.id}/match", data=form)
    assert done.status_code == 303
    detail = (await console.client.get(done.headers["location"])).text
    trail = detail.partition("History (audit trail)")[2]
    assert "matched with" in trail
    assert "Ana" in trail
    transport = httpx.ASGITransport(app=create_app(hub, make_config()), client=("10.42.0.9", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://10.42.0.1") as resident:
        status = await check(resident, need.record.ref)  # looked up by POST, with its token
    assert "Pick up water at St. Mary&#39;s, 2–6 pm" in status.text
    assert "Matched" in status.text
    offer_page = (await console.client.get(f"/record/{offer.record.id}")).text
    assert "left: 2" in offer_page  # 6 offered, 4 taken: the rest can serve another need


async def test_fulfilled_cancel_and_reopen_move_the_record_and_are_recorded(
    console: Console, hub: Hub
) -> None:
    need = (await hub.submit(NEED)).record
    await sign_in(console.client, name="Ben")

    async def act(status: str, message: str = "") -> httpx.Response:
        page = await console.client.get(f"/record/{need.id}")
        form = {"csrf": csrf_of(page.text), "status": status, "message": message}
        return await console.client.post(f"/record/{need.id}/status", data=form)

    assert (await act("cancelled", "Duplicate of another request")).status_code == 303
    assert (await hub.store.get(need.id)).status is Status.CANCELLED  # type: ignore[union-attr]
    assert (await act("open")).status_code == 303
    assert (await hub.store.get(need.id)).status is Status.OPEN  # type: ignore[union-attr]
    assert (await act("fulfilled", "Delivered")).status_code == 303
    assert (await hub.store.get(need.id)).status is Status.FULFILLED  # type: ignore[union-attr]
    assert (await act("nonsense")).status_code == 400
    actors = [entry.actor for entry in await hub.store.history(need.id)]
    assert actors == ["", "Ben", "Ben", "Ben"]


async def test_a_fulfilled_record_offers_no_move_back_and_refuses_one_posted_anyway(
    console: Console, hub: Hub
) -> None:
    need = (await hub.submit(NEED)).record
    await hub.set_status(need.id, Status.FULFILLED, "Delivered")
    await sign_in(console.client)
    page = (await console.client.get(f"/record/{need.id}")).text
    assert 'value="open"' not in page
    assert 'value="cancelled"' not in page
    for status in ("open", "cancelled"):
        form = {"csrf": csrf_of(page), "status": status, "message": ""}
        reply = await console.client.post(f"/record/{need.id}/status", data=form)
        assert reply.status_code == 400
    assert (await hub.store.get(need.id)).status is Status.FULFILLED  # type: ignore[union-attr]
    assert len(await hub.store.history(need.id)) == 2  # nothing recorded for the refused moves


async def test_an_unknown_record_is_a_clear_404(console: Console) -> None:
    await sign_in(console.client)
    for rid in ("0000beef-1", "not-an-id"):
        page = await console.client.get(f"/record/{rid}")
        assert page.status_code == 404


async def test_a_page_number_that_is_no_number_or_far_past_the_end_shows_a_page(
    console: Console,
) -> None:
    await sign_in(console.client)
    for page in ("²", "٣", "0", "-1", "9" * 30):
        answer = await console.client.get(f"/queue?kind=need&page={page}")
        assert answer.status_code == 200, page
