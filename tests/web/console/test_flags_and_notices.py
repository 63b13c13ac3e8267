"""The console's flags for a person and its notices.

Claims that together take more than an offer has (two coordinators on partitioned hubs) are
all shown and flagged; likely duplicates are flagged and merged keeping both histories;
needs past ``web.still_needed_hours`` are flagged "still needed?", not hidden; notices are
posted with an area and an expiry, edited and withdrawn, and leave residents' boards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import httpx

from fieldkit.app.hub import Hub
from fieldkit.app.passphrase import set_passphrase
from fieldkit.core.ops import Match, Op, RecordId
from fieldkit.core.records import Category, Contact, Draft, Kind, QuantityUnit, Status, Urgency
from fieldkit.web.app import create_app
from fieldkit.web.console.app import create_console_app
from fieldkit.web.console.session import SignInThrottle
from tests.conftest import FakeWall
from tests.web.conftest import make_config
from tests.web.console.conftest import CONSOLE, PASSPHRASE, Clock, Console, csrf_of, sign_in

HOUR = 3_600_000
OTHER_HUB = 0x0B0B0B0B


def need(quantity: int = 8, **kw: object) -> Draft:
    return Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside", quantity=quantity,
                 quantity_unit=QuantityUnit.UNITS, **kw)  # type: ignore[arg-type]  # fmt: skip


@asynccontextmanager
async def resident(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(hub, make_config()), client=("10.42.0.9", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        yield client


async def board(hub: Hub, path: str = "/board") -> str:
    async with resident(hub) as client:
        return (await client.get(path)).text


OFFER = Draft(Kind.OFFER, Category.WATER, Urgency.FLEXIBLE, "riverside", quantity=10,
              quantity_unit=QuantityUnit.UNITS)  # fmt: skip


async def test_a_claim_made_at_a_partitioned_hub_is_shown_beside_ours_and_flagged(
    console: Console, hub: Hub
) -> None:
    offer = (await hub.submit(OFFER)).record
    ours, theirs = (await hub.submit(need())).record, (await hub.submit(need())).record
    await hub.match(ours.id, offer.id, by="Ana")
    # the other hub matched the same offer while the two were apart; its op arrives later
    body = Match(theirs.id, offer.id, 0, 0, "", 8, QuantityUnit.UNITS)
    await hub.receive([Op(OTHER_HUB, 1, hub.clock.tick(hub.now_ms()), body, 0, "Jean")])
    await sign_in(console.client)
    page = (await console.client.get(f"/record/{offer.id}")).text
    assert "Claimed more than once" in page
    claims = page.partition("<h2>Claims</h2>")[2].partition("</table>")[0]
    assert "Ana" in claims
    assert "Jean" in claims
    assert str(ours.id) in claims
    assert str(theirs.id) in claims
    queue = (await console.client.get("/queue?kind=offer&status=all")).text
    assert "Claimed more than once" in queue


async def test_a_likely_duplicate_is_flagged_and_merged_keeping_both_histories(
    console: Console, hub: Hub
) -> None:
    first = (await hub.submit(need(contact=Contact(phone="555-0100")))).record
    second = (await hub.submit(need(contact=Contact(phone="(555) 0100")))).record
    await sign_in(console.client)
    queue = (await console.client.get("/queue?kind=need")).text
    assert queue.count("Likely duplicate") == 2
    page = (await console.client.get(f"/record/{first.id}")).text
    assert "same phone" in page
    merged = await console.client.post(
        f"/record/{first.id}/merge", data={"csrf": csrf_of(page), "duplicate": str(second.id)}
    )
    assert merged.status_code == 303
    dup = await hub.store.get(second.id)
    assert dup is not None
    assert dup.merged_into == (first.id,)
    assert dup.status is Status.CANCELLED
    trail = (await console.client.get(f"/record/{second.id}")).text
    assert "merged into" in trail
    assert "created (need)" in trail  # its own history stays


async def test_an_old_need_is_flagged_still_needed_not_hidden(
    console: Console, hub: Hub, wall: FakeWall
) -> None:
    old = (await hub.submit(need())).record
    wall.ms += 73 * HOUR
    await sign_in(console.client)
    queue = (await console.client.get("/queue?kind=need")).text
    assert str(old.id) in queue
    assert "Still needed?" in queue
    await hub.confirm(old.id, True)  # the resident says so with their code
    assert "Still needed?" not in (await console.client.get("/queue?kind=need")).text


async def test_the_age_for_still_needed_comes_from_the_config(hub: Hub, wall: FakeWall) -> None:
    await set_passphrase(hub.store, PASSPHRASE)
    clock = Clock()
    config = replace(make_config(), still_needed_hours=1)
    app = create_console_app(hub, config, clock=clock, throttle=SignInThrottle(clock))
    await hub.submit(need())
    wall.ms += 2 * HOUR
    transport = httpx.ASGITransport(app=app, client=("10.42.0.50", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=CONSOLE) as client:
        await sign_in(client)
        assert "Still needed?" in (await client.get("/queue?kind=need")).text


async def test_notices_are_posted_edited_and_withdrawn_and_leave_the_board(
    console: Console, hub: Hub, wall: FakeWall
) -> None:
    await sign_in(console.client)
    page = (await console.client.get("/notices")).text
    posted = await console.client.post("/notices", data={
        "csrf": csrf_of(page), "category": "water", "area": "riverside",
        "note": "Water at St. Mary's 2-6 pm", "expires_hours": "5",
    })  # fmt: skip
    assert posted.status_code == 303
    rid = RecordId.parse(posted.headers["location"].rsplit("/", 1)[1])
    notice = await hub.store.get(rid)
    assert notice is not None
    assert notice.expires == wall.ms + 5 * HOUR
    assert [e.actor for e in await hub.store.history(rid)] == ["Ana"]
    assert "St. Mary" in await board(hub)
    detail = (await console.client.get(f"/record/{rid}")).text
    await console.client.post(f"/record/{rid}/notice", data={
        "csrf": csrf_of(detail), "area": "riverside", "note": "Water at the school 2-6 pm",
        "expires_hours": "5",
    })  # fmt: skip
    assert "the school" in await board(hub)
    await console.client.post(f"/record/{rid}/withdraw", data={"csrf": csrf_of(detail)})
    withdrawn = await hub.store.get(rid)
    assert withdrawn is not None
    assert withdrawn.status is Status.CANCELLED
    assert "the school" not in await board(hub)
    listing = (await console.client.get("/notices")).text
    assert "withdrawn" in listing


async def test_an_expired_notice_leaves_the_board(
    console: Console, hub: Hub, wall: FakeWall
) -> None:
    notice = Draft(Kind.NOTICE, Category.WATER, Urgency.TODAY, "riverside",
                   note="Boil water today", expires=wall.ms + HOUR)  # fmt: skip
    await hub.post_notice(notice, by="Ana")
    assert "Boil water today" in await board(hub)
    wall.ms += 2 * HOUR
    assert "Boil water today" not in await board(hub)
    assert "Boil water today" not in await board(hub, "/")


async def test_a_notice_without_an_area_is_refused_naming_the_field(console: Console) -> None:
    await sign_in(console.client)
    page = (await console.client.get("/notices")).text
    refused = await console.client.post("/notices", data={
        "csrf": csrf_of(page), "category": "water", "area": "", "note": "x",
    })  # fmt: skip
    assert refused.status_code == 400
    assert "area" in refused.text
