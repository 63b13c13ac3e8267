"""Intake: submitting needs and offers, idempotency, and every kind of bad input."""

from __future__ import annotations

import asyncio
import re

from fieldkit.app.hub import Hub
from fieldkit.core.records import Category, Kind, Urgency
from fieldkit.web.ratelimit import RateLimiter

from .conftest import ClientFactory, code_of, fresh_token, intake, token_of


async def stored(hub: Hub) -> int:
    return sum((await hub.store.counts()).values())


async def test_a_need_submitted_in_spanish_is_stored_and_thanked_with_its_code(
    client_for: ClientFactory, hub: Hub
) -> None:
    async with client_for() as client:
        form = await intake(client, lang="es")
        form.update(contact_name="Ana", contact_phone="555 0101", share_contact="yes")
        posted = await client.post("/intake", data=form)
        assert posted.status_code == 303
        thanks = await client.get(posted.headers["location"])
        assert "Gracias, está guardado." in thanks.text
        code = code_of(thanks.text)
    (record,) = await hub.store.find_by_ref(code[:7])
    assert (record.kind, record.category, record.urgency) == (
        Kind.NEED, Category.WATER, Urgency.TODAY,
    )  # fmt: skip
    assert record.area == "riverside"
    assert record.language == "es"
    assert record.contact.name == "Ana"
    assert record.share_contact


async def test_an_offer_needs_no_urgency_and_defaults_to_flexible(
    client_for: ClientFactory, hub: Hub
) -> None:
    async with client_for() as client:
        form = await intake(client, kind="offer")
        del form["urgency"]
        posted = await client.post("/intake", data=form)
        code = code_of((await client.get(posted.headers["location"])).text)
    (record,) = await hub.store.find_by_ref(code[:7])
    assert record.kind is Kind.OFFER
    assert record.urgency is Urgency.FLEXIBLE


async def test_a_typed_area_is_kept_when_it_is_not_in_the_list(
    client_for: ClientFactory, hub: Hub
) -> None:
    async with client_for() as client:
        form = await intake(client)
        form.update(area="", area_other="Elm Street 12")
        posted = await client.post("/intake", data=form)
        code = code_of((await client.get(posted.headers["location"])).text)
    (record,) = await hub.store.find_by_ref(code[:7])
    assert record.area == "Elm Street 12"


async def test_the_same_form_sent_twice_creates_one_record(
    client_for: ClientFactory, hub: Hub
) -> None:
    async with client_for() as client:
        form = await intake(client)
        first = await client.post("/intake", data=form)
        again = await client.post("/intake", data=form)
        together = await asyncio.gather(*(client.post("/intake", data=form) for _ in range(5)))
    assert first.headers["location"] == again.headers["location"]
    assert {r.headers["location"] for r in together} == {first.headers["location"]}
    assert await stored(hub) == 1


async def test_two_forms_make_two_records(client_for: ClientFactory, hub: Hub) -> None:
    async with client_for() as client:
        for _ in range(2):
            await client.post("/intake", data=await intake(client))
    assert await stored(hub) == 2


async def test_missing_fields_are_reported_in_the_residents_language_and_nothing_stored(
    client_for: ClientFactory, hub: Hub
) -> None:
    async with client_for() as client:
        form = {"kind": "need", "token": await fresh_token(client), "lang": "vi"}
        page = await client.post("/intake", data=form)
    assert page.status_code == 400
    assert 'lang="vi"' in page.text
    assert "Vui lòng chọn một mục." in page.text  # category and urgency
    assert "Vui lòng cho biết khu vực." in page.text
    assert 'aria-invalid="true"' in page.text
    assert await stored(hub) == 0


async def test_unknown_choices_and_oversized_fields_are_refused_in_arabic(
    client_for: ClientFactory, hub: Hub
) -> None:
    async with client_for() as client:
        form = await intake(client, lang="ar")
        form.update(category="lava", urgency="yesterday", note="x" * 300, quantity="-4")
        page = await client.post("/intake", data=form)
    assert page.status_code == 400
    assert 'dir="rtl"' in page.text
    assert "يرجى اختيار واحد." in page.text
    assert "يرجى ألا يتجاوز النص 280 حرفًا (فيه 300)." in page.text
    assert "يرجى إدخال عدد من 1 إلى 100000." in page.text
    assert await stored(hub) == 0


async def test_a_contact_without_an_explicit_sharing_choice_is_refused(
    client_for: ClientFactory, hub: Hub
) -> None:
    async with client_for() as client:
        form = await intake(client)
        form.update(contact_phone="555 0199")
        page = await client.post("/intake", data=form)
        assert page.status_code == 400
        assert 'id="share_contact-err"' in page.text
        assert 'value="555 0199"' in page.text  # what was typed is kept
        form.update(share_contact="no")
        assert (await client.post("/intake", data=form)).status_code == 303
    (record,) = await hub.store.list_records()
    assert record.contact.phone == "555 0199"
    assert not record.share_contact


async def test_markup_in_a_note_is_stored_as_text_and_escaped_when_shown_again(
    client_for: ClientFactory, hub: Hub
) -> None:
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    async with client_for() as client:
        form = await intake(client)
        form.update(note=script, quantity="many")  # the error page shows the note again
        page = await client.post("/intake", data=form)
    assert page.status_code == 400
    assert "<script>" not in page.text
    assert "<img" not in page.text
    assert "&lt;script&gt;" in page.text
    assert await stored(hub) == 0


