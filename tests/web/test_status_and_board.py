"""Status by reference code (at any hub holding the record), cancelling, and the board."""

from __future__ import annotations

from pathlib import Path

from fieldkit.app.hub import Hub
from fieldkit.app.import_export import import_file
from fieldkit.core.records import Category, Contact, Draft, Kind, Status, Urgency
from fieldkit.web.app import create_app

from .conftest import ClientFactory, check, code_of, fresh_token, intake, make_config

SAMPLE = Path(__file__).parents[2] / "fieldkit" / "data" / "sample.jsonl"


async def submit(client_for: ClientFactory) -> str:
    async with client_for() as client:
        posted = await client.post("/intake", data=await intake(client))
        return code_of((await client.get(posted.headers["location"])).text)


async def test_status_shows_received_then_the_coordinators_message_once_matched(
    client_for: ClientFactory, hub: Hub
) -> None:
    code = await submit(client_for)
    async with client_for() as client:
        page = await check(client, code.lower().replace("-", ""), "es")
        assert page.status_code == 200
        assert "Recibida" in page.text
        (record,) = await hub.store.find_by_ref(code[:7])
        await hub.set_status(record.id, Status.MATCHED, "Pick up water at St. Mary's 2–6 pm <b>")
        page = await check(client, code, "es")
        assert "Emparejada" in page.text
        assert "Pick up water at St. Mary&#39;s 2–6 pm &lt;b&gt;" in page.text
        await hub.set_status(record.id, Status.FULFILLED)
        page = await check(client, code)
        assert "Fulfilled" in page.text
        assert "Cancel this request" not in page.text


async def test_status_works_at_another_hub_that_received_the_record(
    client_for: ClientFactory, hub: Hub, hub2: Hub
) -> None:
    code = await submit(client_for)
    ops = [op async for op, _ in hub.store.iter_ops()]
    await hub2.receive(ops)
    async with client_for(app=create_app(hub2, make_config())) as other:
        page = await check(other, code)
    assert page.status_code == 200
    assert "Received" in page.text
    assert code in page.text


async def test_a_mistyped_or_unknown_code_is_explained(client_for: ClientFactory) -> None:
    async with client_for() as client:
        bad = await check(client, "12", "zh")
        unknown = await check(client, "ZZZ-ZZZ")
    assert bad.status_code == 400
    assert "代码由七个字母和数字组成" in bad.text
    assert unknown.status_code == 404
    assert "No request with code ZZZ-ZZZ has reached this hub yet." in unknown.text


async def test_a_resident_cancels_their_request_with_the_code_after_confirming(
    client_for: ClientFactory, hub: Hub
) -> None:
    code = await submit(client_for)
    (record,) = await hub.store.find_by_ref(code[:7])
    async with client_for() as client:
        form = {"ref": code, "record": str(record.id), "lang": "en"}
        form["token"] = await fresh_token(client)
        confirm = await client.post("/cancel", data=form)
        assert confirm.status_code == 200
        assert "Yes, cancel it" in confirm.text
        assert (await hub.store.get(record.id)).status is Status.OPEN  # type: ignore[union-attr]
        page = await client.post("/cancel", data={**form, "confirm": "yes"})
        assert page.status_code == 200
    assert "Cancelled" in page.text
    assert (await hub.store.get(record.id)).status is Status.CANCELLED  # type: ignore[union-attr]


async def test_cancelling_needs_the_matching_code(client_for: ClientFactory, hub: Hub) -> None:
    code = await submit(client_for)
    (record,) = await hub.store.find_by_ref(code[:7])
    async with client_for() as client:
        form = {"ref": "ZZZ-ZZZ", "record": str(record.id), "confirm": "yes"}
        form["token"] = await fresh_token(client)
        assert (await client.post("/cancel", data=form)).status_code == 404
    assert (await hub.store.get(record.id)).status is Status.OPEN  # type: ignore[union-attr]


async def test_the_board_shows_counts_offers_and_notices_but_never_personal_data(
    client_for: ClientFactory, hub: Hub
) -> None:
    await import_file(hub, SAMPLE)
    secret = Draft(
        Kind.OFFER, Category.FOOD, Urgency.FLEXIBLE, "riverside", note="my secret note",
        quantity=12, contact=Contact("Zed Private", "555 9999", "red door"), share_contact=True,
    )  # fmt: skip
    await hub.submit(secret)
    async with client_for() as client:
        for path in ("/", "/board", "/board?area=riverside"):
            page = await client.get(path)
            assert page.status_code == 200
            for private in ("Zed Private", "555 9999", "red door", "my secret note", "Ana",
                            "Insulin needs to stay cold", "blue house"):  # fmt: skip
                assert private not in page.text, (path, private)
        riverside = await client.get("/board?area=riverside")
    assert "Boil water order for Riverside" in riverside.text
    assert "water</span> · Riverside" not in riverside.text  # needs are counts only
    assert 'water · Riverside: <span class="n">1–4</span>' in riverside.text
    assert "Downtown:" not in riverside.text
    assert "· 12" in riverside.text  # the offer's quantity
