"""Residents are told who sees what they send: a page in every language, linked beside the
contact fields, and consent choices that say exactly who receives the contact."""

from __future__ import annotations

import pytest

from .conftest import ClientFactory

LANGS = ("en", "es", "ht", "vi", "zh", "ar")


@pytest.mark.parametrize("lang", LANGS)
async def test_the_who_sees_this_page_is_linked_beside_the_contact_fields_in_every_language(
    client_for: ClientFactory, lang: str
) -> None:
    async with client_for() as client:
        form = (await client.get(f"/intake?kind=need&lang={lang}")).text
        page = await client.get(f"/privacy?lang={lang}")
    contact = form.split('<details class="more" id="contact"')[1].split("</details>")[0]
    assert f'href="/privacy?lang={lang}"' in contact
    assert page.status_code == 200
    assert f'<html lang="{lang}"' in page.text
    assert "St. Mary&#39;s hub" in page.text.split("<main")[1]  # who runs it: this hub
    assert page.text.count("<li><strong>") == 7  # who, stored, travels, contact, public, …


async def test_the_consent_choices_name_who_receives_the_contact_and_the_note_is_disclosed(
    client_for: ClientFactory,
) -> None:
    async with client_for() as client:
        form = (await client.get("/intake?kind=need")).text
        spanish = (await client.get("/intake?kind=need&lang=es")).text
    assert "Only the coordinators at this hub (St. Mary&#39;s hub). They stay here." in form
    assert "Coordinators at every hub of the network" in form
    assert "give them to a neighbour" in form
    assert "Your note travels with your request to the other hubs." in form
    assert "Su nota viaja con su solicitud a los otros puntos." in spanish
