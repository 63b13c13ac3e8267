"""What only the PostgreSQL adapter has: its schema version, its URL, its schemas. The port's
rules are checked for it by ``tests/store/test_contract.py``."""

from __future__ import annotations

import json

import psycopg
import pytest

from fieldkit.app.hub import Hub, create_identity
from fieldkit.core.fold import RecordState
from fieldkit.core.records import Category, Draft, Kind, Urgency
from fieldkit.errors import StoreError
from fieldkit.store.columns import search_text
from fieldkit.store.postgres import SCHEMA_VERSION, PostgresStore
from tests.postgres import postgres_schemas, server_url


async def test_a_schema_from_a_newer_fieldkit_is_refused_not_touched() -> None:
    async with postgres_schemas() as open_schema:
        store = await open_schema("newer")
        async with store.transaction():
            pass
        await store.close()
        async with await psycopg.AsyncConnection.connect(server_url(), autocommit=True) as db:
            schemas = await (await db.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", ("%\\_newer",)
            )).fetchall()  # fmt: skip
            await db.execute(
                f'UPDATE "{schemas[0][0]}".schema_version SET version = %s', (SCHEMA_VERSION + 1,)
            )
        with pytest.raises(StoreError, match="upgrade fieldkit"):
            await open_schema("newer")


async def test_reopening_keeps_the_data_and_migrates_nothing_twice() -> None:
    async with postgres_schemas() as open_schema:
        async with await open_schema("kept") as store:
            await store.set_meta("hub_id", "1234")
        async with await open_schema("kept") as store:
            assert await store.meta("hub_id") == "1234"


async def test_a_server_that_does_not_answer_is_one_error_without_the_password() -> None:
    url = "postgresql://fieldkit:s3cret@/region?host=/nonexistent-fieldkit-socket"
    with pytest.raises(StoreError) as caught:
        await PostgresStore.open(url)
    assert "cannot open database postgresql:///nonexistent-fieldkit-socket/region" in str(
        caught.value
    )
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize("schema", ["Region", "drop table x", "1st", ""])
async def test_a_schema_name_must_be_a_plain_identifier(schema: str) -> None:
    with pytest.raises(StoreError, match="not a schema name"):
        await PostgresStore.open("postgresql:///unused", schema=schema)


async def test_location_names_the_server_database_and_schema() -> None:
    async with postgres_schemas() as open_schema, await open_schema("where") as store:
        assert store.location.startswith("postgresql://")
        assert "_where" in store.location


async def test_migration_2_fills_the_consoles_text_filter_column_for_records_held() -> None:
    async with postgres_schemas() as open_schema:
        async with await open_schema("older") as store:
            await create_identity(store)
            hub = await Hub.open(store)
            for note in ("Family of FOUR", "", "insulin, cold"):
                await hub.submit(Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "north", note))
        async with await psycopg.AsyncConnection.connect(server_url(), autocommit=True) as db:
            (schema,) = await (await db.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", ("%\\_older",)
            )).fetchone() or ("",)  # fmt: skip
            for statement in (  # back to schema 1, as a fieldkit before the console left it
                "ALTER TABLE {s}.records DROP COLUMN search", "DROP TABLE {s}.op_actors",
                "DROP INDEX {s}.records_by_category", "UPDATE {s}.schema_version SET version = 1",
                "DROP TABLE {s}.cloud_hubs, {s}.cloud_challenges, {s}.op_deliveries",
            ):  # fmt: skip
                await db.execute(statement.format(s=f'"{schema}"'))
        async with await open_schema("older") as store:
            assert [r.note for r in await store.list_records(text="four")] == ["Family of FOUR"]
        async with await psycopg.AsyncConnection.connect(server_url(), autocommit=True) as db:
            rows = await (
                await db.execute(f'SELECT state, search FROM "{schema}".records')
            ).fetchall()
        assert len(rows) == 3
        for state, search in rows:
            assert search == search_text(RecordState.from_json(json.loads(state)))
