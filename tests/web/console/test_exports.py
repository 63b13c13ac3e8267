"""The console's exports page: files for signed-in coordinators only, the printed list public-
safe unless contacts are asked for, and runner bundles uploaded with CSRF, a size limit and
clear errors for another network's key or a damaged file."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from fieldkit.app.hub import Hub
from fieldkit.app.keyring import KeyRing
from fieldkit.app.netkey import ensure_network_key
from fieldkit.app.passphrase import set_passphrase
from fieldkit.app.runner_bundle import bundle_chunks
from fieldkit.core.records import Category, Contact, Draft, Kind, Status, Urgency
from fieldkit.sync.bundle_file import NOTICES_MAGIC, export_bundle
from fieldkit.web.console import exports
from fieldkit.web.console.app import create_console_app
from fieldkit.web.console.session import SignInThrottle
from tests.web.conftest import make_config
from tests.web.console.conftest import CONSOLE, PASSPHRASE, Clock, Console, csrf_of, sign_in

NEED = Draft(Kind.NEED, Category.WATER, Urgency.CRITICAL, "riverside", note="insulin cold",
             contact=Contact("Ana Pérez", "555-0100", "blue door"), share_contact=True)  # fmt: skip
KEY = bytes(range(32))


async def upload(
    client: httpx.AsyncClient, data: bytes, csrf: str | None = None, name: str = "hub.fkb"
) -> httpx.Response:
    if csrf is None:
        csrf = csrf_of((await client.get("/exports")).text)
    return await client.post(
        "/bundle", data={"csrf": csrf}, files={"bundle": (name, data, "application/octet-stream")}
    )


@pytest.mark.parametrize(
    "path",
    ["/exports", "/export/records.csv", "/export/records-hxl.csv", "/export/areas.geojson",
     "/print?area=riverside", "/bundle"],
)  # fmt: skip
async def test_exports_need_a_signed_in_coordinator(console: Console, path: str) -> None:
    page = await console.client.get(path)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/signin?next=")


async def test_the_exports_page_links_the_files_and_each_file_downloads(
    console: Console, hub: Hub
) -> None:
    await hub.submit(NEED)
    await sign_in(console.client)
    page = await console.client.get("/exports")
    for name in ("records.csv", "records-hxl.csv", "areas.geojson", "records-private.csv"):
        assert f'href="/export/{name}"' in page.text
    public = await console.client.get("/export/records.csv")
    assert public.headers["content-disposition"] == 'attachment; filename="records.csv"'
    assert "riverside" in public.text
    assert "555-0100" not in public.text
    assert "555-0100" in (await console.client.get("/export/records-private.csv")).text
    hxl = (await console.client.get("/export/records-hxl.csv")).text.splitlines()
    assert hxl[1].startswith("#meta+id,")
    assert "555-0100" not in "\n".join(hxl)
    geo = json.loads((await console.client.get("/export/areas.geojson")).text)
    assert geo["type"] == "FeatureCollection"
    assert geo["unplaced"][0]["needs"] == {"water": "1–4"}  # the test areas have no centroid
    assert (await console.client.get("/export/nothing.csv")).status_code == 404


async def test_the_printed_list_is_public_safe_unless_contacts_are_asked_for(
    console: Console, hub: Hub
) -> None:
    need = await hub.submit(NEED)
    await hub.submit(replace(NEED, area="downtown", note="elsewhere"))
    done = await hub.submit(replace(NEED, note="done already"))
    await hub.set_status(done.record.id, Status.FULFILLED)
    await sign_in(console.client)
    page = await console.client.get("/print?area=riverside")
    assert page.status_code == 200
    assert need.record.ref in page.text
    assert done.record.ref not in page.text  # open records only
    for private in ("Ana Pérez", "555-0100", "blue door", "insulin cold", "elsewhere"):
        assert private not in page.text
    assert "@media print" in page.text
    chosen = await console.client.get("/print?area=riverside&contacts=1")
    assert "555-0100" in chosen.text
    assert "insulin cold" in chosen.text
    assert (await console.client.get("/print?area=12 Oak Lane")).status_code == 404


async def test_a_bundle_downloaded_at_one_hub_is_taken_at_another(
    console: Console, hub: Hub, hub2: Hub
) -> None:
    await ensure_network_key(hub.store, KEY)
    await ensure_network_key(hub2.store, KEY)
    need = await hub2.submit(NEED)
    bundle, _ = await export_bundle(hub2, KEY)
    await sign_in(console.client)
    downloaded = await console.client.get("/bundle")
    assert downloaded.status_code == 200
    assert downloaded.headers["content-disposition"].endswith('.fkb"')
    assert downloaded.content[:4] == bundle[:4]
    taken = await upload(console.client, bundle)
    assert taken.status_code == 303
    page = await console.client.get(taken.headers["location"])
    assert "Bundle taken: 1 new changes (1 in the bundle)." in page.text
    assert await hub.store.get(need.record.id) is not None
    again = await console.client.get((await upload(console.client, bundle)).headers["location"])
    assert "Bundle taken: 0 new changes" in again.text


async def test_a_bundle_of_another_network_or_damaged_is_refused_whole(
    console: Console, hub: Hub, hub2: Hub
) -> None:
    await ensure_network_key(hub.store, KEY)
    await ensure_network_key(hub2.store, bytes(32))
    await hub2.submit(NEED)
    foreign, _ = await export_bundle(hub2, bytes(32))
    await ensure_network_key(hub2.store, KEY)
    ours, _ = await export_bundle(hub2, KEY)
    await sign_in(console.client)
    for data in (foreign, ours[:-5], ours[:40] + bytes([ours[40] ^ 1]) + ours[41:]):
        refused = await upload(console.client, data)
        assert refused.status_code == 400
        assert "another network (a different network key)" in refused.text
    not_one = await upload(console.client, b"id,kind\n1,need\n", name="records.csv")
    assert "This file is not a fieldkit bundle." in not_one.text
    assert await hub.store.list_records() == []


async def test_an_upload_needs_its_csrf_token_and_a_session(console: Console, hub: Hub) -> None:
    await ensure_network_key(hub.store, KEY)
    bundle, _ = await export_bundle(hub, KEY)
    await sign_in(console.client)
    refused = await upload(console.client, bundle, csrf="forged")
    assert refused.status_code == 403
    assert "not sent by this console" in refused.text
    console.client.cookies.clear()
    assert (await upload(console.client, bundle, csrf="x")).status_code == 403


async def test_a_bundle_larger_than_the_limit_is_refused_while_it_streams(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    await set_passphrase(hub.store, PASSPHRASE)
    await ensure_network_key(hub.store, KEY)
    clock = Clock()
    monkeypatch.setattr(exports, "BUNDLE_MAX", 1 << 20)  # read when the app is made
    app = create_console_app(hub, make_config(), clock=clock, throttle=SignInThrottle(clock))
    transport = httpx.ASGITransport(app=app, client=("10.42.0.50", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=CONSOLE) as client:
        await sign_in(client)
        csrf = csrf_of((await client.get("/exports")).text)

        async def chunks() -> AsyncIterator[
            bytes
        ]:  # no Content-Length: the limit holds as bytes arrive
            boundary = b"--b\r\n"
            yield boundary + b'Content-Disposition: form-data; name="csrf"\r\n\r\n'
            yield csrf.encode() + b"\r\n" + boundary
            yield b'Content-Disposition: form-data; name="bundle"; filename="x.fkb"\r\n\r\n'
            for _ in range(200):  # 2 MB
                yield b"\0" * 10_000

        refused = await client.post(
            "/bundle", content=chunks(),
            headers={"content-type": "multipart/form-data; boundary=b"},
        )  # fmt: skip
    assert refused.status_code == 413
    assert "larger than the console takes (1 MB)" in refused.text


async def test_during_a_key_move_console_bundles_carry_the_new_key_and_take_it(
    console: Console, hub: Hub, hub2: Hub
) -> None:
    await ensure_network_key(hub.store, KEY)
    await ensure_network_key(hub2.store, KEY)
    new_key = await (await KeyRing.open(hub2)).rotate()  # hub2 moves the network to a new key
    need = await hub2.submit(NEED)
    bundle = b"".join([chunk async for chunk in bundle_chunks(hub2)])  # its console's download
    assert bundle.startswith(NOTICES_MAGIC)
    await sign_in(console.client)
    taken = await upload(console.client, bundle)  # sealed under a key this hub did not hold
    assert taken.status_code == 303, taken.text
    assert (await KeyRing.open(hub)).keys.current == new_key
    assert await hub.store.get(need.record.id) is not None
    passed_on = await console.client.get("/bundle")  # and this hub passes the new key on
    assert passed_on.content.startswith(NOTICES_MAGIC)