async def test_a_body_that_is_not_utf8_gets_a_clear_page(
    client_for: ClientFactory, hub: Hub
) -> None:
    async with client_for() as client:
        page = await client.post(
            "/intake?lang=es", content=b"kind=need&category=agua&note=%FF%FE",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
    assert page.status_code == 400
    assert "Algunos caracteres no se pudieron leer." in page.text
    assert await stored(hub) == 0


async def test_an_oversized_body_is_refused_before_it_is_read(
    client_for: ClientFactory, hub: Hub
) -> None:
    async with client_for() as client:
        form = await intake(client, lang="zh")
        form["note"] = "水" * 20_000
        page = await client.post("/intake?lang=zh", data=form)
    assert page.status_code == 413
    assert "内容超出了此表单的容量。" in page.text
    assert await stored(hub) == 0


async def test_a_multipart_or_json_body_is_refused(client_for: ClientFactory, hub: Hub) -> None:
    async with client_for() as client:
        as_json = await client.post("/intake", json={"kind": "need"})
        as_files = await client.post("/intake", files={"note": ("a.txt", b"hi")})
    assert as_json.status_code == as_files.status_code == 415
    assert "This page only accepts its own form." in as_json.text
    assert await stored(hub) == 0


async def test_a_flood_from_one_client_gets_a_friendly_wait_page(
    client_for: ClientFactory, hub: Hub
) -> None:
    now = [0.0]
    writes = RateLimiter(burst=3, per_second=0.1, clock=lambda: now[0])
    async with client_for(write_limit=writes) as client:
        answers = [
            (await client.post("/intake", data=await intake(client, lang="ht"))).status_code
            for _ in range(5)
        ]
        assert answers == [303, 303, 303, 429, 429]
        page = await client.post("/intake?lang=ht", data=await intake(client, lang="ht"))
        assert "W ap voye anpil bagay twò vit." in page.text
        assert int(page.headers["retry-after"]) == 10
        now[0] += 10
        assert (await client.post("/intake", data=await intake(client))).status_code == 303
    async with client_for(ip="10.42.0.99", write_limit=writes) as neighbour:
        assert (await neighbour.post("/intake", data=await intake(neighbour))).status_code == 303
    assert await stored(hub) == 5


async def test_a_flood_of_page_requests_is_limited_too(client_for: ClientFactory) -> None:
    flood = RateLimiter(burst=2, per_second=0.001, clock=lambda: 0.0)
    async with client_for(flood_limit=flood) as client:
        codes = [(await client.get("/")).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


async def test_a_notice_cannot_be_posted_through_the_resident_form(
    client_for: ClientFactory, hub: Hub
) -> None:
    async with client_for() as client:
        form = await intake(client)
        form["kind"] = "notice"
        assert (await client.post("/intake", data=form)).status_code == 400
    assert await stored(hub) == 0


async def test_every_blank_form_carries_its_own_token_and_two_residents_two_records(
    client_for: ClientFactory, hub: Hub
) -> None:
    async with client_for() as client:
        first = await intake(client, lang="vi")
        second = await intake(client, lang="vi")
        assert first["token"] != second["token"]
        assert "PLACEHOLDER" not in first["token"]
        for form in (first, second):
            assert (await client.post("/intake", data=form)).status_code == 303
    assert await stored(hub) == 2


async def test_the_error_summary_names_each_question_and_the_browser_never_validates_first(
    client_for: ClientFactory,
) -> None:
    async with client_for() as client:
        blank = await client.get("/intake?kind=need&lang=es")
        form = {"kind": "need", "token": token_of(blank.text), "lang": "es", "contact_phone": "1"}
        page = await client.post("/intake", data=form)
    summary = page.text.split('role="alert"')[1].split("</div>")[0]
    for question in ("Tipo de ayuda", "¿Qué tan urgente es?", "Zona", "¿Quién puede ver"):
        assert question in summary, question
    items = summary.split("<li>")[1:]
    assert len(items) == 5  # category, urgency, area, phone, consent
    assert all(re.search(r'">[^<:]+: [^<]+</a>', item) for item in items)  # "question: problem"
    for html in (blank.text, page.text):  # no native bubble, in the browser's language, first
        assert " required" not in html
        assert "novalidate" in html


async def test_switching_language_on_an_error_page_keeps_what_was_typed(
    client_for: ClientFactory, hub: Hub
) -> None:
    async with client_for() as client:
        form = {**await intake(client), "area": "", "note": "Two small children, 3rd floor"}
        form["contact_name"] = "Ana"
        page = await client.post("/intake", data=form)
        assert 'name="switch" value="ar"' in page.text  # the switcher sends the form along
        switched = await client.post("/intake", data={**form, "switch": "ar"})
    assert switched.status_code == 400
    assert 'dir="rtl"' in switched.text
    assert "Two small children, 3rd floor" in switched.text
    assert 'value="Ana"' in switched.text
    assert 'value="water" checked' in switched.text
    assert await stored(hub) == 0


async def test_an_offer_has_its_own_wording_and_the_board_shows_its_unit(
    client_for: ClientFactory, hub: Hub
) -> None:
    async with client_for() as client:
        page = await client.get("/intake?kind=offer")
        assert "How much can you offer?" in page.text
        assert "How can someone who needs this reach you?" in page.text
        assert "How can a helper reach you?" not in page.text
        form = {**await intake(client, kind="offer"), "quantity": "40"}
        del form["urgency"]
        await client.post("/intake", data=form)
        shelter = {**await intake(client, kind="offer"), "category": "shelter"}
        shelter.update(quantity="4", quantity_unit="people")
        await client.post("/intake", data=shelter)
        board = (await client.get("/board")).text
        arabic = (await client.get("/board?lang=ar")).text
    assert "water</span> · Riverside · 40 items or portions" in board
    assert "shelter</span> · Riverside · enough for 4 people" in board
    assert "تكفي 4 أشخاص" in arabic
