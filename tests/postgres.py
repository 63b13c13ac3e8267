"""The test PostgreSQL server: ``FIELDKIT_TEST_POSTGRES`` names it (``.ci/run`` starts one
with ``.ci/postgres``). Without it PostgreSQL tests are skipped, and CI (FIELDKIT_NO_SKIPS=1)
fails on a skip, so they always run there."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

URL_VARIABLE = "FIELDKIT_TEST_POSTGRES"


def server_url() -> str:
    url = os.environ.get(URL_VARIABLE, "")
    if not url:
        pytest.skip(f'no PostgreSQL server: set {URL_VARIABLE} (eval "$(.ci/postgres)")')
    return url


@asynccontextmanager
async def postgres_schemas() -> AsyncIterator[Callable[[str], Awaitable[object]]]:
    """Open stores by name, each name a fresh schema of this test's own; all dropped after."""
    import psycopg
    from psycopg import sql

    from fieldkit.store.postgres import PostgresStore

    url = server_url()
    prefix = f"t{uuid.uuid4().hex[:12]}"
    made: set[str] = set()

    async def open_schema(name: str) -> PostgresStore:
        schema = f"{prefix}_{name}".lower()
        made.add(schema)
        return await PostgresStore.open(url, schema=schema)

    try:
        yield open_schema
    finally:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
            for schema in made:
                await admin.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )
