"""Redaction: on a resident's request a coordinator erases their name, phone, location and
note from the console (the box ticked, the form's CSRF token checked); the erasure shows on
the record page and in its history, with the coordinator's name kept at this hub only, and
reaches another hub by sync. The same from ``fieldkit redact`` and the JSON API."""

from __future__ import annotations

from pathlib import Path

import httpx

from fieldkit.app.hub import Hub
from fieldkit.core.ops import Redact
from fieldkit.core.records import Category, Contact, Draft, Kind, Urgency
from fieldkit.sync.http import http_peer, sync_with
from fieldkit.web.app import create_app
from fieldkit.web.sync_api import sync_routes
from tests.web.conftest import make_config
from tests.web.console.conftest import Console, csrf_of, sign_in

KEY = b"k" * 32
NEED = Draft(
    Kind.NEED, Category.WATER, Urgency.TODAY, "riverside", note="call Rosa, blue door",
    contact=Contact("Rosa Diaz", "+1 555 0100", "12 Elm St"), share_contact=True,
)  # fmt: skip


async def redact_from_console(console: Console, rid: str, **form: str) -> httpx.Response:
    page = await console.client.get(f"/record/{rid}")
    data = {"csrf": csrf_of(page.text), "confirm": "yes", **form}
    return await console.client.post(f"/record/{rid}/redact", data=data)


async def sync_over_http(hub: Hub, other: Hub, tmp_path: Path) -> None:
    app = create_app(hub, make_config(tmp_path), extra_routes=sync_routes(hub, KEY, "hub"))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://10.42.0.1") as client:
        await sync_with(other, KEY, http_peer(client, "http://10.42.0.1"))


async def test_a_console_redaction_erases_the_fields_here_and_after_sync_at_another_hub(
    console: Console, hub2: Hub, tmp_path: Path
) -> None:
    rid = (await console.hub.submit(NEED)).record.id
    await sync_over_http(console.hub, hub2, tmp_path)
    before = await hub2.store.get(rid)
    assert before is not None
    assert before.contact.name == "Rosa Diaz"

    await sign_in(console.client, name="Ana")
    page = await console.client.get(f"/record/{rid}")
    assert "It cannot be undone" in page.text
    assert "Rosa Diaz" in page.text
    answer = await redact_from_console(console, str(rid))
    assert answer.status_code == 303

    here = await console.hub.store.get(rid)
    assert here is not None
    assert here.redacted
    assert (here.note, here.contact) == ("", Contact())
    shown = (await console.client.get(f"/record/{rid}")).text
    assert "Rosa Diaz" not in shown
    assert "555 0100" not in shown
    assert "blue door" not in shown
    assert "Personal data redacted." in shown
    assert "personal data redacted" in shown
    (redaction,) = [
        e for e in await console.hub.store.history(rid) if isinstance(e.op.body, Redact)
    ]
    assert (redaction.actor, redaction.op.actor) == ("Ana", "")  # named here, not on the wire

    await sync_over_http(console.hub, hub2, tmp_path)
    there = await hub2.store.get(rid)
    assert there is not None
    assert there.redacted
    assert (there.note, there.contact) == ("", Contact())


async def test_a_signed_out_user_cannot_redact(console: Console) -> None:
    rid = (await console.hub.submit(NEED)).record.id
    answer = await console.client.post(f"/record/{rid}/redact", data={"confirm": "yes"})
    assert answer.status_code == 403
    record = await console.hub.store.get(rid)
    assert record is not None
    assert not record.redacted
    assert record.contact.name == "Rosa Diaz"


async def test_a_redaction_without_the_csrf_token_or_the_box_ticked_is_refused(
    console: Console,
) -> None:
    rid = (await console.hub.submit(NEED)).record.id
    await sign_in(console.client)
    forged = await console.client.post(f"/record/{rid}/redact", data={"confirm": "yes"})
    unticked = await redact_from_console(console, str(rid), confirm="")
    assert (forged.status_code, unticked.status_code) == (403, 400)
    assert "Tick the box" in unticked.text
    record = await console.hub.store.get(rid)
    assert record is not None
    assert not record.redacted
    assert record.note == "call Rosa, blue door"
