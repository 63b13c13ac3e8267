"""The SQLite adapter's own rules: durability settings, migrations, the read-only reader, and
the counters and consent column agreeing with a full recount of the records table.

What every adapter must do is in ``tests/store/test_contract.py``, which runs against this one.
"""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldkit.app.hub import Hub
from fieldkit.core.fold import RecordState, fold
from fieldkit.core.ops import URGENCY_RANK, Op, op_to_json, strip_private
from fieldkit.core.records import Category, Draft, Kind, Urgency
from fieldkit.errors import StoreError
from fieldkit.store.columns import search_text
from fieldkit.store.sqlite import (
    CACHE_KIB,
    ITER_OPS,
    ITER_RECORDS,
    MIGRATIONS,
    SCHEMA_VERSION,
    Store,
)
from tests.strategies import op_logs

DRAFT = Draft(Kind.NEED, Category.WATER, Urgency.CRITICAL, "riverside", note="family of 4")
PROPERTY = settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])

#: What the counters and the consent column must always equal: a full scan of the records.
RECOUNT = (
    "SELECT kind, status, count(*) FROM records WHERE complete = 1"
    " GROUP BY kind, status ORDER BY kind, status"
)
BOARD_RECOUNT = (
    "SELECT kind, status, coalesce(category, ''), coalesce(area, ''), count(*) FROM records"
    " WHERE complete = 1 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
)
CONSENT_COLUMN_VS_STATE = (
    "SELECT count(*) FROM records WHERE share_contact"
    " != coalesce(json_extract(state, '$.fields.share_contact[0][1]'), 0)"
)


def counters(path: Path) -> list[tuple[object, ...]]:
    """Both kinds of counter the write transactions keep: (kind, status) and the board's."""
    with sqlite3.connect(path) as db:
        totals = db.execute("SELECT kind, status, n FROM record_counts ORDER BY kind, status")
        board = db.execute(
            "SELECT kind, status, category, area, n FROM board_counts ORDER BY 1, 2, 3, 4"
        )
        return totals.fetchall() + board.fetchall()


