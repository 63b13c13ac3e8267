"""The write transaction's bookkeeping, once for every adapter: appending ops, folding them
into their records (:mod:`fieldkit.core.fold`), the version vector, the counters, redaction's
purge, idempotency keys, actors and deliveries.

An adapter subclasses :class:`WriteTx` with its database's I/O (:meth:`WriteTx._rows`,
:meth:`~WriteTx._run`, :meth:`~WriteTx._run_many`), its placeholder (:data:`STATEMENTS` are
written with ``?``; PostgreSQL's are the same with ``%s``) and its two set-wise look-ups, which
each database does its own way in one query (:meth:`~WriteTx._held`,
:meth:`~WriteTx._stored_states`).

**Set-wise ingest.** :meth:`WriteTx.ingest` stores a batch of received ops (an HTTP page, an
envelope of a bundle, a radio message) with a handful of statements whatever its size: which of
them are held already (one query), the prior state of every record they touch (one query),
the fold in Python, then the new ops, the records and their reference codes each in one
``executemany``; the vector rows and counters are written once, at :meth:`~WriteTx.flush`.
Its result is the result of :meth:`~WriteTx.add` of each op in turn, because

- the fold is a merge of the ops held, whatever their order (so folding the batch in memory
  from each record's stored state gives the state the last of the one-at-a-time saves wrote);
- a counter moves by the difference between a record's counted key before and after (the
  steps of one-at-a-time folding telescope to it);
- the vector's contiguous seq depends only on the seqs held;
- reference codes only grow, so the final state's are every intermediate state's;
- an op is stored stripped (:func:`~fieldkit.core.ops.strip_private`) when its record ends the
  batch redacted: one-at-a-time strips a create or update arriving after the redaction, and the
  redaction's purge strips what was held before it (and stripping changes no other op).

``tests/store/test_contract.py`` checks this against one-at-a-time on every adapter.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from fieldkit.core.fold import RecordState
from fieldkit.core.ops import Op, RecordId, Redact, op_from_json, op_to_json, strip_private
from fieldkit.store.columns import counted_as, search_text, urgency_rank

#: An op's identity in the log: (origin, seq).
OpKey = tuple[int, int]


@dataclass(frozen=True)
class Statements:
    """The SQL of the bookkeeping, the same text in every adapter but for its placeholder."""

    origin: str = "SELECT contiguous, max_seq FROM origins WHERE origin = ?"
    last_hlc: str = "SELECT hlc FROM ops WHERE origin = ? ORDER BY seq DESC LIMIT 1"
    seqs_after: str = "SELECT seq FROM ops WHERE origin = ? AND seq > ? ORDER BY seq"
    recall: str = "SELECT hub, seq FROM idempotency WHERE key = ?"
    remember: str = "INSERT INTO idempotency (key, hub, seq) VALUES (?, ?, ?)"
    claim: str = (
        "INSERT INTO idempotency (key, hub, seq) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING"
    )
    actor: str = (
        "INSERT INTO op_actors (origin, seq, actor) VALUES (?, ?, ?)"
        " ON CONFLICT (origin, seq) DO UPDATE SET actor = excluded.actor"
    )
    state: str = "SELECT state FROM records WHERE hub = ? AND seq = ?"
    insert_op: str = (
        "INSERT INTO ops (origin, seq, hlc, rec_hub, rec_seq, body, received_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (origin, seq) DO NOTHING"
    )
    save: str = (
        "INSERT INTO records (hub, seq, complete, kind, category, urgency_rank, status, area,"
        " created_at, updated, state, share_contact, search)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (hub, seq) DO UPDATE SET complete = excluded.complete,"
        " kind = excluded.kind, category = excluded.category,"
        " urgency_rank = excluded.urgency_rank, status = excluded.status,"
        " area = excluded.area, created_at = excluded.created_at,"
        " updated = excluded.updated, state = excluded.state,"
        " share_contact = excluded.share_contact, search = excluded.search"
    )
    ref: str = "INSERT INTO refs (ref, hub, seq) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
    filed_under: str = "SELECT origin, seq, body FROM ops WHERE rec_hub = ? AND rec_seq = ?"
    rewrite: str = "UPDATE ops SET body = ? WHERE origin = ? AND seq = ?"
    delivery: str = (
        "INSERT INTO op_deliveries (origin, seq, hub) VALUES (?, ?, ?)"
        " ON CONFLICT (origin, seq) DO NOTHING"
    )
    board: str = (
        "INSERT INTO board_counts AS b (kind, status, category, area, n) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (kind, status, category, area) DO UPDATE SET n = b.n + excluded.n"
    )
    board_zero: str = "DELETE FROM board_counts WHERE n = 0"
    counts: str = (
        "INSERT INTO record_counts AS c (kind, status, n) VALUES (?, ?, ?)"
        " ON CONFLICT (kind, status) DO UPDATE SET n = c.n + excluded.n"
    )
    counts_zero: str = "DELETE FROM record_counts WHERE n = 0"
    origins: str = (
        "INSERT INTO origins (origin, contiguous, max_seq) VALUES (?, ?, ?)"
        " ON CONFLICT (origin) DO UPDATE SET contiguous = excluded.contiguous,"
        " max_seq = excluded.max_seq"
    )

    def with_placeholder(self, mark: str) -> Statements:
        """The same statements with ``mark`` (``%s``) for each ``?``."""
        return Statements(
            **{f.name: getattr(self, f.name).replace("?", mark) for f in fields(self)}
        )


STATEMENTS = Statements()


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def record_row(state: RecordState) -> tuple[Any, ...]:
    """The ``records`` row of a folded state (booleans as bool: SQLite stores 0/1)."""
    rid = state.id
    return (
        rid.hub, rid.seq, state.complete,
        state.kind.value if state.kind else None,
        state.value("category"), urgency_rank(state.value("urgency")),
        state.status[0].status.value if state.status else None,
        state.value("area"), state.created_at, state.updated, _dumps(state.to_json()),
        bool(state.value("share_contact")), search_text(state),
    )  # fmt: skip


class WriteTx:
    """One open write transaction's bookkeeping (subclassed by each adapter's ``Tx``).

    The write path keeps round trips few: each origin's vector row is read once per
    transaction and written back once, and so are the counters, just before the commit
    (:meth:`flush`); a batch of ops is stored set-wise (:meth:`ingest`).
    """

    SQL: ClassVar[Statements] = STATEMENTS

    def __init__(self) -> None:
        #: origin -> [contiguous, max_seq] as this transaction has made them
        self._origins: dict[int, list[int]] = {}
        self._dirty: set[int] = set()
        #: origin -> the latest clock stamp of its ops, once asked for in this transaction
        self._last_hlc: dict[int, int] = {}
        #: (kind, status, category, area) -> how this transaction changes that counter
        self._counted: dict[tuple[str, str, str, str], int] = {}
        #: (origin, seq, hub): which enrolled hub delivered each new op (the cloud), for flush
        self._delivered: list[tuple[int, int, str]] = []

    # --- the adapter's I/O ------------------------------------------------------------------

    async def _rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    async def _run(self, query: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the rows it changed."""
        raise NotImplementedError

    async def _run_many(self, query: str, rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    async def _held(self, keys: Sequence[OpKey]) -> set[OpKey]:
        """Which of ``keys`` the log holds, in one query."""
        raise NotImplementedError

    async def _stored_states(self, records: Sequence[RecordId]) -> dict[RecordId, RecordState]:
        """The stored state of each of ``records`` that has one, in one query."""
        raise NotImplementedError

    # --- the port ---------------------------------------------------------------------------

    async def _origin(self, origin: int) -> list[int]:
        row = self._origins.get(origin)
        if row is None:
            rows = await self._rows(self.SQL.origin, (origin,))
            row = self._origins[origin] = [int(n) for n in (rows[0] if rows else (0, 0))]
        return row

    async def next_seq(self, origin: int) -> int:
        return (await self._origin(origin))[1] + 1

    async def last_hlc(self, origin: int) -> int:
        """The clock stamp of ``origin``'s latest op, as the database holds it now (inside
        this write transaction, so no other writer can add one meanwhile)."""
        if origin not in self._last_hlc:
            rows = await self._rows(self.SQL.last_hlc, (origin,))
            self._last_hlc[origin] = int(rows[0][0]) if rows else 0
        return self._last_hlc[origin]

    async def recall(self, key: str) -> RecordId | None:
        rows = await self._rows(self.SQL.recall, (key,))
        return RecordId(int(rows[0][0]), int(rows[0][1])) if rows else None

    async def remember(self, key: str, record: RecordId) -> None:
        await self._run(self.SQL.remember, (key, record.hub, record.seq))

    async def claim(self, key: str, record: RecordId) -> RecordId | None:
        claimed = await self._run(self.SQL.claim, (key, record.hub, record.seq))
        return None if claimed == 1 else await self.recall(key)

    async def record_actor(self, op: Op, actor: str) -> None:
        await self._run(self.SQL.actor, (op.origin, op.seq, actor))

    async def record_delivery(self, op: Op, hub: str) -> None:
        """Kept until :meth:`flush`, then written in one statement with the others."""
        self._delivered.append((op.origin, op.seq, hub))

    async def state(self, record: RecordId) -> RecordState | None:
        rows = await self._rows(self.SQL.state, (record.hub, record.seq))
        return RecordState.from_json(json.loads(rows[0][0])) if rows else None

    async def add(self, op: Op) -> bool:
        return bool(await self.ingest((op,)))

    async def append(self, op: Op) -> tuple[RecordState, ...] | None:
        new, states = await self._ingest((op,))
        return tuple(states[rid] for rid in dict.fromkeys(op.records())) if new else None

    async def ingest(self, ops: Iterable[Op]) -> list[Op]:
        """Store every op of ``ops`` not held yet and fold it in, set-wise (see the module):
        the same as :meth:`add` of each in turn. Returns the new ops, in the order given."""
        return (await self._ingest(ops))[0]

    async def _ingest(self, ops: Iterable[Op]) -> tuple[list[Op], dict[RecordId, RecordState]]:
        arrived: dict[OpKey, Op] = {}
        for op in ops:
            arrived.setdefault((op.origin, op.seq), op)  # the first of two with one id wins
        held = await self._held(list(arrived)) if arrived else set()
        new = [op for key, op in arrived.items() if key not in held]
        if not new:
            return [], {}
        touched = list(dict.fromkeys(rid for op in new for rid in op.records()))
        stored = await self._stored_states(touched)
        states = {rid: stored.get(rid) or RecordState(rid) for rid in touched}
        before = {rid: counted_as(state) for rid, state in states.items()}
        redacted: list[RecordId] = []
        for op in new:
            for rid in dict.fromkeys(op.records()):
                states[rid].apply(op)
            if isinstance(op.body, Redact):
                redacted.append(op.body.record)
        for rid in dict.fromkeys(redacted):
            await self._purge(rid)  # what was held before this batch
        now = int(time.time())
        await self._run_many(self.SQL.insert_op, [
            (op.origin, op.seq, op.hlc, first.hub, first.seq,
             _dumps(op_to_json(strip_private(op) if states[first].redacted else op)), now)
            for op in new for first in (op.records()[0],)
        ])  # fmt: skip
        await self._run_many(self.SQL.save, [record_row(s) for s in states.values()])
        refs = [(ref, s.id.hub, s.id.seq) for s in states.values() for ref in sorted(s.refs)]
        if refs:
            await self._run_many(self.SQL.ref, refs)
        for rid, state in states.items():
            after = counted_as(state)
            if before[rid] != after:
                for key, step in ((before[rid], -1), (after, 1)):
                    if key is not None:
                        self._counted[key] = self._counted.get(key, 0) + step
        seqs: dict[int, list[int]] = {}
        for op in new:
            seqs.setdefault(op.origin, []).append(op.seq)
            if op.origin in self._last_hlc:
                self._last_hlc[op.origin] = max(self._last_hlc[op.origin], op.hlc)
        for origin, added in seqs.items():
            await self._advance_vector(origin, sorted(added))
        return new, states

    async def _advance_vector(self, origin: int, added: list[int]) -> None:
        """Take ``added`` (new seqs of ``origin``, ascending, stored already) into its row."""
        row = await self._origin(origin)
        contiguous, max_seq = row
        if added[0] == contiguous + 1:
            # the seqs past the contiguous ones: only the new, unless a gap was open before
            after = added
            if max_seq > contiguous:
                rows = await self._rows(self.SQL.seqs_after, (origin, contiguous))
                after = [int(seq) for (seq,) in rows]
            for seq in after:
                if seq != contiguous + 1:
                    break
                contiguous = seq
        row[:] = [contiguous, max(max_seq, added[-1])]
        self._dirty.add(origin)

    async def _purge(self, record: RecordId) -> None:
        """Rewrite the stored ops of a redacted record so its personal data is gone."""
        rows = await self._rows(self.SQL.filed_under, (record.hub, record.seq))
        rewritten = [
            (_dumps(op_to_json(strip_private(op_from_json(json.loads(body))))), origin, seq)
            for origin, seq, body in rows
        ]
        if rewritten:
            await self._run_many(self.SQL.rewrite, rewritten)

    async def flush(self) -> None:
        """Write the vector rows, counters and deliveries this transaction changed (before it
        commits)."""
        if self._delivered:
            await self._run_many(self.SQL.delivery, self._delivered)
            self._delivered = []
        board = [(*key, n) for key, n in self._counted.items() if n]
        totals: dict[tuple[str, str], int] = {}
        for kind, status, _, _, n in board:
            totals[kind, status] = totals.get((kind, status), 0) + n
        changed = [(kind, status, n) for (kind, status), n in totals.items() if n]
        if board:
            await self._run_many(self.SQL.board, board)
            if any(row[-1] < 0 for row in board):  # a counter may have reached zero
                await self._run(self.SQL.board_zero)
        if changed:
            await self._run_many(self.SQL.counts, changed)
            if any(n < 0 for _, _, n in changed):
                await self._run(self.SQL.counts_zero)
        self._counted.clear()
        if self._dirty:
            await self._run_many(
                self.SQL.origins,
                [(origin, *self._origins[origin]) for origin in sorted(self._dirty)],
            )
            self._dirty.clear()
