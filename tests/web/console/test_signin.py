"""Signing in to the console: passphrase, session cookie, CSRF, expiry, sign-out, the growing
delay after wrong passphrases, and what is private when signed out."""

from __future__ import annotations

from dataclasses import replace

import httpx

from fieldkit.app.hub import Hub
from fieldkit.app.passphrase import PASSPHRASE_KEY, set_passphrase, verify_passphrase
from fieldkit.core.records import Category, Contact, Draft, Kind, Urgency
from fieldkit.web.app import create_app
from fieldkit.web.console.app import create_console_app
from fieldkit.web.console.session import COOKIE, SESSION_S
from fieldkit.web.sync_api import sync_routes
from tests.web.conftest import make_config
from tests.web.console.conftest import PASSPHRASE, Console, csrf_of, sign_in

NEED = Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside", note="family of 3",
             quantity=3, contact=Contact(name="Bea", phone="555 0142", location="12 Elm St"),
             share_contact=False)  # fmt: skip


async def test_the_passphrase_is_kept_as_a_scrypt_hash_never_in_plain_text(hub: Hub) -> None:
    await set_passphrase(hub.store, PASSPHRASE)
    stored = await hub.store.meta(PASSPHRASE_KEY)
    assert stored is not None
    assert stored.startswith("scrypt$")
    assert PASSPHRASE not in stored
    assert verify_passphrase(PASSPHRASE, stored)
    assert not verify_passphrase(PASSPHRASE + "!", stored)


async def test_signing_in_sets_a_secure_httponly_strict_session_cookie(console: Console) -> None:
    reply = await sign_in(console.client)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/queue"
    cookie = next(h for h in reply.headers.get_list("set-cookie") if h.startswith(COOKIE + "="))
    lowered = cookie.lower()
    assert "secure" in lowered
    assert "httponly" in lowered
    assert "samesite=strict" in lowered
    assert f"max-age={SESSION_S}" in lowered
    page = await console.client.get("/queue")
    assert page.status_code == 200
    assert "Signed in as Ana" in page.text
    assert page.headers["cache-control"] == "no-store"


async def test_a_wrong_passphrase_is_refused_and_each_retry_waits_longer(
    console: Console,
) -> None:
    wrong = await sign_in(console.client, "not the passphrase")
    assert wrong.status_code == 401
    assert "Wrong passphrase" in wrong.text
    assert COOKIE not in console.client.cookies
    # at once again: refused without even checking, even with the right passphrase
    early = await sign_in(console.client)
    assert early.status_code == 429
    assert early.headers["retry-after"] == "1"
    console.clock.now += 1.5
    assert (await sign_in(console.client, "still wrong")).status_code == 401
    console.clock.now += 1.5  # the second failure means 2 s
    assert (await sign_in(console.client)).status_code == 429
    console.clock.now += 1
    assert (await sign_in(console.client)).status_code == 303


async def test_a_sign_in_without_its_csrf_token_is_refused(console: Console) -> None:
    await console.client.get("/signin")
    form = {"name": "Ana", "passphrase": PASSPHRASE}
    reply = await console.client.post("/signin", data=form)
    assert reply.status_code == 403
    assert COOKIE not in console.client.cookies


async def test_an_action_without_its_csrf_token_changes_nothing(console: Console) -> None:
    need = (await console.hub.submit(NEED)).record
    await sign_in(console.client)
    page = await console.client.get(f"/record/{need.id}")
    assert csrf_of(page.text)
    reply = await console.client.post(f"/record/{need.id}/status", data={"status": "cancelled"})
    assert reply.status_code == 403
    forged = {"status": "cancelled", "csrf": "x" * 43}
    assert (await console.client.post(f"/record/{need.id}/status", data=forged)).status_code == 403
    assert len(await console.hub.store.history(need.id)) == 1


async def test_an_expired_session_is_sent_back_to_sign_in(console: Console) -> None:
    await sign_in(console.client)
    assert (await console.client.get("/queue")).status_code == 200
    console.clock.now += SESSION_S + 1
    reply = await console.client.get("/queue")
    assert reply.status_code == 303
    assert reply.headers["location"].startswith("/signin")