def recount(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(RECOUNT).fetchall() + db.execute(BOARD_RECOUNT).fetchall()


def consent_mismatches(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute(CONSENT_COLUMN_VS_STATE).fetchone()[0])


async def test_store_uses_wal_with_full_sync_and_current_schema(store: Store) -> None:
    assert await store._scalar("PRAGMA journal_mode") == "wal"
    assert await store._scalar("PRAGMA synchronous") == 2  # FULL
    assert await store._scalar("PRAGMA user_version") == SCHEMA_VERSION


async def test_both_connections_bound_their_page_cache(store: Store) -> None:
    """The soak (issue 11): SQLite's heap grows with the database until each connection's
    page cache is full; the bound is ours to state, not left to a build's default."""
    assert await store._scalar("PRAGMA cache_size", db=store._db) == -CACHE_KIB
    assert await store._scalar("PRAGMA cache_size", db=store._reader) == -CACHE_KIB


async def test_a_database_from_a_newer_fieldkit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer than this fieldkit"):
        await Store.open(path)


async def test_the_read_connection_refuses_to_write(store: Store) -> None:
    with pytest.raises(Exception, match=r"readonly|read-only|query_only|attempt to write"):
        await store._scalar("INSERT INTO meta (key, value) VALUES ('x', 'y') RETURNING 1")


async def test_a_submission_is_on_disk_when_submit_returns(hub: Hub, tmp_path: Path) -> None:
    submitted = await hub.submit(DRAFT)
    with sqlite3.connect(tmp_path / "hub.sqlite3") as other_reader:
        count = other_reader.execute("SELECT count(*) FROM ops").fetchone()[0]
        rows = other_reader.execute("SELECT status FROM records").fetchall()
    assert count == 1
    assert rows == [("open",)]
    assert submitted.record.ref


async def test_redaction_erases_personal_data_from_the_log_on_disk(
    hub: Hub, tmp_path: Path
) -> None:
    draft = Draft(Kind.NEED, Category.FOOD, Urgency.TODAY, "north", note="ring twice")
    draft = Draft(**{**draft.__dict__, "contact": draft.contact.__class__("Ana", "555 0100")})
    rid = (await hub.submit(draft)).record.id
    await hub.update(rid, {"contact_phone": "555 0199"})
    await hub.redact(rid)
    with sqlite3.connect(tmp_path / "hub.sqlite3") as db:
        everything = " ".join(row[0] for row in db.execute("SELECT body FROM ops"))
        everything += " ".join(row[0] for row in db.execute("SELECT state FROM records"))
    for secret in ("Ana", "555 0100", "555 0199", "ring twice"):
        assert secret not in everything


@pytest.mark.parametrize(
    ("queries", "key", "index"),
    [(ITER_RECORDS, ("hub", "seq"), "sqlite_autoindex_records_1"),
     (ITER_OPS, ("origin", "seq"), "PRIMARY KEY")],
)  # fmt: skip
async def test_streams_page_along_exact_ranges_of_the_key_without_a_sort(
    store: Store, queries: tuple[str, str], key: tuple[str, str], index: str
) -> None:
    """Each page starts where the last ended (``first = ? AND second > ?``, then
    ``first > ?``): no page re-walks the rows before it, so a stream is linear in its size."""
    first, second = key
    wanted = [f"({first}=? AND {second}>?)", f"({first}>?)"]
    for query, args, ranges in zip(queries, [(1, 1, 10), (1, 10)], wanted, strict=True):
        plan = await store._db.execute_fetchall("EXPLAIN QUERY PLAN " + query, args)
        details = " ".join(str(row[-1]) for row in plan)
        assert "TEMP B-TREE" not in details
        assert index in details
        assert ranges in details, details


@PROPERTY
@given(ops=op_logs(max_ops=25), order=st.randoms(use_true_random=False))
async def test_counters_and_consent_column_equal_a_full_recount_after_any_writes(
    tmp_path_factory: pytest.TempPathFactory, ops: list[Op], order: random.Random
) -> None:
    path = tmp_path_factory.mktemp("counts") / "hub.sqlite3"
    arrivals = ops + ops[: len(ops) // 2]
    order.shuffle(arrivals)
    async with await Store.open(path) as store:
        for start in range(0, len(arrivals), 4):  # several transactions
            async with store.transaction() as tx:
                for op in arrivals[start : start + 4]:
                    await tx.add(op)
            assert counters(path) == recount(path)
            assert consent_mismatches(path) == 0
        totals = [row for row in recount(path) if len(row) == 3]
        assert await store.counts() == {(k, s): n for k, s, n in totals}


# --- migrations ------------------------------------------------------------------------------


def write_schema_2_database(path: Path, ops: list[Op]) -> None:
    """A database as fieldkit wrote it at schema 2: no counters, consent only in the state."""
    states = fold(ops)
    with sqlite3.connect(path) as db:
        for migration in MIGRATIONS[:2]:
            db.executescript(migration)
        for op in {(op.origin, op.seq): op for op in ops}.values():
            first = op.records()[0]
            stored = strip_private(op) if states[first].redacted else op
            db.execute(
                "INSERT INTO ops VALUES (?, ?, ?, ?, ?, ?, 0)",
                (op.origin, op.seq, op.hlc, first.hub, first.seq, json.dumps(op_to_json(stored))),
            )
        for rid, state in states.items():
            urgency = state.value("urgency")
            db.execute(
                "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rid.hub, rid.seq, int(state.complete),
                    state.kind.value if state.kind else None, state.value("category"),
                    URGENCY_RANK.get(urgency) if isinstance(urgency, str) else None,
                    state.status[0].status.value if state.status else None,
                    state.value("area"), state.created_at, state.updated,
                    json.dumps(state.to_json()),
                ),
            )  # fmt: skip
        db.execute("PRAGMA user_version = 2")


@PROPERTY
@given(ops=op_logs(max_ops=25), later=op_logs(max_ops=10))
async def test_migrating_an_older_database_backfills_counters_and_consent(
    tmp_path_factory: pytest.TempPathFactory, ops: list[Op], later: list[Op]
) -> None:
    path = tmp_path_factory.mktemp("migrate") / "hub.sqlite3"
    write_schema_2_database(path, ops)
    states = fold(ops)
    async with await Store.open(path) as store:
        assert await store._scalar("PRAGMA user_version") == SCHEMA_VERSION
        assert counters(path) == recount(path)
        assert consent_mismatches(path) == 0
        with sqlite3.connect(path) as db:  # migration 6: the console's text filter column
            searched = dict(db.execute("SELECT state, search FROM records").fetchall())
        assert searched == {s: search_text(RecordState.from_json(json.loads(s))) for s in searched}
        consents = {(op.origin, op.seq): c async for op, c in store.iter_ops(batch=3)}
        assert consents == {
            (op.origin, op.seq): bool(states[op.records()[0]].value("share_contact")) for op in ops
        }
        async with store.transaction() as tx:  # the counters keep counting after the migration
            for op in later:
                await tx.add(op)
        assert counters(path) == recount(path)
        assert consent_mismatches(path) == 0
