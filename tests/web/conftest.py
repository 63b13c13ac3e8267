"""Fixtures for the web app: one hub's app driven in-process through httpx."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from fieldkit.app.config import Area, Config
from fieldkit.app.hub import Hub
from fieldkit.web.app import create_app

HUB_IP = "10.42.0.1"
AREAS = (Area("riverside", "Riverside"), Area("downtown", "Downtown"))

ClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


def make_config(tmp: Path = Path("."), languages: tuple[str, ...] | None = None) -> Config:
    if languages is None:
        return Config("St. Mary's hub", tmp, areas=AREAS)
    return Config("St. Mary's hub", tmp, languages=languages, areas=AREAS)


@pytest.fixture
def client_for(hub: Hub) -> ClientFactory:
    """``async with client_for(ip="10.42.0.23", **create_app_kwargs) as client``."""

    @asynccontextmanager
    async def make(
        ip: str = "10.42.0.23", app: Any = None, config: Config | None = None, **kwargs: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        app = app or create_app(hub, config or make_config(), **kwargs)
        transport = httpx.ASGITransport(app=app, client=(ip, 40000))
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{HUB_IP}") as client:
            yield client

    return make


def token_of(html: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', html)
    assert found, "the intake form carries an idempotency token"
    return found.group(1)


async def fresh_token(client: httpx.AsyncClient, path: str = "/status") -> str:
    """A form token, as a page of the hub hands it out."""
    return token_of((await client.get(path)).text)


async def check(client: httpx.AsyncClient, code: str, lang: str = "en") -> httpx.Response:
    """Look a code up as the status page's form does (by POST, with the form's token)."""
    form = {"ref": code, "lang": lang, "token": await fresh_token(client)}
    return await client.post(f"/status?lang={lang}", data=form)


def code_of(html: str) -> str:
    found = re.search(r'class="code">([0-9A-Z]{3}-[0-9A-Z]{4})<', html)
    assert found, "the thank-you page shows the reference code"
    return found.group(1)


async def intake(client: httpx.AsyncClient, kind: str = "need", lang: str = "en") -> dict[str, str]:
    """A filled-in intake form as the page serves it (with its token)."""
    page = await client.get(f"/intake?kind={kind}&lang={lang}")
    assert page.status_code == 200
    return {
        "kind": kind, "token": token_of(page.text), "lang": lang, "category": "water",
        "urgency": "today", "quantity": "3", "area": "riverside", "note": "",
    }  # fmt: skip
