"""A resident with their code deletes their own contact details and note from the status
page (the form's token and Origin checked, like cancelling); a wrong code erases nothing."""

from __future__ import annotations

from fieldkit.app.hub import Hub
from fieldkit.core.ops import RecordId
from fieldkit.core.records import Category, Contact, Draft, Kind, Urgency
from fieldkit.core.refcode import display_code

from .conftest import ClientFactory, check, fresh_token

NEED = Draft(
    Kind.NEED, Category.WATER, Urgency.TODAY, "riverside", note="blue door, ask for Rosa",
    contact=Contact("Rosa Diaz", "+1 555 0100", "12 Elm St"),
)  # fmt: skip


async def submitted(hub: Hub) -> tuple[RecordId, str]:
    record = (await hub.submit(NEED)).record
    return record.id, display_code(record.ref)


async def test_a_resident_with_the_code_deletes_their_details_at_once(
    client_for: ClientFactory, hub: Hub
) -> None:
    rid, code = await submitted(hub)
    async with client_for() as client:
        page = await check(client, code)
        assert "Delete my contact details and note" in page.text
        form = {"ref": code, "record": str(rid), "lang": "en", "token": await fresh_token(client)}
        answer = await client.post("/erase?lang=en", data=form)
    assert answer.status_code == 200
    assert "Your contact details and note are deleted at this hub" in answer.text
    assert "Delete my contact details and note" not in answer.text  # nothing left to delete
    record = await hub.store.get(rid)
    assert record is not None
    assert record.redacted
    assert (record.note, record.contact) == ("", Contact())


async def test_a_wrong_code_a_missing_token_or_another_site_erases_nothing(
    client_for: ClientFactory, hub: Hub
) -> None:
    rid, code = await submitted(hub)
    other_rid, other_code = await submitted(hub)
    async with client_for() as client:
        token = await fresh_token(client)
        wrong = {"ref": other_code, "record": str(rid), "lang": "en", "token": token}
        by_wrong_code = await client.post("/erase", data=wrong)
        form = {"ref": code, "record": str(rid), "lang": "en"}
        without_token = await client.post("/erase", data=form)
        form["token"] = await fresh_token(client)
        foreign = await client.post("/erase", data=form, headers={"origin": "http://evil.example"})
    assert (by_wrong_code.status_code, without_token.status_code, foreign.status_code) == (
        404, 400, 403,
    )  # fmt: skip
    for held in (rid, other_rid):
        record = await hub.store.get(held)
        assert record is not None
        assert not record.redacted
        assert record.contact.name == "Rosa Diaz"
