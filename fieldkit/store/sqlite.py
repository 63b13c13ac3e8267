"""The Store: the only code that touches SQLite.

Durability: WAL journal with ``synchronous=FULL``. In WAL mode ``NORMAL`` skips the fsync at
each commit, so a power cut can roll back the last commits: a resident who saw "thank you"
could lose their submission. ``FULL`` fsyncs the WAL on every commit, which costs one flush
per transaction (imports batch many lines into one transaction to keep that cheap, and
residents' concurrent submissions share one: see :mod:`fieldkit.store.group_commit`).

Every write runs in a ``BEGIN IMMEDIATE`` transaction that appends the op *and* updates the
folded record state, the version vector, the reference-code index and the record counters, so
they never disagree. Schema changes are migrations keyed by ``PRAGMA user_version``.

:class:`Store` implements :class:`fieldkit.store.port.StorePort` (mypy checks it below); the
rules it keeps are the port's, tested in ``tests/store/test_contract.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

import aiosqlite

from fieldkit.core.fold import Record, RecordState, state_hash
from fieldkit.core.ops import (
    LEAST_URGENT,
    Op,
    RecordId,
    op_from_json,
    send_order,
)
from fieldkit.core.records import Category, Kind, Status
from fieldkit.errors import StoreError
from fieldkit.store.cloud_port import EnrolledHub
from fieldkit.store.columns import search_text
from fieldkit.store.port import Logged
from fieldkit.store.write_tx import OpKey, WriteTx

if TYPE_CHECKING:
    from fieldkit.store.cloud_port import CloudPort, CloudTxPort
    from fieldkit.store.port import StorePort, TxPort

MIGRATIONS: tuple[str, ...] = (
    # 1: the operation log, folded records, version vector, reference codes, idempotency keys
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
    CREATE TABLE ops (
        origin INTEGER NOT NULL, seq INTEGER NOT NULL, hlc INTEGER NOT NULL,
        rec_hub INTEGER NOT NULL, rec_seq INTEGER NOT NULL,
        body TEXT NOT NULL, received_at INTEGER NOT NULL,
        PRIMARY KEY (origin, seq)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX ops_by_record ON ops (rec_hub, rec_seq);
    CREATE TABLE origins (
        origin INTEGER PRIMARY KEY, contiguous INTEGER NOT NULL, max_seq INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE records (
        hub INTEGER NOT NULL, seq INTEGER NOT NULL, complete INTEGER NOT NULL,
        kind TEXT, category TEXT, urgency_rank INTEGER, status TEXT, area TEXT,
        created_at INTEGER, updated INTEGER NOT NULL, state TEXT NOT NULL,
        PRIMARY KEY (hub, seq)
    ) STRICT;
    CREATE INDEX records_listing ON records (complete, kind, status, urgency_rank, created_at);
    CREATE TABLE refs (
        ref TEXT NOT NULL, hub INTEGER NOT NULL, seq INTEGER NOT NULL,
        PRIMARY KEY (ref, hub, seq)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE idempotency (
        key TEXT PRIMARY KEY, hub INTEGER NOT NULL, seq INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    """,
    # 2: the board's open-record counts by (kind, status, category, area) come from an index
    """
    CREATE INDEX records_board ON records (complete, kind, status, category, area);
    """,
    # 3: complete records by (kind, status), kept in the write transaction: /healthz and
    # /hub/status read a handful of rows, not every record
    """
    CREATE TABLE record_counts (
        kind TEXT NOT NULL, status TEXT NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (kind, status)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO record_counts (kind, status, n)
        SELECT kind, status, count(*) FROM records WHERE complete = 1 GROUP BY kind, status;
    """,
    # 4: the record's contact consent as a column: sync reads it with every op it sends
    """
    ALTER TABLE records ADD COLUMN share_contact INTEGER NOT NULL DEFAULT 0;
    UPDATE records
        SET share_contact = coalesce(json_extract(state, '$.fields.share_contact[0][1]'), 0);
    """,
    # 5: the board's counts by (kind, status, category, area), kept in the write transaction
    # like record_counts: the board reads one row per category and area, not every record
    """
    CREATE TABLE board_counts (
        kind TEXT NOT NULL, status TEXT NOT NULL, category TEXT NOT NULL, area TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (kind, status, category, area)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO board_counts (kind, status, category, area, n)
        SELECT kind, status, coalesce(category, ''), coalesce(area, ''), count(*) FROM records
        WHERE complete = 1 GROUP BY kind, status, coalesce(category, ''), coalesce(area, '');
    DROP INDEX records_board;
    """,
    # 6: the coordinator console: what its text filter searches (the note and reference codes,
    # case-folded; an index of its own, so the filter reads narrow index rows, not the states),
    # its queues filtered by category and area, and who (the coordinator's name) made each op
    # at this hub
    """
    ALTER TABLE records ADD COLUMN search TEXT NOT NULL DEFAULT '';
    UPDATE records SET search = fieldkit_search(state);
    CREATE INDEX records_text ON records (complete, kind, search);
    CREATE INDEX records_by_category
        ON records (complete, kind, status, category, area, urgency_rank, created_at);
    CREATE TABLE op_actors (
        origin INTEGER NOT NULL, seq INTEGER NOT NULL, actor TEXT NOT NULL,
        PRIMARY KEY (origin, seq)
    ) STRICT, WITHOUT ROWID;
    """,
    # 7: the cloud aggregator (fieldkit/store/cloud_port.py): enrolled hubs with the hashes of
    # their one-time code and credential, the sync challenges every cloud process shares, and
    # which hub delivered each op (the audit)
    """
    CREATE TABLE cloud_hubs (
        name TEXT PRIMARY KEY, code_hash BLOB UNIQUE, credential_hash BLOB UNIQUE,
        hub_id INTEGER, enrolled_at INTEGER NOT NULL, joined_at INTEGER, revoked_at INTEGER
    ) STRICT;
    CREATE TABLE cloud_challenges (
        challenge BLOB PRIMARY KEY, issued_at REAL NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE op_deliveries (
        origin INTEGER NOT NULL, seq INTEGER NOT NULL, hub TEXT NOT NULL,
        PRIMARY KEY (origin, seq)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX op_deliveries_by_hub ON op_deliveries (hub);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
#: Each connection's page cache, KiB (SQLite's own default, said once here): a store keeps two
#: connections, so its caches stay under 4 MiB however large the database grows (the soak
#: shows SQLite's heap filling to that and no further).
CACHE_KIB = 2000
#: One page of the whole log along its primary key (origin, seq), a record's consent with
#: it: the rest of this origin's ops (``origin = ? AND seq > ?``), then, when they run out, the
#: next origins' (``origin > ?``). Each is an exact range of the key; one query with
#: ``origin >= ? AND (origin > ? OR seq > ?)`` instead re-walks the origin's ops from its first
#: on every page, which made streaming a one-origin log quadratic (at 1M ops: 962 ops/s).
_OPS_PAGE = (
    "SELECT o.origin, o.seq, o.body, coalesce(r.share_contact, 0)"
    " FROM ops o LEFT JOIN records r ON r.hub = o.rec_hub AND r.seq = o.rec_seq"
)
ITER_OPS = (
    _OPS_PAGE + " WHERE o.origin = ? AND o.seq > ? ORDER BY o.seq LIMIT ?",
    _OPS_PAGE + " WHERE o.origin > ? ORDER BY o.origin, o.seq LIMIT ?",
)
#: One page of :meth:`Store.iter_records`, the same two ranges of the primary key (hub, seq).
#: ``+complete`` keeps the planner off records_listing, which would need a sort.
ITER_RECORDS = (
    "SELECT hub, seq, state FROM records WHERE +complete = 1 AND hub = ? AND seq > ?"
    " ORDER BY seq LIMIT ?",
    "SELECT hub, seq, state FROM records WHERE +complete = 1 AND hub > ? ORDER BY hub, seq LIMIT ?",
)
#: Which of a batch's ops (a JSON array of [origin, seq]) the log holds: one query, each key
#: looked up along the primary key.
HELD = (
    "SELECT o.origin, o.seq FROM json_each(?) k"
    " JOIN ops o ON o.origin = k.value ->> 0 AND o.seq = k.value ->> 1"
)
#: The stored states of a batch's records (a JSON array of [hub, seq]), in one query.
STORED_STATES = (
    "SELECT r.state FROM json_each(?) k"
    " JOIN records r ON r.hub = k.value ->> 0 AND r.seq = k.value ->> 1"
)


def _search_of_json(text: str) -> str:
    """:func:`~fieldkit.store.columns.search_text` of a stored state (migration 6 fills the
    column with it)."""
    return search_text(RecordState.from_json(json.loads(text)))


def _like(text: str) -> str:
    escaped = text.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class Tx(WriteTx):
    """One open write transaction. Obtain it from :meth:`Store.transaction`.

    The bookkeeping is :class:`~fieldkit.store.write_tx.WriteTx`'s; each call here is a round
    trip to SQLite's thread, so the set-wise look-ups pass their keys as one JSON array.
    """

    def __init__(self, db: aiosqlite.Connection) -> None:
        super().__init__()
        self._db = db

    async def _rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await self._db.execute_fetchall(query, params)]

    async def _run(self, query: str, params: Sequence[Any] = ()) -> int:
        async with self._db.execute(query, params) as cur:
            return cur.rowcount

    async def _run_many(self, query: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._db.executemany(query, rows)

    async def _held(self, keys: Sequence[OpKey]) -> set[OpKey]:
        rows = await self._db.execute_fetchall(HELD, (json.dumps(keys),))
        return {(origin, seq) for origin, seq in rows}

    async def _stored_states(self, records: Sequence[RecordId]) -> dict[RecordId, RecordState]:
        keys = json.dumps([(rid.hub, rid.seq) for rid in records])
        rows = await self._db.execute_fetchall(STORED_STATES, (keys,))
        return {s.id: s for s in (RecordState.from_json(json.loads(text)) for (text,) in rows)}


class _CloudTables:
    """The cloud aggregator's tables (:class:`fieldkit.store.cloud_port.CloudPort`)."""

    _db: aiosqlite.Connection
    _reader: aiosqlite.Connection

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        raise NotImplementedError  # Store's

    async def _write(self, sql: str, params: Iterable[Any] = ()) -> int:
        async with self.transaction():
            cur = await self._db.execute(sql, tuple(params))
            return cur.rowcount

    async def _read(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        async with self._reader.execute(sql, tuple(params)) as cur:
            return list(await cur.fetchall())

    async def enroll_hub(self, name: str, code_hash: bytes, now: int) -> None:
        await self._write(
            "INSERT INTO cloud_hubs (name, code_hash, enrolled_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET code_hash = excluded.code_hash,"
            " credential_hash = NULL, enrolled_at = excluded.enrolled_at, joined_at = NULL,"
            " revoked_at = NULL",
            (name, code_hash, now),
        )

    async def redeem_code(
        self, code_hash: bytes, credential_hash: bytes, hub_id: int, now: int, issued_after: int
    ) -> str | None:
        async with (
            self.transaction(),
            self._db.execute(
                "UPDATE cloud_hubs SET code_hash = NULL, credential_hash = ?, hub_id = ?,"
                " joined_at = ? WHERE code_hash = ? AND revoked_at IS NULL"
                " AND enrolled_at > ? RETURNING name",
                (credential_hash, hub_id, now, code_hash, issued_after),
            ) as cur,
        ):
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def revoke_hub(self, name: str, now: int) -> bool:
        return await self._write(
            "UPDATE cloud_hubs SET revoked_at = ?, code_hash = NULL WHERE name = ?", (now, name)
        ) == 1  # fmt: skip

    async def hub_for_credential(self, credential_hash: bytes) -> tuple[str, bool] | None:
        rows = await self._read(
            "SELECT name, revoked_at IS NOT NULL FROM cloud_hubs WHERE credential_hash = ?",
            (credential_hash,),
        )
        return (str(rows[0][0]), bool(rows[0][1])) if rows else None

    async def enrolled_hubs(self) -> list[EnrolledHub]:
        rows = await self._read(
            "SELECT h.name, h.hub_id, h.enrolled_at, h.joined_at, h.revoked_at,"
            " (SELECT count(*) FROM op_deliveries d WHERE d.hub = h.name)"
            " FROM cloud_hubs h ORDER BY h.name"
        )
        return [EnrolledHub(*row) for row in rows]

    async def hub_names(self) -> dict[int, str]:
        rows = await self._read(
            "SELECT hub_id, name FROM cloud_hubs WHERE hub_id IS NOT NULL ORDER BY name"
        )
        return {int(i): str(n) for i, n in rows}

    async def issue_challenge(self, challenge: bytes, now: float, ttl: float) -> None:
        async with self.transaction():
            await self._db.execute("DELETE FROM cloud_challenges WHERE issued_at < ?", (now - ttl,))
            await self._db.execute(
                "INSERT INTO cloud_challenges (challenge, issued_at) VALUES (?, ?)",
                (challenge, now),
            )

    async def take_challenge(self, challenge: bytes, now: float, ttl: float) -> bool:
        async with (
            self.transaction(),
            self._db.execute(
                "DELETE FROM cloud_challenges WHERE challenge = ? RETURNING issued_at", (challenge,)
            ) as cur,
        ):
            row = await cur.fetchone()
        return row is not None and now - float(row[0]) <= ttl

    async def delivered_by(self, origin: int, seq: int) -> str | None:
        rows = await self._read(
            "SELECT hub FROM op_deliveries WHERE origin = ? AND seq = ?", (origin, seq)
        )
        return str(rows[0][0]) if rows else None


class Store(_CloudTables):
    """Hub storage over aiosqlite. Open with :meth:`open`; close with :meth:`close`."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        #: Pages and sync read here: a read-only connection of its own, so a read never sees
        #: the rows of a write transaction that is still open (and may yet roll back).
        self._reader = db
        self.path = path
        self._write_lock = asyncio.Lock()
        #: Write transactions committed through this Store (each one fsync with FULL sync).
        self.commits = 0
        #: ``PRAGMA data_version`` of the write connection when last asked: it changes when
        #: another connection (another process) commits, never for this one's own commits.
        self._data_version: int | None = None

    @classmethod
    async def open(cls, path: Path | str) -> Store:
        path = Path(path)
        try:
            db = await aiosqlite.connect(path, isolation_level=None)
        except Exception as exc:  # sqlite3.OperationalError, and path errors
            raise StoreError(f"cannot open database {path}: {exc}") from exc
        store = cls(db, path)
        try:
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = FULL")
            await db.execute("PRAGMA busy_timeout = 10000")
            await db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            await db.create_function("fieldkit_search", 1, _search_of_json, deterministic=True)
            await store._migrate()
            store._data_version = await store._scalar("PRAGMA data_version", db=db)
            store._reader = await _open_reader(path)
        except Exception as exc:
            await db.close()
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"cannot use database {path}: {exc}") from exc
        return store

    async def close(self) -> None:
        if self._reader is not self._db:
            await self._reader.close()
        await self._db.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def location(self) -> str:
        return str(self.path)

    async def changed_elsewhere(self) -> bool:
        """True if another connection has committed since this was last asked (or since the
        store opened): SQLite's ``PRAGMA data_version`` on the write connection."""
        version = await self._scalar("PRAGMA data_version", db=self._db)
        changed = version != self._data_version
        self._data_version = version
        return bool(changed)

    async def _migrate(self) -> None:
        version = await self._scalar("PRAGMA user_version", db=self._db)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"database {self.path} has schema {version}, newer than this fieldkit "
                f"({SCHEMA_VERSION}): upgrade fieldkit"
            )
        for number in range(version, SCHEMA_VERSION):
            async with self.transaction():
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        await self._db.execute(statement)
                await self._db.execute(f"PRAGMA user_version = {number + 1}")

    async def _scalar(
        self, sql: str, params: Iterable[Any] = (), db: aiosqlite.Connection | None = None
    ) -> Any:
        async with (db or self._reader).execute(sql, tuple(params)) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A ``BEGIN IMMEDIATE`` write transaction: all of it commits, or none of it."""
        async with self._write_lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                tx = Tx(self._db)
                yield tx
                await tx.flush()
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            try:
                await self._db.execute("COMMIT")
            except BaseException:
                # a failed COMMIT can leave the transaction open: never let the next one
                # (another batch of submissions) join it
                with contextlib.suppress(Exception):
                    await self._db.execute("ROLLBACK")
                raise
            self.commits += 1

    # --- identity -----------------------------------------------------------------------

    async def meta(self, key: str) -> str | None:
        value = await self._scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return str(value) if value is not None else None

    async def set_meta(self, key: str, value: str) -> None:
        await self.update_meta(key, lambda _: value)

    async def update_meta(self, key: str, change: Callable[[str | None], str]) -> str:
        async with self.transaction():
            value = await self._scalar("SELECT value FROM meta WHERE key = ?", (key,), self._db)
            new = change(None if value is None else str(value))
            await self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, new),
            )
        return new

    async def max_hlc(self, origin: int) -> int:
        """The latest clock this origin used, so a restarted hub never goes back in time."""
        return int(await self._scalar("SELECT max(hlc) FROM ops WHERE origin = ?", (origin,)) or 0)

    # --- reading ------------------------------------------------------------------------

    async def get(self, record: RecordId) -> Record | None:
        async with self._reader.execute(
            "SELECT state FROM records WHERE hub = ? AND seq = ? AND complete = 1",
            (record.hub, record.seq),
        ) as cur:
            row = await cur.fetchone()
        return RecordState.from_json(json.loads(row[0])).view() if row else None

    async def find_by_ref(self, ref: str) -> list[Record]:
        return await self._records(
            "SELECT r.state FROM refs f JOIN records r ON r.hub = f.hub AND r.seq = f.seq"
            " WHERE f.ref = ? AND r.complete = 1 ORDER BY r.created_at",
            (ref,),
        )

    async def list_records(
        self,
        *,
        kind: Kind | None = None,
        status: Status | None = None,
        area: str | None = None,
        category: Category | None = None,
        origin: int | None = None,
        text: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Record]:
        """Complete records, most urgent first, then oldest first."""
        where, params = ["complete = 1"], []
        for column, value in (
            ("kind", kind), ("status", status), ("area", area), ("category", category),
            ("hub", origin),
        ):  # fmt: skip
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value if isinstance(value, int) else str(value))
        if text:
            where.append("search LIKE ? ESCAPE '\\'")
            params.append(_like(text))
        return await self._records(
            f"SELECT state FROM records WHERE {' AND '.join(where)}"
            " ORDER BY urgency_rank, created_at, hub, seq LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )

    async def history(self, record: RecordId) -> list[Logged]:
        """Every op held that concerns ``record``, oldest first (by clock, then origin), with
        when this hub received it and who made it here (a coordinator's name, if known)."""
        async with self._reader.execute(
            "SELECT state FROM records WHERE hub = ? AND seq = ?", (record.hub, record.seq)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return []
        # an op is filed under its first record; a match under its need: an offer's matches
        # are found under the needs it was matched with
        state = RecordState.from_json(json.loads(row[0]))
        # merges and "I'd like this" links are filed under their first record too
        files = [record, *state.matches, *state.merged_into, *state.merged, *state.linked]
        where = " OR ".join(["(o.rec_hub = ? AND o.rec_seq = ?)"] * len(files))
        found: list[Logged] = []
        async with self._reader.execute(
            "SELECT o.body, o.received_at, coalesce(a.actor, '') FROM ops o"
            " LEFT JOIN op_actors a ON a.origin = o.origin AND a.seq = o.seq"
            f" WHERE {where}",
            [n for rid in files for n in (rid.hub, rid.seq)],
        ) as cur:
            async for body, received_at, actor in cur:
                op = op_from_json(json.loads(body))
                if record in op.records():
                    found.append(Logged(op, int(received_at), op.actor or str(actor)))
        found.sort(key=lambda entry: (entry.op.key, entry.op.seq))
        return found

    async def _records(self, sql: str, params: Iterable[Any]) -> list[Record]:
        async with self._reader.execute(sql, tuple(params)) as cur:
            rows = await cur.fetchall()
        return [RecordState.from_json(json.loads(row[0])).view() for row in rows]

    async def iter_records(self, batch: int = 500) -> AsyncIterator[Record]:
        """Every complete record in id order, without holding them all in memory."""
        last = (-1, -1)
        while rows := await self._key_page(ITER_RECORDS, last, batch):
            for row in rows:
                yield RecordState.from_json(json.loads(row[2])).view()
            last = (rows[-1][0], rows[-1][1])

    async def _key_page(
        self, queries: tuple[str, str], last: tuple[int, int], batch: int
    ) -> list[Any]:
        """The next ``batch`` rows after ``last`` along a two-column key: the rest of its first
        column's value, then the values after it (see :data:`ITER_OPS`)."""
        same, after = queries
        async with self._reader.execute(same, (*last, batch)) as cur:
            rows = list(await cur.fetchall())
        if len(rows) < batch:
            async with self._reader.execute(after, (last[0], batch - len(rows))) as cur:
                rows += await cur.fetchall()
        return rows

    async def counts(self) -> dict[tuple[str, str], int]:
        """Complete records by (kind, status), from the counters the write transactions keep."""
        async with self._reader.execute("SELECT kind, status, n FROM record_counts") as cur:
            return {(kind, status): n async for kind, status, n in cur}

    async def category_counts(
        self, kind: Kind, status: Status, area: str | None = None
    ) -> dict[tuple[str, str], int]:
        """Complete records of ``kind`` in ``status`` by (category, area), exact at any size:
        from the counters the write transactions keep, one row per category and area."""
        sql = "SELECT category, area, n FROM board_counts WHERE kind = ? AND status = ?"
        params: list[str] = [kind.value, status.value]
        if area is not None:
            sql += " AND area = ?"
            params.append(area)
        async with self._reader.execute(sql, params) as cur:
            return {(str(c), str(a)): int(n) async for c, a, n in cur}

    async def version_vector(self) -> dict[int, int]:
        """Per origin hub, the highest seq up to which we hold every op."""
        async with self._reader.execute("SELECT origin, contiguous FROM origins") as cur:
            return {origin: contiguous async for origin, contiguous in cur}

    async def iter_ops(self, batch: int = 500) -> AsyncIterator[tuple[Op, bool]]:
        """Every op in (origin, seq) order, each with its record's contact consent, a page at a
        time along the primary key: bounded memory, linear time, whatever the log's size."""
        last = (-1, -1)
        while rows := await self._key_page(ITER_OPS, last, batch):
            for _, _, body, consented in rows:
                yield op_from_json(json.loads(body)), bool(consented)
            last = (rows[-1][0], rows[-1][1])

    async def held_beyond(self) -> dict[int, list[int]]:
        """Per origin, the seqs we hold past a gap in its log."""
        out: dict[int, list[int]] = {}
        async with self._reader.execute(
            "SELECT o.origin, o.seq FROM ops o JOIN origins g ON g.origin = o.origin"
            " WHERE o.seq > g.contiguous ORDER BY o.origin, o.seq"
        ) as cur:
            async for origin, seq in cur:
                out.setdefault(origin, []).append(seq)
        return out

    async def ops_for_offer(
        self, ranges: dict[int, list[tuple[int, int]]], limit: int
    ) -> list[tuple[Op, bool]]:
        """Ops in ``ranges``, most urgent record first, each with its record's contact consent."""
        where: list[str] = []
        params: list[int] = []
        for origin, spans in ranges.items():
            for lo, hi in spans:
                where.append("(o.origin = ? AND o.seq BETWEEN ? AND ?)")
                params.extend((origin, lo, hi))
        if not where:
            return []
        out = []
        for start in range(0, len(where), 300):  # stay under SQLite's parameter limit
            async with self._reader.execute(
                "SELECT o.body, coalesce(r.share_contact, 0), r.urgency_rank"
                " FROM ops o LEFT JOIN records r"
                " ON r.hub = o.rec_hub AND r.seq = o.rec_seq"
                f" WHERE {' OR '.join(where[start : start + 300])}"
                f" ORDER BY coalesce(r.urgency_rank, {LEAST_URGENT}), o.hlc, o.origin, o.seq"
                " LIMIT ?",
                (*params[start * 3 : (start + 300) * 3], limit),
            ) as cur:
                out.extend([(op_from_json(json.loads(b)), bool(c), u) async for b, c, u in cur])
        out.sort(key=lambda row: send_order(row[2], row[0]))
        return [(op, consented) for op, consented, _ in out[:limit]]

    async def state_hash(self, *, public: bool = False) -> str:
        async with self._reader.execute("SELECT state FROM records ORDER BY hub, seq") as cur:
            states = [RecordState.from_json(json.loads(s)) async for (s,) in cur]
        return state_hash(states, public=public)

    async def integrity_check(self) -> str:
        return str(await self._scalar("PRAGMA integrity_check"))


if TYPE_CHECKING:  # the SQLite adapter implements the storage port
    _store: type[StorePort] = Store
    _tx: type[TxPort] = Tx
    _cloud: type[CloudPort] = Store
    _cloud_tx: type[CloudTxPort] = Tx


async def _open_reader(path: Path) -> aiosqlite.Connection:
    """A read-only connection to the database at ``path`` (opened after its migrations)."""
    reader = await aiosqlite.connect(_read_only_uri(path), uri=True, isolation_level=None)
    try:
        await reader.execute("PRAGMA query_only = 1")
        await reader.execute("PRAGMA busy_timeout = 10000")
        await reader.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    except BaseException:
        await reader.close()
        raise
    return reader


def _read_only_uri(path: Path) -> str:
    return f"file:{quote(str(path.resolve()))}?mode=ro"