async def test_after_signing_out_the_old_cookie_opens_nothing(console: Console) -> None:
    await sign_in(console.client)
    kept = console.client.cookies[COOKIE]
    page = await console.client.get("/queue")
    out = await console.client.post("/signout", data={"csrf": csrf_of(page.text)})
    assert out.status_code == 303
    console.client.cookies.set(COOKIE, kept, domain="10.42.0.1")
    assert (await console.client.get("/queue")).status_code == 303


async def test_a_tampered_cookie_opens_nothing(console: Console) -> None:
    await sign_in(console.client)
    payload, _, tag = console.client.cookies[COOKIE].partition(".")
    console.client.cookies.set(COOKIE, f"{payload}.{tag[::-1]}", domain="10.42.0.1")
    assert (await console.client.get("/queue")).status_code == 303


async def test_private_fields_are_hidden_when_signed_out(console: Console, hub: Hub) -> None:
    need = (await hub.submit(NEED)).record
    signed_out = await console.client.get(f"/record/{need.id}")
    assert signed_out.status_code == 303
    assert "555 0142" not in signed_out.text
    queue = await console.client.get("/queue")
    assert queue.status_code == 303
    assert "family of 3" not in queue.text
    transport = httpx.ASGITransport(app=create_app(hub, make_config()), client=("10.42.0.9", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://10.42.0.1") as resident:
        for path in ("/", "/board", f"/status?ref={need.ref}", "/hub/status", "/hub/status.json"):
            page = await resident.get(path)
            assert "555 0142" not in page.text
            assert "12 Elm St" not in page.text, path
    await sign_in(console.client)
    signed_in = await console.client.get(f"/record/{need.id}")
    assert "555 0142" in signed_in.text
    assert "12 Elm St" in signed_in.text


async def test_hub_status_is_a_health_line_unless_signed_in_or_on_the_hub_itself(
    console: Console, hub: Hub
) -> None:
    await hub.submit(replace(NEED, contact=Contact()))

    app = create_app(hub, make_config(), extra_routes=sync_routes(hub, b"k" * 32, "St. Mary's"))
    for ip, full in (("10.42.0.9", False), ("127.0.0.1", True)):
        transport = httpx.ASGITransport(app=app, client=(ip, 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://10.42.0.1") as c:
            status = (await c.get("/hub/status.json")).json()
            assert status["hub"]
            assert ("version_vector" in status) is full, ip
            assert status["records"] == ({"need.open": 1} if full else 1)
    assert (await console.client.get("/hub/status")).status_code == 303
    await sign_in(console.client)
    page = await console.client.get("/hub/status")
    assert page.status_code == 200
    assert "Ops held, per origin hub" in page.text


async def test_a_hub_without_a_passphrase_lets_nobody_in_and_says_how_to_set_one(
    hub: Hub,
) -> None:

    transport = httpx.ASGITransport(
        app=create_console_app(hub, make_config()), client=("10.42.0.7", 1)
    )
    async with httpx.AsyncClient(transport=transport, base_url="https://10.42.0.1") as client:
        page = await client.get("/signin")
        assert "fieldkit passphrase" in page.text
        form = {"csrf": csrf_of(page.text), "name": "Ana", "passphrase": "anything at all"}
        reply = await client.post("/signin", data=form)
    assert reply.status_code == 503
    assert COOKIE not in client.cookies


async def test_the_residents_port_only_points_to_the_console_over_https(hub: Hub) -> None:
    transport = httpx.ASGITransport(app=create_app(hub, make_config()), client=("10.42.0.9", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://10.42.0.1") as resident:
        reply = await resident.get("/console")
        signin = await resident.post("/signin", data={"passphrase": PASSPHRASE})
    assert reply.status_code == 302
    assert reply.headers["location"] == "https://10.42.0.1:8443/"
    assert signin.status_code == 302  # no sign-in on plain HTTP: the portal's catch-all
    assert "set-cookie" not in signin.headers
