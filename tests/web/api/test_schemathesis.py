"""schemathesis over every operation of the JSON API's OpenAPI document, against a real
uvicorn over TLS on loopback with a valid token: no server error, and every answer (status,
content type, headers, body) as the document says."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance
from starlette.types import ASGIApp

from fieldkit.app.hub import Hub, create_identity
from fieldkit.app.tokens import create_token, new_token
from fieldkit.core.records import Category, Draft, Kind, QuantityUnit, Urgency
from fieldkit.store.sqlite import Store
from fieldkit.web.api import ApiLimits
from fieldkit.web.api_spec import openapi
from fieldkit.web.console.app import create_console_app
from fieldkit.web.ratelimit import RateLimiter
from tests.web.conftest import make_config
from tests.web.live import serving_in_thread, tls_files

schema = schemathesis.openapi.from_dict(openapi())
#: The document's example record ids name records that exist: 3fa9c2d1-41 is a need, -42 an
#: offer (hub 3fa9c2d1 makes its records in turn, a need then an offer), so generated
#: requests reach the hub's successes too, not only its 404s.
EXAMPLE_HUB = 0x3FA9C2D1
NEED = Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside", note="family of 4",
             quantity=4, quantity_unit=QuantityUnit.PEOPLE)  # fmt: skip


@dataclass(frozen=True)
class Live:
    url: str
    session: requests.Session  # carries the token
    bare: requests.Session  # carries nothing: schemathesis adds the token (ApiToken)
    ca: str
    token: str


#: The live hub's token, known before it starts (schemathesis asks :class:`ApiToken` for it
#: while it collects the cases).
TOKEN_BYTES = secrets.token_bytes(32)
TOKEN = new_token(lambda _: TOKEN_BYTES)


@schema.auth()
class ApiToken:
    """The token given the way schemathesis knows of, so that a negative case that leaves the
    Authorization header out on purpose goes without it (and must get its 401)."""

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        return TOKEN

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("api-live")
    ca, cert, key = tls_files(folder)

    @asynccontextmanager
    async def build() -> AsyncIterator[tuple[ASGIApp, str]]:
        async with await Store.open(folder / "hub.sqlite3") as store:
            await create_identity(store, random_bits=lambda _: EXAMPLE_HUB)
            hub = await Hub.open(store)
            for i in range(50):  # needs and offers in two areas: suggestions have work to do
                kind = (Kind.NEED, Kind.OFFER)[i % 2]
                await hub.submit(
                    replace(NEED, kind=kind, area=("riverside", "downtown")[i % 3 % 2])
                )
            token = await create_token(
                store, "schemathesis", time.time(), random_bytes=lambda _: TOKEN_BYTES
            )
            unlimited = RateLimiter(burst=100_000, per_second=1000)  # tests/web/api/test_api.py
            generous = ApiLimits(per_token=unlimited, unknown=unlimited)  # checks the limits
            yield create_console_app(hub, make_config(folder), api_limits=generous), token

    with serving_in_thread(build, tls=(cert, key)) as (url, token):
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify; no proxies
        session.verify = str(ca)
        session.headers["Authorization"] = f"Bearer {token}"
        bare = requests.Session()
        bare.trust_env = False
        bare.verify = str(ca)
        assert token == TOKEN
        yield Live(url, session, bare, str(ca), token)
        session.close()
        bare.close()


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_its_document_says(case: schemathesis.Case, live: Live) -> None:
    excluded = []
    if case.operation.definition.raw.get("operationId") == "postNotice":
        # A schema cannot say "not empty once control and unassigned characters are dropped"
        # (what the hub cleans text of): such a notice is a 422 naming its field, not a 2xx.
        excluded.append(positive_data_acceptance)
    case.call_and_validate(
        base_url=live.url, session=live.bare, verify=live.ca, excluded_checks=excluded
    )


def test_the_live_hub_serves_its_document_and_knows_the_example_record(live: Live) -> None:
    assert live.session.get(f"{live.url}/api/v1/openapi.json").json() == openapi()
    need = live.session.get(f"{live.url}/api/v1/records/3fa9c2d1-41").json()
    offer = live.session.get(f"{live.url}/api/v1/records/3fa9c2d1-42").json()
    assert (need["kind"], offer["kind"]) == ("need", "offer")
