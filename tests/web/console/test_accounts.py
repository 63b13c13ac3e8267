"""The cloud's console: each coordinator signs in with a personal account (a name and a
passphrase of their own, ``fieldkit cloud user add``), never the shared hub passphrase; a new
passphrase or a removed account ends that coordinator's sessions; a wrong name and a wrong
passphrase are refused alike. Its queue names the enrolled hubs, and its exports hold every
hub's records."""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from fieldkit.app.accounts import ACCOUNTS_KEY, list_accounts, remove_account, set_account
from fieldkit.app.cloud import enroll, redeem
from fieldkit.app.hub import Hub
from fieldkit.app.passphrase import set_passphrase
from fieldkit.cli.main import main
from fieldkit.core.records import Category, Draft, Kind, Urgency
from fieldkit.errors import UsageError
from fieldkit.web.console.app import create_console_app
from fieldkit.web.console.exports import FILES
from fieldkit.web.console.session import COOKIE, SignInThrottle
from tests.web.conftest import make_config
from tests.web.console.conftest import CONSOLE, PASSPHRASE, Clock, Console, sign_in

ANA, BO = "anas own long passphrase", "another long passphrase"


@pytest.fixture
async def cloud_console(hub: Hub) -> AsyncIterator[Console]:
    clock = Clock()
    await set_passphrase(hub.store, PASSPHRASE)  # a shared passphrase too: it must not work
    app = create_console_app(
        hub, make_config(), clock=clock, throttle=SignInThrottle(clock), accounts=True
    )
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=CONSOLE) as client:
        yield Console(client, clock, hub)


async def test_with_no_account_yet_the_page_says_how_to_add_one(cloud_console: Console) -> None:
    page = await cloud_console.client.get("/signin")
    assert "fieldkit cloud user add NAME" in page.text
    assert "Your passphrase" in page.text
    assert "The hub's passphrase" not in page.text


async def test_a_coordinator_signs_in_with_their_own_account_and_is_named_by_it(
    cloud_console: Console,
) -> None:
    now = int(cloud_console.clock.now)
    await set_account(cloud_console.hub.store, "Ana", ANA, now)
    await set_account(cloud_console.hub.store, "Bo", BO, now)
    reply = await sign_in(cloud_console.client, ANA, "Ana")
    assert reply.status_code == 303
    page = await cloud_console.client.get("/queue")
    assert page.status_code == 200
    assert "Signed in as Ana" in page.text


async def test_a_wrong_name_a_wrong_passphrase_and_the_hubs_shared_one_are_refused_alike(
    cloud_console: Console,
) -> None:
    await set_account(cloud_console.hub.store, "Ana", ANA, int(cloud_console.clock.now))
    for name, passphrase in (("Ana", BO), ("Nobody", ANA), ("Ana", PASSPHRASE)):
        cloud_console.clock.now += 600  # past the growing delay after the last refusal
        reply = await sign_in(cloud_console.client, passphrase, name)
        assert reply.status_code == 401, (name, passphrase)
        assert "Unknown name or wrong passphrase." in reply.text
        assert COOKIE not in cloud_console.client.cookies


async def test_a_new_passphrase_or_a_removed_account_ends_that_coordinators_sessions(
    cloud_console: Console,
) -> None:
    store, clock = cloud_console.hub.store, cloud_console.clock
    await set_account(store, "Ana", ANA, int(clock.now))
    assert (await sign_in(cloud_console.client, ANA, "Ana")).status_code == 303
    clock.now += 60
    await set_account(store, "Ana", BO, int(clock.now))  # changed: the old session ends
    page = await cloud_console.client.get("/queue", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/signin")
    clock.now += 1
    assert (await sign_in(cloud_console.client, BO, "Ana")).status_code == 303
    assert (await cloud_console.client.get("/queue")).status_code == 200
    assert await remove_account(store, "Ana")
    page = await cloud_console.client.get("/queue", follow_redirects=False)
    assert page.status_code == 303


async def test_accounts_are_kept_as_scrypt_hashes_never_the_passphrase(hub: Hub) -> None:
    await set_account(hub.store, "  Ana   María ", ANA, 1_790_000_000)
    stored = await hub.store.meta(ACCOUNTS_KEY)
    assert stored is not None
    assert ANA not in stored
    assert "scrypt$" in stored
    assert [(a.name, a.since) for a in await list_accounts(hub.store)] == [
        ("Ana María", 1_790_000_000)
    ]
    with pytest.raises(UsageError, match="characters"):
        await set_account(hub.store, "", ANA, 0)
    with pytest.raises(UsageError, match="at least"):
        await set_account(hub.store, "Bo", "short", 0)


def run(args: list[str], stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        import sys

        saved, sys.stdin = sys.stdin, io.StringIO(stdin)
        try:
            code = main(args, env={})
        finally:
            sys.stdin = saved
    return code, out.getvalue()


def test_the_commands_add_list_and_remove_accounts_and_refuse_a_shared_passphrase(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "cloud"
    code, out = run(["cloud", "init", "--dir", str(folder), "--user", "Ana"], ANA + "\n")
    assert code == 0, out
    assert "console account “Ana” added" in out
    config = str(folder / "fieldkit.toml")
    code, out = run(["--config", config, "cloud", "user", "add", "Bo"], BO + "\n")
    assert code == 0, out
    assert "“Bo” added" in out, out
    code, out = run(["--config", config, "cloud", "user", "add", "Bo"], ANA + "\n")
    assert code == 0, out
    assert "new passphrase" in out, out
    code, out = run(["--config", config, "cloud", "user", "list"])
    assert [line.split()[0] for line in out.splitlines()] == ["Ana", "Bo"], out
    code, out = run(["--config", config, "cloud", "user", "remove", "Bo"])
    assert code == 0, out
    assert "removed" in out, out
    code, out = run(["--config", config, "cloud", "user", "remove", "Bo"])
    assert code != 0, out
    assert "no console account named 'Bo'" in out, out
    code, out = run(["--config", config, "passphrase"], ANA + "\n")
    assert code != 0, out
    assert "fieldkit cloud user add NAME" in out, out


async def test_the_queue_names_each_enrolled_hub_and_exports_are_region_wide(
    hub: Hub, hub2: Hub
) -> None:
    await hub2.submit(Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside"))
    await hub.receive([op async for op, _ in hub2.store.iter_ops()])
    code = await enroll(hub.store, "St. Mary's", None)
    assert await redeem(hub.store, code.secret, hub2.id) is not None
    assert await hub.store.hub_names() == {hub2.id: "St. Mary's"}
    clock = Clock()
    await set_account(hub.store, "Ana", ANA, int(clock.now))
    app = create_console_app(
        hub, make_config(), clock=clock, accounts=True, hub_names=hub.store.hub_names
    )
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=CONSOLE) as client:
        assert (await sign_in(client, ANA, "Ana")).status_code == 303
        page = await client.get(f"/queue?kind=need&status=all&origin={hub2.id:08x}")
        await hub.submit(Draft(Kind.OFFER, Category.WATER, Urgency.FLEXIBLE, "riverside"))
        exported = {name: await client.get(f"/export/{name}") for name in FILES}
    for name, answer in exported.items():  # every hub's records, the cloud's own too
        assert answer.status_code == 200, name
    for name in ("records.csv", "records-hxl.csv"):
        assert f"{hub2.id:08x}-1" in exported[name].text, name
        assert f"{hub.id:08x}-" in exported[name].text, name
    assert f'<option value="{hub2.id:08x}">St. Mary&#39;s</option>' in page.text
    assert f"<bdi>St. Mary&#39;s</bdi> {hub2.id:08x}" in page.text
