"""Fixtures for the coordinator console: a hub with a passphrase, its console app driven
in-process over https (so Secure cookies are kept), and a clock the test moves."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from fieldkit.app.hub import Hub
from fieldkit.app.passphrase import set_passphrase
from fieldkit.web.console.app import create_console_app
from fieldkit.web.console.session import SignInThrottle
from tests.web.conftest import make_config

PASSPHRASE = "correct horse battery"
CONSOLE = "https://10.42.0.1:8443"


class Clock:
    def __init__(self, now: float = 1_790_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Console:
    client: httpx.AsyncClient
    clock: Clock
    hub: Hub


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "every console form carries a CSRF token"
    return found.group(1)


async def sign_in(
    client: httpx.AsyncClient, passphrase: str = PASSPHRASE, name: str = "Ana"
) -> httpx.Response:
    page = await client.get("/signin")
    form = {"csrf": csrf_of(page.text), "name": name, "passphrase": passphrase, "next": ""}
    return await client.post("/signin", data=form)


@pytest.fixture
async def console(hub: Hub) -> AsyncIterator[Console]:
    await set_passphrase(hub.store, PASSPHRASE)
    clock = Clock()
    app = create_console_app(hub, make_config(), clock=clock, throttle=SignInThrottle(clock))
    transport = httpx.ASGITransport(app=app, client=("10.42.0.50", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=CONSOLE) as client:
        yield Console(client, clock, hub)
