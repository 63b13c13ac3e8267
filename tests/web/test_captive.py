"""Captive-portal rules: probes, other sites' hostnames, the captive API (in-process)."""

from __future__ import annotations

import json

import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from fieldkit.app.hub import Hub
from fieldkit.web.app import CAPTIVE_API_PATH
from fieldkit.web.captive import PROBES, Clients, host_name, host_port, is_own_host

from .conftest import HUB_IP, ClientFactory, fresh_token, intake

PORTAL = f"http://{HUB_IP}/"


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: f"{p.client}:{p.host}{p.path}")
async def test_each_os_probe_is_sent_to_the_portal_until_the_client_submits_then_sees_online(
    client_for: ClientFactory, probe
) -> None:
    async with client_for() as client:
        before = await client.get(probe.path, headers={"host": probe.host})
        assert before.status_code == 302
        assert before.headers["location"] == PORTAL
        posted = await client.post("/intake", data=await intake(client))
        assert posted.status_code == 303
        after = await client.get(probe.path, headers={"host": probe.host})
        assert after.status_code == probe.online.status
        assert after.text == probe.online.body
        if probe.online.status == 200:
            assert after.headers["content-type"].startswith(probe.online.content_type)


async def test_just_browsing_releases_the_client_as_a_submission_does(
    client_for: ClientFactory,
) -> None:
    clients = Clients()
    async with client_for(clients=clients) as client:
        apple = {"host": "captive.apple.com"}
        assert (await client.get("/hotspot-detect.html", headers=apple)).status_code == 302
        browse = await client.post(
            "/browse", data={"lang": "es", "token": await fresh_token(client, "/")}
        )
        assert browse.status_code == 303
        assert browse.headers["location"] == "/board?lang=es"
        online = await client.get("/hotspot-detect.html", headers=apple)
        assert online.status_code == 200
        assert "Success" in online.text


async def test_clients_are_remembered_by_address_not_by_cookie(
    client_for: ClientFactory,
) -> None:
    clients = Clients()
    async with client_for(ip="10.42.0.7", clients=clients) as first:
        await first.post("/browse", data={"lang": "en", "token": await fresh_token(first, "/")})
    async with client_for(ip="10.42.0.8", clients=clients) as second:
        probe = await second.get("/generate_204", headers={"host": "www.gstatic.com"})
        assert probe.status_code == 302
    async with client_for(ip="10.42.0.7", clients=clients) as again:
        probe = await again.get("/generate_204", headers={"host": "www.gstatic.com"})
        assert probe.status_code == 204


@pytest.mark.parametrize(
    ("host", "path"),
    [("example.com", "/"), ("news.example.org", "/some/article?id=3"),
     ("connectivitycheck.gstatic.com", "/other"), ("www.google.com", "/search?q=x")],
)  # fmt: skip
async def test_any_path_on_another_site_redirects_to_the_portal(
    client_for: ClientFactory, host: str, path: str
) -> None:
    async with client_for() as client:
        answer = await client.get(path, headers={"host": host})
        assert answer.status_code == 302
        assert answer.headers["location"] == PORTAL


async def test_an_unknown_path_on_the_hub_redirects_home_instead_of_404(
    client_for: ClientFactory,
) -> None:
    async with client_for() as client:
        for path in ("/nope", "/wp-login.php", "/cancel"):
            answer = await client.get(path)
            assert answer.status_code == 302, path
            assert answer.headers["location"].startswith("/?lang=")


async def test_extra_routes_are_served_on_any_hostname_before_the_catch_all(
    client_for: ClientFactory,
) -> None:
    async def pong(request: object) -> PlainTextResponse:
        return PlainTextResponse("pong")

    async with client_for(extra_routes=[Route("/sync/ping", pong)]) as client:
        assert (await client.get("/sync/ping")).text == "pong"
        elsewhere = {"host": "hub.example.org"}
        assert (await client.get("/sync/ping", headers=elsewhere)).text == "pong"
        assert (await client.get("/", headers=elsewhere)).status_code == 302


async def test_the_captive_api_says_captive_until_the_client_is_released(
    client_for: ClientFactory,
) -> None:
    async with client_for() as client:
        before = await client.get(CAPTIVE_API_PATH)
        assert before.headers["content-type"] == "application/captive+json"
        assert json.loads(before.text) == {
            "captive": True,
            "user-portal-url": PORTAL,
            "venue-info-url": f"{PORTAL}board",
        }
        await client.post("/browse", data={"lang": "en", "token": await fresh_token(client, "/")})
        after = json.loads((await client.get(CAPTIVE_API_PATH)).text)
        assert after["captive"] is False


async def test_a_configured_portal_host_is_where_probes_are_sent(
    client_for: ClientFactory,
) -> None:
    async with client_for(portal_host="hub.lan:8080") as client:
        probe = await client.get("/generate_204", headers={"host": "www.gstatic.com"})
        assert probe.headers["location"] == "http://hub.lan:8080/"


def test_own_hostnames_are_addresses_local_names_and_configured_ones() -> None:
    for host in ("10.42.0.1", "::1", "localhost", "hub", "hub.local", "fieldkit.home.arpa"):
        assert is_own_host(host), host
    assert is_own_host("aid.example.org", own={"aid.example.org"})
    for host in ("captive.apple.com", "example.com", "www.msftconnecttest.com"):
        assert not is_own_host(host), host
    assert host_name("Captive.Apple.com.:80") == "captive.apple.com"
    assert host_name("[fe80::1]:8080") == "fe80::1"


def test_the_remembered_clients_are_bounded_oldest_forgotten_first() -> None:
    clients = Clients(limit=2)
    for address in ("a", "b", "c"):
        clients.release(address)
    assert not clients.released("a")
    assert clients.released("b")
    assert clients.released("c")
    assert len(clients) == 2


async def test_hub_pages_carry_a_policy_that_forbids_any_outside_request(
    client_for: ClientFactory, hub: Hub
) -> None:
    async with client_for() as client:
        page = await client.get("/")
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src" not in policy


@pytest.mark.parametrize(
    ("header", "port"),
    [("example.com", 80), ("10.42.0.1:8080", 8080), ("[fe80::1]:81", 81), ("[fe80::1]", 80),
     ("", None), ("a:b:c", None), ("hub:99999", None), ("hub:", None)],
)  # fmt: skip
def test_the_portal_is_on_the_port_the_phone_asked_for(header: str, port: int | None) -> None:
    # Behind the hotspot's firewall a phone asks port 80 and the app listens on 8080: the
    # Host header says which port the phone used, so the redirect sends it back there.
    assert host_port(header) == port
