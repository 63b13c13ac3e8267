"""Residents' part of this release's ops: "I'd like this" on an offer, a note kept at this hub
only, and "still needed" / "no longer needed" with the reference code, in every language."""

from __future__ import annotations

import html
import re

import pytest

from fieldkit.app.config import DEFAULT_LANGUAGES
from fieldkit.app.hub import Hub
from fieldkit.core.records import Category, Draft, Kind, QuantityUnit, Status, Urgency
from fieldkit.web.i18n import load_languages

from .conftest import ClientFactory, check, code_of, fresh_token, intake, token_of

LANGUAGES = load_languages(DEFAULT_LANGUAGES)
OFFER = Draft(Kind.OFFER, Category.WATER, Urgency.FLEXIBLE, "riverside", quantity=40,
              quantity_unit=QuantityUnit.UNITS)  # fmt: skip
NEW_STRINGS = (
    "I’d like this", "Keep my note at this hub only",
    "Is this still needed?", "Still needed", "No longer needed",
    "You are asking for this offer. The coordinators will see it first.",
    "Thank you: the coordinators know it is still needed.",
    "That offer is no longer on the board. Ask for what you need with the form.",
)  # fmt: skip


def want_link(page: str) -> str:
    found = re.search(r'<a class="want" href="([^"]+)"', page)
    assert found, "each offer on the board has an “I’d like this” link"
    return html.unescape(found.group(1))


async def test_id_like_this_on_the_board_makes_a_need_linked_to_the_offer(
    client_for: ClientFactory, hub: Hub
) -> None:
    offer = (await hub.submit(OFFER)).record
    async with client_for() as client:
        link = want_link((await client.get("/board")).text)
        assert f"offer={offer.id}" in link
        form_page = (await client.get(link)).text
        assert "You are asking for this offer" in form_page
        assert f'name="offer" value="{offer.id}"' in form_page
        assert 'value="water" checked' in form_page  # the offer's category, filled in
        posted = await client.post("/intake", data={
            "kind": "need", "token": token_of(form_page), "lang": "en", "offer": str(offer.id),
            "category": "water", "urgency": "today", "quantity": "2", "area": "riverside",
        })  # fmt: skip
        assert posted.status_code == 303
        code = code_of((await client.get(posted.headers["location"])).text)
    (need,) = await hub.store.find_by_ref(code[:7])
    assert need.linked == (offer.id,)
    linked = await hub.store.get(offer.id)
    assert linked is not None
    assert linked.linked == (need.id,)


async def test_asking_for_an_offer_that_is_gone_says_so(
    client_for: ClientFactory, hub: Hub
) -> None:
    offer = (await hub.submit(OFFER)).record
    await hub.set_status(offer.id, Status.FULFILLED)
    async with client_for() as client:
        page = await client.get(f"/intake?kind=need&offer={offer.id}")
        assert page.status_code == 404
        assert "no longer on the board" in page.text
        bogus = await client.get("/intake?kind=need&offer=not-a-record")
        assert bogus.status_code == 404


async def test_the_note_kept_at_this_hub_is_stored_apart(
    client_for: ClientFactory, hub: Hub
) -> None:
    async with client_for() as client:
        form = await intake(client)
        form.update(note="Side door, ring twice", keep_note_here="yes")
        posted = await client.post("/intake", data=form)
        code = code_of((await client.get(posted.headers["location"])).text)
    (record,) = await hub.store.find_by_ref(code[:7])
    assert (record.note, record.local_note) == ("", "Side door, ring twice")


async def test_a_resident_can_post_neither_an_expiry_nor_the_local_note_directly(
    client_for: ClientFactory, hub: Hub
) -> None:
    async with client_for() as client:
        form = await intake(client)
        form.update(expires="1", local_note="sneaky", note="visible")
        posted = await client.post("/intake", data=form)
        code = code_of((await client.get(posted.headers["location"])).text)
    (record,) = await hub.store.find_by_ref(code[:7])
    assert (record.expires, record.local_note, record.note) == (None, "", "visible")


async def still_needed(client, code: str, record: str, answer: str):  # type: ignore[no-untyped-def]
    form = {"ref": code, "record": record, "answer": answer, "lang": "en",
            "token": await fresh_token(client)}  # fmt: skip
    return await client.post("/still-needed?lang=en", data=form)


async def test_a_resident_says_still_needed_with_the_code(
    client_for: ClientFactory, hub: Hub
) -> None:
    done = await hub.submit(Draft(Kind.NEED, Category.FOOD, Urgency.TODAY, "riverside"))
    async with client_for() as client:
        page = (await check(client, done.record.ref)).text
        assert "Is this still needed?" in page
        answered = await still_needed(client, done.record.ref, str(done.record.id), "yes")
        assert answered.status_code == 200
        assert "the coordinators know it is still needed" in answered.text
    fresh = await hub.store.get(done.record.id)
    assert fresh is not None
    assert fresh.confirmed > 0
    assert fresh.status is Status.OPEN


async def test_a_resident_says_no_longer_needed_with_the_code(
    client_for: ClientFactory, hub: Hub
) -> None:
    done = await hub.submit(Draft(Kind.NEED, Category.FOOD, Urgency.TODAY, "riverside"))
    async with client_for() as client:
        answered = await still_needed(client, done.record.ref, str(done.record.id), "no")
        assert answered.status_code == 200
        assert "Is this still needed?" not in answered.text
    gone = await hub.store.get(done.record.id)
    assert gone is not None
    assert gone.status is Status.CANCELLED


async def test_an_answer_without_the_forms_token_is_refused(
    client_for: ClientFactory, hub: Hub
) -> None:
    done = await hub.submit(Draft(Kind.NEED, Category.FOOD, Urgency.TODAY, "riverside"))
    async with client_for() as client:
        form = {"ref": done.record.ref, "record": str(done.record.id), "answer": "no"}
        refused = await client.post("/still-needed", data=form)
        assert refused.status_code == 400
    kept = await hub.store.get(done.record.id)
    assert kept is not None
    assert kept.status is Status.OPEN


@pytest.mark.parametrize("code", [c for c in LANGUAGES if c != "en"])
def test_every_new_resident_string_is_translated(code: str) -> None:
    for text in NEW_STRINGS:
        assert LANGUAGES[code].gettext(text) != text, (code, text)


@pytest.mark.parametrize("code", [c for c in LANGUAGES if c != "en"])
async def test_the_new_words_show_in_each_language(
    client_for: ClientFactory, hub: Hub, code: str
) -> None:
    await hub.submit(OFFER)
    need = await hub.submit(Draft(Kind.NEED, Category.FOOD, Urgency.TODAY, "riverside"))
    lang = LANGUAGES[code]
    async with client_for() as client:
        board = (await client.get(f"/board?lang={code}")).text
        assert html.escape(lang.gettext("I’d like this"), quote=False) in board
        form = (await client.get(f"/intake?kind=need&lang={code}")).text
        assert lang.gettext("Keep my note at this hub only") in (html.unescape(form))
        status = html.unescape((await check(client, need.record.ref, code)).text)
        assert lang.gettext("Still needed") in status
        assert lang.gettext("No longer needed") in status
