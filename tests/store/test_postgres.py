"""What only the PostgreSQL adapter has: its schema version, its URL, its schemas. The port's
rules are checked for it by ``tests/store/test_contract.py``."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from fieldkit.app.hub import Hub, create_identity
from fieldkit.core.fold import RecordState
from fieldkit.core.ops import NewRecord
from fieldkit.core.records import Category, Draft, Kind, Status, Urgency
from fieldkit.errors import StoreError
from fieldkit.store.columns import search_text
from fieldkit.store.postgres import SCHEMA_VERSION, TEXT_INDEX, PostgresStore, listing_query
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
                "DROP INDEX {s}.records_by_origin, {s}.records_any_status",
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


#: The console's queues (kind, status, area, category, origin, text), as its pages ask.
QUEUES = {
    "open needs": (Kind.NEED, Status.OPEN, None, None, None, None),
    "any status": (Kind.OFFER, None, None, None, None, None),
    "by category and area": (Kind.NEED, Status.OPEN, "north", Category.WATER, None, None),
    "by hub": (Kind.NEED, Status.OPEN, None, None, 0x1234ABCD, None),
}


async def plan(
    store: PostgresStore,
    query: str,
    params: list[object],
    priced_out: tuple[str, ...] = ("enable_seqscan", "enable_sort"),
) -> str:
    """The plan of ``query`` with the table scan and the sort priced out (as they are at a
    million rows): either an index gives the order (no Sort node) or the plan sorts anyway."""
    async with store._readers.connection() as db, db.transaction():
        for setting in priced_out:
            await db.execute(f"SET LOCAL {setting} = off")
        rows = await (await db.execute(f"EXPLAIN {query}", (*params, 50, 0))).fetchall()
    return "\n".join(str(row[0]) for row in rows)


@pytest.mark.parametrize("queue", QUEUES)
async def test_every_queue_reads_an_index_in_its_own_order_and_sorts_nothing(queue: str) -> None:
    """At a million records a sort reads every row of the queue (530 ms a page, measured):
    the queue's order must be an index's."""
    async with postgres_schemas() as open_schema, await open_schema("queues") as store:
        shown = await plan(store, *listing_query(*QUEUES[queue]))
        assert "Index Scan" in shown, shown
        assert "Sort" not in shown, shown


async def test_a_rare_text_is_found_through_the_trigram_index() -> None:
    async with postgres_schemas() as open_schema, await open_schema("trigrams") as store:
        await create_identity(store)
        hub = await Hub.open(store)
        drafts = [
            Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "n", f"#{i}") for i in range(3000)
        ]
        await hub.submit_batch([NewRecord(d) for d in drafts])
        async with store._readers.connection() as db:
            await db.execute("ANALYZE records")
        query = listing_query(Kind.NEED, None, None, None, None, "#1234")
        shown = await plan(store, *query, ("enable_seqscan",))
        assert TEXT_INDEX in shown, shown
        assert [r.note for r in await store.list_records(text="#1234")] == ["#1234"]


async def test_without_pg_trgm_the_store_warns_and_the_text_filter_still_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A database without the extension, whose role may not create it: one warning naming
    the fix, and the filter answers by reading the records."""
    from psycopg import sql

    url, name = server_url(), f"fk_plain_{uuid.uuid4().hex[:8]}"
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
        await admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
        await admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        async with await psycopg.AsyncConnection.connect(
            make_conninfo(url, dbname=name), autocommit=True
        ) as owner:  # the role may make tables in public, not schemas or extensions
            await owner.execute(
                sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(name))
            )
        plain = make_conninfo(url, dbname=name, user=name)
        with caplog.at_level("WARNING", logger="fieldkit.store.postgres"):
            async with await PostgresStore.open(plain) as store:
                await create_identity(store)
                hub = await Hub.open(store)
                for note in ("Family of FOUR", "insulin, cold"):
                    await hub.submit(Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "n", note))
                assert [r.note for r in await store.list_records(text="four")] == ["Family of FOUR"]
        (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert "no trigram index" in warning
        assert "CREATE EXTENSION pg_trgm" in warning
    finally:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
            await admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            await admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
