"""The PostgreSQL adapter of the storage port: the cloud aggregator's store.

A region holds hundreds of hubs' ops and millions of records, and several cloud processes
may serve it behind a load balancer; so the cloud runs on PostgreSQL, through psycopg 3
(typed, async, with its own connection pool and parameters sent apart from the SQL; asyncpg
is as fast here but untyped, and mypy checks this package strictly). Install it with
``pip install 'fieldkit[cloud]'``; hubs on SQLite never load it.

The rules are the port's (:mod:`fieldkit.store.port`), checked by the same contract suite as
SQLite (``tests/store/test_contract.py``):

- **One write transaction at a time** across every process: each write transaction first takes
  a transaction-level advisory lock named for the schema, as SQLite's ``BEGIN IMMEDIATE`` takes
  the database's write lock; so an origin's seqs and clock read inside it are the database's.
- **Reads see only what has committed**: pages and sync read through a pool of autocommit
  connections, never the writer's.
- **Aggregates are counters** kept in the write transaction, as in SQLite; streams are keyset
  pages along the primary keys.
- **Another process's commits are noticed** through a commit counter row every write
  transaction advances (:meth:`PostgresStore.changed_elsewhere`).

Schema changes are migrations numbered in ``schema_version``; a schema newer than this
fieldkit is refused.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, Self

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import AsyncConnectionPool

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
from fieldkit.store.port import Logged
from fieldkit.store.write_tx import STATEMENTS, OpKey, WriteTx

if TYPE_CHECKING:
    from fieldkit.store.cloud_port import CloudPort, CloudTxPort
    from fieldkit.store.port import StorePort, TxPort

MIGRATIONS: tuple[str, ...] = (
    # 1: the schema of SQLite's migrations 1-5 at once: the operation log, folded records,
    # version vector, reference codes, idempotency keys, the counters, and the commit counter
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE ops (
        origin BIGINT NOT NULL, seq BIGINT NOT NULL, hlc BIGINT NOT NULL,
        rec_hub BIGINT NOT NULL, rec_seq BIGINT NOT NULL,
        body TEXT NOT NULL, received_at BIGINT NOT NULL,
        PRIMARY KEY (origin, seq)
    );
    CREATE INDEX ops_by_record ON ops (rec_hub, rec_seq);
    CREATE TABLE origins (
        origin BIGINT PRIMARY KEY, contiguous BIGINT NOT NULL, max_seq BIGINT NOT NULL
    );
    CREATE TABLE records (
        hub BIGINT NOT NULL, seq BIGINT NOT NULL, complete BOOLEAN NOT NULL,
        kind TEXT, category TEXT, urgency_rank INTEGER, status TEXT, area TEXT,
        created_at BIGINT, updated BIGINT NOT NULL, state TEXT NOT NULL,
        share_contact BOOLEAN NOT NULL DEFAULT FALSE,
        PRIMARY KEY (hub, seq)
    );
    CREATE INDEX records_listing ON records (complete, kind, status, urgency_rank, created_at);
    CREATE TABLE refs (
        ref TEXT NOT NULL, hub BIGINT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (ref, hub, seq)
    );
    CREATE TABLE idempotency (key TEXT PRIMARY KEY, hub BIGINT NOT NULL, seq BIGINT NOT NULL);
    CREATE TABLE record_counts (
        kind TEXT NOT NULL, status TEXT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (kind, status)
    );
    CREATE TABLE board_counts (
        kind TEXT NOT NULL, status TEXT NOT NULL, category TEXT NOT NULL, area TEXT NOT NULL,
        n BIGINT NOT NULL, PRIMARY KEY (kind, status, category, area)
    );
    CREATE TABLE commits (one INTEGER PRIMARY KEY CHECK (one = 1), n BIGINT NOT NULL);
    INSERT INTO commits (one, n) VALUES (1, 0);
    """,
    # 2: SQLite's migration 6, the coordinator console: the text filter's column
    # (columns.search_text: the note and the reference codes, case-folded; lower() here for
    # the rows already held), the queues by category and area, and who made each op here
    """
    ALTER TABLE records ADD COLUMN search TEXT NOT NULL DEFAULT '';
    UPDATE records SET search = lower(concat_ws(' ',
        coalesce(state::json #>> '{fields,note,0,1}', ''),
        (SELECT string_agg(ref, ' ' ORDER BY ref)
            FROM json_array_elements_text(state::json -> 'refs') AS ref)));
    CREATE INDEX records_by_category
        ON records (complete, kind, status, category, area, urgency_rank, created_at);
    CREATE TABLE op_actors (
        origin BIGINT NOT NULL, seq BIGINT NOT NULL, actor TEXT NOT NULL,
        PRIMARY KEY (origin, seq)
    );
    """,
    # 3: SQLite's migration 7, the cloud aggregator (fieldkit/store/cloud_port.py): enrolled
    # hubs, the sync challenges every cloud process shares, which hub delivered each op
    """
    CREATE TABLE cloud_hubs (
        name TEXT PRIMARY KEY, code_hash BYTEA UNIQUE, credential_hash BYTEA UNIQUE,
        hub_id BIGINT, enrolled_at BIGINT NOT NULL, joined_at BIGINT, revoked_at BIGINT
    );
    CREATE TABLE cloud_challenges (
        challenge BYTEA PRIMARY KEY, issued_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE op_deliveries (
        origin BIGINT NOT NULL, seq BIGINT NOT NULL, hub TEXT NOT NULL, PRIMARY KEY (origin, seq)
    );
    CREATE INDEX op_deliveries_by_hub ON op_deliveries (hub);
    """,
    # 4: the console's queues at a million records (bench/console.py --cloud): each index in
    # the queues' own order (NULLS FIRST, as the queries ask and SQLite sorts, then the
    # tie-breakers), so a page reads its 50 rows and stops; by hub, for the cloud's filter by
    # origin (its hub is a constant there: the order needs only seq after it); any status
    """
    DROP INDEX records_listing;
    DROP INDEX records_by_category;
    CREATE INDEX records_listing ON records (complete, kind, status,
        urgency_rank NULLS FIRST, created_at NULLS FIRST, hub, seq);
    CREATE INDEX records_by_category ON records (complete, kind, status, category, area,
        urgency_rank NULLS FIRST, created_at NULLS FIRST, hub, seq);
    CREATE INDEX records_by_origin ON records (complete, kind, status, hub,
        urgency_rank NULLS FIRST, created_at NULLS FIRST, seq);
    CREATE INDEX records_any_status ON records (complete, kind,
        urgency_rank NULLS FIRST, created_at NULLS FIRST, hub, seq);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
#: The text filter's trigram index (pg_trgm's, so ``search LIKE '%…%'`` reads the index, not
#: every record): made when the server has the extension, outside the numbered migrations.
TEXT_INDEX = "records_search_trigrams"
#: Where this adapter installs pg_trgm when the database lacks it: a schema of the database's,
#: not a cloud's (dropping one cloud's schema must not take the others' indexes with it).
EXTENSION_SCHEMA = "fieldkit_extensions"
#: The advisory lock's first key ("fk" in ASCII); the second is the schema's name hashed.
LOCK_CLASS = 0x666B
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
ITER_OPS = (
    "SELECT o.origin, o.seq, o.body, coalesce(r.share_contact, FALSE)"
    " FROM ops o LEFT JOIN records r ON r.hub = o.rec_hub AND r.seq = o.rec_seq"
    " WHERE (o.origin, o.seq) > (%s, %s) ORDER BY o.origin, o.seq LIMIT %s"
)
ITER_RECORDS = (
    "SELECT hub, seq, state FROM records WHERE complete AND (hub, seq) > (%s, %s)"
    " ORDER BY hub, seq LIMIT %s"
)
#: Which of a batch's ops (two arrays: origins, seqs) the log holds, in one query.
HELD = (
    "SELECT o.origin, o.seq FROM unnest(%s::bigint[], %s::bigint[]) AS k (origin, seq)"
    " JOIN ops o ON o.origin = k.origin AND o.seq = k.seq"
)
#: The stored states of a batch's records (two arrays: hubs, seqs), in one query.
STORED_STATES = (
    "SELECT r.state FROM unnest(%s::bigint[], %s::bigint[]) AS k (hub, seq)"
    " JOIN records r ON r.hub = k.hub AND r.seq = k.seq"
)
Conn = psycopg.AsyncConnection[tuple[Any, ...]]
log = logging.getLogger(__name__)


class PgTx(WriteTx):
    """One open write transaction. Obtain it from :meth:`PostgresStore.transaction`.

    The bookkeeping is :class:`~fieldkit.store.write_tx.WriteTx`'s, the same as SQLite's; the
    set-wise look-ups pass their keys as two arrays (``unnest``), and ``executemany`` runs in
    psycopg's pipeline: a batch is a few round trips, not one per op.
    """

    SQL = STATEMENTS.with_placeholder("%s")

    def __init__(self, db: Conn) -> None:
        super().__init__()
        self._db = db

    async def _rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = await self._db.execute(query, params)
        return await cur.fetchall()

    async def _run(self, query: str, params: Sequence[Any] = ()) -> int:
        cur = await self._db.execute(query, params)
        return cur.rowcount

    async def _run_many(self, query: str, rows: Sequence[Sequence[Any]]) -> None:
        async with self._db.cursor() as cur:
            await cur.executemany(query, rows)

    async def _held(self, keys: Sequence[OpKey]) -> set[OpKey]:
        rows = await self._rows(HELD, ([k[0] for k in keys], [k[1] for k in keys]))
        return {(int(origin), int(seq)) for origin, seq in rows}

    async def _stored_states(self, records: Sequence[RecordId]) -> dict[RecordId, RecordState]:
        rows = await self._rows(
            STORED_STATES, ([rid.hub for rid in records], [rid.seq for rid in records])
        )
        return {s.id: s for s in (RecordState.from_json(json.loads(text)) for (text,) in rows)}


class _CloudTables:
    """The cloud aggregator's tables (:class:`fieldkit.store.cloud_port.CloudPort`). Challenges
    are taken under no lock of ours: ``DELETE … RETURNING`` hands a row to one taker only."""

    _db: Conn
    _readers: AsyncConnectionPool

    def transaction(self) -> AbstractAsyncContextManager[PgTx]:
        raise NotImplementedError  # PostgresStore's

    async def _write(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self.transaction():
            cur = await self._db.execute(query, params)
            return await cur.fetchall() if cur.description else []

    async def _read(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self._readers.connection() as conn:
            cur = await conn.execute(query, params)
            return await cur.fetchall()

    async def enroll_hub(self, name: str, code_hash: bytes, now: int) -> None:
        await self._write(
            "INSERT INTO cloud_hubs (name, code_hash, enrolled_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (name) DO UPDATE SET code_hash = excluded.code_hash,"
            " credential_hash = NULL, enrolled_at = excluded.enrolled_at, joined_at = NULL,"
            " revoked_at = NULL",
            (name, code_hash, now),
        )

    async def redeem_code(
        self, code_hash: bytes, credential_hash: bytes, hub_id: int, now: int, issued_after: int
    ) -> str | None:
        rows = await self._write(
            "UPDATE cloud_hubs SET code_hash = NULL, credential_hash = %s, hub_id = %s,"
            " joined_at = %s WHERE code_hash = %s AND revoked_at IS NULL AND enrolled_at > %s"
            " RETURNING name",
            (credential_hash, hub_id, now, code_hash, issued_after),
        )
        return str(rows[0][0]) if rows else None

    async def revoke_hub(self, name: str, now: int) -> bool:
        rows = await self._write(
            "UPDATE cloud_hubs SET revoked_at = %s, code_hash = NULL WHERE name = %s"
            " RETURNING name",
            (now, name),
        )
        return bool(rows)

    async def hub_for_credential(self, credential_hash: bytes) -> tuple[str, bool] | None:
        rows = await self._read(
            "SELECT name, revoked_at IS NOT NULL FROM cloud_hubs WHERE credential_hash = %s",
            (credential_hash,),
        )
        return (str(rows[0][0]), bool(rows[0][1])) if rows else None

    async def enrolled_hubs(self) -> list[EnrolledHub]:
        rows = await self._read(
            "SELECT h.name, h.hub_id, h.enrolled_at, h.joined_at, h.revoked_at,"
            " (SELECT count(*) FROM op_deliveries d WHERE d.hub = h.name)"
            " FROM cloud_hubs h ORDER BY h.name"
        )
        return [EnrolledHub(str(n), i, e, j, r, int(d)) for n, i, e, j, r, d in rows]

    async def hub_names(self) -> dict[int, str]:
        rows = await self._read(
            "SELECT hub_id, name FROM cloud_hubs WHERE hub_id IS NOT NULL ORDER BY name"
        )
        return {int(i): str(n) for i, n in rows}

    async def issue_challenge(self, challenge: bytes, now: float, ttl: float) -> None:
        async with self._readers.connection() as conn:  # autocommit: no write lock needed
            await conn.execute("DELETE FROM cloud_challenges WHERE issued_at < %s", (now - ttl,))
            await conn.execute(
                "INSERT INTO cloud_challenges (challenge, issued_at) VALUES (%s, %s)",
                (challenge, now),
            )

    async def take_challenge(self, challenge: bytes, now: float, ttl: float) -> bool:
        rows = await self._read(
            "DELETE FROM cloud_challenges WHERE challenge = %s RETURNING issued_at", (challenge,)
        )
        return bool(rows) and now - float(rows[0][0]) <= ttl

    async def delivered_by(self, origin: int, seq: int) -> str | None:
        rows = await self._read(
            "SELECT hub FROM op_deliveries WHERE origin = %s AND seq = %s", (origin, seq)
        )
        return str(rows[0][0]) if rows else None


class PostgresStore(_CloudTables):
    """Storage on PostgreSQL. Open with :meth:`open`; close with :meth:`close`."""

    def __init__(self, writer: Conn, readers: AsyncConnectionPool, where: str) -> None:
        self._db = writer
        self._readers = readers
        self._where = where
        self._write_lock = asyncio.Lock()
        self.commits = 0
        self._seen_commits = 0  # the commit counter when last asked
        self._own_since_asked = 0

    @classmethod
    async def open(cls, url: str, *, schema: str | None = None) -> PostgresStore:
        """Open the database at ``url`` (``postgresql://…``), in ``schema`` if given (created
        if missing), and bring its schema up to date."""
        if schema is not None and not _SCHEMA_NAME.match(schema):
            raise StoreError(f"not a schema name: {schema!r} (lower-case letters, digits, _)")
        where = _describe(url, schema)
        try:
            if schema is not None:
                async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
                    await admin.execute(
                        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
                    )
            conninfo = (
                url if schema is None else make_conninfo(url, options=f"-csearch_path={schema}")
            )
            writer: Conn = await psycopg.AsyncConnection.connect(conninfo)
        except psycopg.Error as exc:
            raise StoreError(f"cannot open database {where}: {exc}") from exc
        readers = AsyncConnectionPool(
            conninfo, min_size=1, max_size=4, open=False, kwargs={"autocommit": True}
        )
        store = cls(writer, readers, where)
        try:
            await store._migrate()
            await readers.open(wait=True, timeout=30)
            store._seen_commits = await store._commit_counter()
        except BaseException as exc:
            await readers.close()
            await writer.close()
            if isinstance(exc, StoreError):
                raise
            if isinstance(exc, psycopg.Error):
                raise StoreError(f"cannot use database {where}: {exc}") from exc
            raise
        return store

    async def close(self) -> None:
        await self._readers.close()
        await self._db.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def location(self) -> str:
        return self._where

    async def _migrate(self) -> None:
        async with self._db.transaction():
            await self._lock()
            await self._db.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
            )
            rows = await (await self._db.execute("SELECT version FROM schema_version")).fetchall()
            version = int(rows[0][0]) if rows else 0
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"database {self._where} has schema {version}, newer than this fieldkit "
                    f"({SCHEMA_VERSION}): upgrade fieldkit"
                )
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        await self._db.execute(statement)
            if not rows:
                await self._db.execute(
                    "INSERT INTO schema_version (version) VALUES (%s)", (SCHEMA_VERSION,)
                )
            elif version != SCHEMA_VERSION:
                await self._db.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION,))
            await self._text_index()

    async def _text_index(self) -> None:
        """The trigram index of the text filter, if it is missing and the server can make it.

        pg_trgm ships with PostgreSQL (Debian's ``postgresql``, every managed service) and is a
        trusted extension, so a database owner may create it. Without it the text filter still
        answers, by reading every record of the queue (a warning says so); the next start
        tries again."""
        held = await self._db.execute(
            "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = %s",
            (TEXT_INDEX,),
        )
        if await held.fetchone():
            return
        try:
            async with self._db.transaction():  # a savepoint: a refusal undoes only this
                await self._db.execute(  # one creator at a time, whichever schema
                    "SELECT pg_advisory_xact_lock(%s, hashtext('pg_trgm'))", (LOCK_CLASS,)
                )
                found = await self._db.execute(
                    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n"
                    " ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
                )
                row = await found.fetchone()
                home = str(row[0]) if row else EXTENSION_SCHEMA
                if row is None:
                    await self._db.execute(
                        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(home))
                    )
                    await self._db.execute(
                        sql.SQL("CREATE EXTENSION pg_trgm SCHEMA {}").format(sql.Identifier(home))
                    )
                await self._db.execute(
                    sql.SQL("CREATE INDEX {} ON records USING gin (search {}.gin_trgm_ops)").format(
                        sql.Identifier(TEXT_INDEX), sql.Identifier(home)
                    )
                )
        except psycopg.Error as exc:
            log.warning(
                "database %s: no trigram index for the console's text filter (it reads every"
                " record instead): %s. Install PostgreSQL's pg_trgm extension (CREATE EXTENSION"
                " pg_trgm, as the database's owner) and restart.",
                self._where, str(exc).strip().splitlines()[0],
            )  # fmt: skip

    async def _lock(self) -> None:
        """The write lock of this schema, held until the transaction ends (every process)."""
        await self._db.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(current_schema()))", (LOCK_CLASS,)
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgTx]:
        """A write transaction: all of it commits, or none of it."""
        async with self._write_lock:
            try:
                async with self._db.transaction():
                    await self._lock()
                    tx = PgTx(self._db)
                    yield tx
                    await tx.flush()
                    await self._db.execute("UPDATE commits SET n = n + 1")
            except psycopg.OperationalError as exc:
                raise StoreError(f"database {self._where}: {exc}") from exc
            self.commits += 1
            self._own_since_asked += 1

    async def _commit_counter(self) -> int:
        return int(await self._scalar("SELECT n FROM commits") or 0)

    async def changed_elsewhere(self) -> bool:
        now = await self._commit_counter()
        changed = now - self._seen_commits > self._own_since_asked
        self._seen_commits, self._own_since_asked = now, 0
        return changed

    async def _fetch(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self._readers.connection() as conn:
            cur = await conn.execute(query, params)
            return await cur.fetchall()

    async def _scalar(self, query: str, params: Sequence[Any] = ()) -> Any:
        rows = await self._fetch(query, params)
        return rows[0][0] if rows else None

    # --- metadata -------------------------------------------------------------------------

    async def meta(self, key: str) -> str | None:
        value = await self._scalar("SELECT value FROM meta WHERE key = %s", (key,))
        return str(value) if value is not None else None

    async def set_meta(self, key: str, value: str) -> None:
        await self.update_meta(key, lambda _: value)

    async def update_meta(self, key: str, change: Callable[[str | None], str]) -> str:
        async with self.transaction():
            cur = await self._db.execute("SELECT value FROM meta WHERE key = %s", (key,))
            row = await cur.fetchone()
            value = row[0] if row else None
            new = change(None if value is None else str(value))
            await self._db.execute(
                "INSERT INTO meta (key, value) VALUES (%s, %s)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, new),
            )
        return new

    async def max_hlc(self, origin: int) -> int:
        return int(await self._scalar("SELECT max(hlc) FROM ops WHERE origin = %s", (origin,)) or 0)

    # --- records --------------------------------------------------------------------------

    async def get(self, record: RecordId) -> Record | None:
        rows = await self._fetch(
            "SELECT state FROM records WHERE hub = %s AND seq = %s AND complete",
            (record.hub, record.seq),
        )
        return RecordState.from_json(json.loads(rows[0][0])).view() if rows else None

    async def find_by_ref(self, ref: str) -> list[Record]:
        return await self._records(
            "SELECT r.state FROM refs f JOIN records r ON r.hub = f.hub AND r.seq = f.seq"
            " WHERE f.ref = %s AND r.complete ORDER BY r.created_at NULLS FIRST, r.hub, r.seq",
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
        query, params = listing_query(kind, status, area, category, origin, text)
        return await self._records(query, (*params, limit, offset))

    async def history(self, record: RecordId) -> list[Logged]:
        rows = await self._fetch(
            "SELECT state FROM records WHERE hub = %s AND seq = %s", (record.hub, record.seq)
        )
        if not rows:
            return []
        # a match is filed under its need: an offer's are found under the needs it matched
        state = RecordState.from_json(json.loads(rows[0][0]))
        # merges and "I'd like this" links are filed under their first record too
        files = [record, *state.matches, *state.merged_into, *state.merged, *state.linked]
        where = " OR ".join(["(o.rec_hub = %s AND o.rec_seq = %s)"] * len(files))
        found = [
            Logged(op, int(received_at), op.actor or str(actor))
            for body, received_at, actor in await self._fetch(
                "SELECT o.body, o.received_at, coalesce(a.actor, '') FROM ops o"
                " LEFT JOIN op_actors a ON a.origin = o.origin AND a.seq = o.seq"
                f" WHERE {where}",
                [n for rid in files for n in (rid.hub, rid.seq)],
            )
            if record in (op := op_from_json(json.loads(body))).records()
        ]
        found.sort(key=lambda entry: (entry.op.key, entry.op.seq))
        return found

    async def _records(self, query: str, params: Iterable[Any]) -> list[Record]:
        rows = await self._fetch(query, tuple(params))
        return [RecordState.from_json(json.loads(row[0])).view() for row in rows]

    async def iter_records(self, batch: int = 500) -> AsyncIterator[Record]:
        last = (-1, -1)
        while True:
            rows = await self._fetch(ITER_RECORDS, (*last, batch))
            if not rows:
                return
            for row in rows:
                yield RecordState.from_json(json.loads(row[2])).view()
            last = (int(rows[-1][0]), int(rows[-1][1]))

    async def counts(self) -> dict[tuple[str, str], int]:
        rows = await self._fetch("SELECT kind, status, n FROM record_counts")
        return {(str(kind), str(status)): int(n) for kind, status, n in rows}

    async def category_counts(
        self, kind: Kind, status: Status, area: str | None = None
    ) -> dict[tuple[str, str], int]:
        query = "SELECT category, area, n FROM board_counts WHERE kind = %s AND status = %s"
        params: list[str] = [kind.value, status.value]
        if area is not None:
            query += " AND area = %s"
            params.append(area)
        return {(str(c), str(a)): int(n) for c, a, n in await self._fetch(query, params)}

    async def state_hash(self, *, public: bool = False) -> str:
        rows = await self._fetch("SELECT state FROM records ORDER BY hub, seq")
        return state_hash([RecordState.from_json(json.loads(s)) for (s,) in rows], public=public)

    # --- ops ------------------------------------------------------------------------------

    async def version_vector(self) -> dict[int, int]:
        rows = await self._fetch("SELECT origin, contiguous FROM origins")
        return {int(origin): int(contiguous) for origin, contiguous in rows}

    async def held_beyond(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for origin, seq in await self._fetch(
            "SELECT o.origin, o.seq FROM ops o JOIN origins g ON g.origin = o.origin"
            " WHERE o.seq > g.contiguous ORDER BY o.origin, o.seq"
        ):
            out.setdefault(int(origin), []).append(int(seq))
        return out

    async def iter_ops(self, batch: int = 500) -> AsyncIterator[tuple[Op, bool]]:
        last = (-1, -1)
        while True:
            rows = await self._fetch(ITER_OPS, (*last, batch))
            if not rows:
                return
            for _, _, body, consented in rows:
                yield op_from_json(json.loads(body)), bool(consented)
            last = (int(rows[-1][0]), int(rows[-1][1]))

    async def ops_for_offer(
        self, ranges: dict[int, list[tuple[int, int]]], limit: int
    ) -> list[tuple[Op, bool]]:
        where: list[str] = []
        params: list[int] = []
        for origin, spans in ranges.items():
            for lo, hi in spans:
                where.append("(o.origin = %s AND o.seq BETWEEN %s AND %s)")
                params.extend((origin, lo, hi))
        if not where:
            return []
        out = []
        for start in range(0, len(where), 300):
            rows = await self._fetch(
                "SELECT o.body, coalesce(r.share_contact, FALSE), r.urgency_rank"
                " FROM ops o LEFT JOIN records r ON r.hub = o.rec_hub AND r.seq = o.rec_seq"
                f" WHERE {' OR '.join(where[start : start + 300])}"
                f" ORDER BY coalesce(r.urgency_rank, {LEAST_URGENT}), o.hlc, o.origin, o.seq"
                " LIMIT %s",
                (*params[start * 3 : (start + 300) * 3], limit),
            )
            out.extend([(op_from_json(json.loads(b)), bool(c), u) for b, c, u in rows])
        out.sort(key=lambda row: send_order(row[2], row[0]))
        return [(op, consented) for op, consented, _ in out[:limit]]


def listing_query(
    kind: Kind | None,
    status: Status | None,
    area: str | None,
    category: Category | None,
    origin: int | None,
    text: str | None,
) -> tuple[str, list[Any]]:
    """A queue's query (its LIMIT and OFFSET last) in the order of migration 4's indexes."""
    where, params = ["complete"], list[Any]()
    for column, value in (
        ("kind", kind), ("status", status), ("area", area), ("category", category),
        ("hub", origin),
    ):  # fmt: skip
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value if isinstance(value, int) else str(value))
    if text:
        escaped = text.casefold()
        for special in ("\\", "%", "_"):
            escaped = escaped.replace(special, "\\" + special)
        where.append("search LIKE %s ESCAPE '\\'")
        params.append(f"%{escaped}%")
    query = (
        f"SELECT state FROM records WHERE {' AND '.join(where)}"
        " ORDER BY urgency_rank NULLS FIRST, created_at NULLS FIRST, hub, seq"
        " LIMIT %s OFFSET %s"
    )
    return query, params


def _describe(url: str, schema: str | None) -> str:
    """Where the data lives, for messages: host and database, never a password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql (unreadable URL)"
    host = parts.get("host") or "localhost"
    name = parts.get("dbname") or parts.get("user") or ""
    return f"postgresql://{host}/{name}" + (f" (schema {schema})" if schema else "")


if TYPE_CHECKING:  # the PostgreSQL adapter implements the storage port
    _store: type[StorePort] = PostgresStore
    _tx: type[TxPort] = PgTx
    _cloud: type[CloudPort] = PostgresStore
    _cloud_tx: type[CloudTxPort] = PgTx
