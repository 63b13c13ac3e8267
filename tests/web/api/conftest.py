"""Fixtures for the JSON API: a hub with a token, its console app (where the API is mounted)
driven in-process over https, and a rate-limit clock the test moves."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from fieldkit.app.hub import Hub
from fieldkit.app.tokens import create_token
from fieldkit.web.api import ApiLimits
from fieldkit.web.console.app import create_console_app
from fieldkit.web.ratelimit import RateLimiter
from tests.web.conftest import make_config

CONSOLE = "https://10.42.0.1:8443"
TOKEN_NAME = "dispatch desk"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Api:
    client: httpx.AsyncClient
    token: str
    hub: Hub
    clock: Clock

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    async def get(self, path: str, **kwargs: object) -> httpx.Response:
        return await self.client.get(path, headers=self.auth(), **kwargs)  # type: ignore[arg-type]

    async def post(self, path: str, body: object) -> httpx.Response:
        return await self.client.post(path, headers=self.auth(), json=body)


@pytest.fixture
async def api(hub: Hub) -> AsyncIterator[Api]:
    token = await create_token(hub.store, TOKEN_NAME, time.time())
    clock = Clock()
    limits = ApiLimits(
        per_token=RateLimiter(burst=20, per_second=1, clock=clock),
        unknown=RateLimiter(burst=5, per_second=1, clock=clock),
    )
    app = create_console_app(hub, make_config(), api_limits=limits)
    transport = httpx.ASGITransport(app=app, client=("10.42.0.50", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=CONSOLE) as client:
        yield Api(client, token, hub, clock)
