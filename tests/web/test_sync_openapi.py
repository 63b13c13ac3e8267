"""The sync endpoints' OpenAPI document, checked by schemathesis against a real uvicorn on
loopback serving the residents' app: arbitrary bodies and headers, half of them under a fresh
challenge and behind a bundle's magic bytes so the sealed-body checks run on them, never
crash the hub or get a 5xx, and every answer is one the document lists."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from starlette.types import ASGIApp

from fieldkit.app.hub import Hub, create_identity
from fieldkit.core.records import Category, Draft, Kind, Urgency
from fieldkit.store.sqlite import Store
from fieldkit.sync.http import CHALLENGE_HEADER, http_peer, sync_with
from fieldkit.web.app import create_app
from fieldkit.web.ratelimit import RateLimiter
from fieldkit.web.sync_api import sync_routes
from fieldkit.web.sync_openapi import DOCUMENT_PATH, sync_openapi, sync_openapi_routes
from fieldkit.wire.bundle_format import SEALED_MAGIC
from tests.web.conftest import make_config
from tests.web.live import serving_in_thread

KEY = b"k" * 32
schema = schemathesis.openapi.from_dict(sync_openapi())


@dataclass
class Live:
    url: str
    session: requests.Session
    turns: Iterator[bool]

    def challenge(self) -> str:
        return self.session.get(f"{self.url}/sync/v1/challenge").text.strip()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("sync-live")

    @asynccontextmanager
    async def build() -> AsyncIterator[tuple[ASGIApp, None]]:
        async with await Store.open(folder / "hub.sqlite3") as store:
            await create_identity(store)
            hub = await Hub.open(store)
            await hub.submit(Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside"))
            routes = [*sync_routes(hub, KEY, "hub"), *sync_openapi_routes()]
            unlimited = RateLimiter(burst=100_000, per_second=1000)
            app = create_app(hub, make_config(folder), extra_routes=routes, flood_limit=unlimited)
            yield app, None

    with serving_in_thread(build) as (url, _):
        session = requests.Session()
        session.trust_env = False
        yield Live(url, session, itertools.cycle([True, False]))
        session.close()


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_body_or_header_crashes_the_hub_and_every_answer_is_documented(
    case: schemathesis.Case, live: Live
) -> None:
    if case.operation.path == "/sync/v1" and next(live.turns):
        case.headers = {**(case.headers or {}), CHALLENGE_HEADER: live.challenge()}
        body = case.body if isinstance(case.body, bytes) else str(case.body).encode()
        case.body = SEALED_MAGIC + body  # past the first check, into the sealed layer's
    case.call_and_validate(base_url=live.url, session=live.session)


def test_the_hub_serves_the_document(live: Live) -> None:
    assert live.session.get(f"{live.url}{DOCUMENT_PATH}").json() == sync_openapi()


def test_a_garbage_body_under_a_fresh_challenge_is_a_403_naming_the_check(live: Live) -> None:
    answer = live.session.post(
        f"{live.url}/sync/v1", data=b"\x00" * 100, headers={CHALLENGE_HEADER: live.challenge()}
    )
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/plain")


def test_other_methods_on_the_sync_paths_are_405_not_the_portal(live: Live) -> None:
    answer = live.session.put(f"{live.url}/sync/v1", data=b"x", allow_redirects=False)
    assert (answer.status_code, answer.headers["allow"]) == (405, "POST")
    answer = live.session.post(f"{live.url}/sync/v1/challenge", allow_redirects=False)
    assert answer.status_code == 405


async def test_real_sync_still_works_beside_the_documents_routes(
    tmp_path: Path, hub: Hub, hub2: Hub
) -> None:
    await hub.submit(Draft(Kind.NEED, Category.FOOD, Urgency.TODAY, "downtown"))
    routes = [*sync_routes(hub, KEY, "hub"), *sync_openapi_routes()]
    app = create_app(hub, make_config(tmp_path), extra_routes=routes)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://10.42.0.1") as client:
        await sync_with(hub2, KEY, http_peer(client, "http://10.42.0.1"))
    assert await hub2.store.state_hash() == await hub.store.state_hash()
