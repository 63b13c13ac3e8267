"""The storage port: what the hub, sync and the web pages need from a store, and nothing more.

An adapter (:mod:`fieldkit.store.sqlite` today; PostgreSQL for the cloud aggregator) implements
:class:`StorePort` and its transaction, :class:`TxPort`; everything above the store is typed
against these protocols, and only the code that opens a database names an adapter.
``tests/store/test_contract.py`` checks every adapter against the rules written here.

The rules every adapter keeps:

- **One write transaction at a time, all or nothing.** :meth:`StorePort.transaction` appends
  ops, folds them into their records (:mod:`fieldkit.core.fold`), advances the version
  vector, indexes reference codes and idempotency keys, and maintains the counters, and either
  all of it commits or none of it does.
- **One origin, several writers.** Several store instances (processes) may write to one
  database. :meth:`TxPort.next_seq` and :meth:`TxPort.last_hlc` read what the database holds
  inside the write transaction, so an origin's seqs never repeat and its clock never goes back,
  whichever instance writes.
- **Appending is idempotent.** An op already held (same origin and seq) is not stored again.
- **A batch is the sum of its ops.** :meth:`TxPort.ingest` of a batch leaves the records,
  counters, vector and log exactly as :meth:`TxPort.add` of each op in turn would.
- **Reads see only what has committed**, never a write transaction still open.
- **Aggregates are exact at any size** and do not grow with the number of records:
  :meth:`StorePort.counts` (what ``/healthz`` and ``/hub/status`` show) reads counters kept in
  the write transaction; :meth:`StorePort.version_vector` one row per origin.
- **Streams are bounded**: :meth:`StorePort.iter_records` and :meth:`StorePort.iter_ops` read a
  page of ``batch`` rows at a time, whatever the size of the data.
- **Sending follows** :func:`fieldkit.core.ops.send_order`, and each op travels with its
  record's contact consent (``share_contact``), so carriers can strip what may not leave.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol, Self

from fieldkit.core.fold import Record, RecordState
from fieldkit.core.ops import Op, RecordId
from fieldkit.core.records import Category, Kind, Status


@dataclass(frozen=True)
class Logged:
    """One op of a record's history (the console's audit trail), as this hub holds it."""

    op: Op
    received_at: int  # unix seconds, when this hub stored it
    actor: str  # the coordinator's name if the op was made at this hub by one, else ""


class TxPort(Protocol):
    """One open write transaction (from :meth:`StorePort.transaction`)."""

    async def next_seq(self, origin: int) -> int:
        """The seq ``origin``'s next op takes: one past the highest the database holds."""
        ...

    async def last_hlc(self, origin: int) -> int:
        """The clock stamp of ``origin``'s latest op as the database holds it (0 if none)."""
        ...

    async def add(self, op: Op) -> bool:
        """Append ``op`` unless it is already here, and fold it in. True if it was new."""
        ...

    async def append(self, op: Op) -> tuple[RecordState, ...] | None:
        """Like :meth:`add`; returns the folded state of the op's records, or None if known."""
        ...

    async def ingest(self, ops: Iterable[Op]) -> list[Op]:
        """Append every op of ``ops`` not already here and fold them in, set-wise (a batch
        received: a few statements whatever its size); the same as :meth:`add` of each in turn.
        Returns the ops that were new, in the order given."""
        ...

    async def state(self, record: RecordId) -> RecordState | None:
        """The record's folded state as this transaction sees it (None if nothing is held)."""
        ...

    async def recall(self, key: str) -> RecordId | None:
        """The record an idempotency key (form token, import line) already created."""
        ...

    async def remember(self, key: str, record: RecordId) -> None:
        """Remember that ``key`` created ``record``."""
        ...

    async def claim(self, key: str, record: RecordId) -> RecordId | None:
        """Remember ``key`` for ``record`` unless it is known: None, or the record it names."""
        ...

    async def record_actor(self, op: Op, actor: str) -> None:
        """Remember who (a coordinator's name) made ``op`` at this hub (see ``history``)."""
        ...


class StorePort(Protocol):
    """A hub's storage: the op log, folded records, version vector, counters and metadata."""

    @property
    def location(self) -> str:
        """Where the data lives, for messages (a file path; a server and database name)."""
        ...

    @property
    def commits(self) -> int:
        """Write transactions committed through this instance."""
        ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc: object) -> None: ...

    def transaction(self) -> AbstractAsyncContextManager[TxPort]:
        """A write transaction: all of it commits, or none of it (see the module's rules)."""
        ...

    async def changed_elsewhere(self) -> bool:
        """True if another instance (another process) has committed to the database since
        this was last asked (or since the store was opened); this instance's own commits do not
        count. A running hub polls it to gossip what a CLI command wrote beside it."""
        ...

    # --- metadata -------------------------------------------------------------------------

    async def meta(self, key: str) -> str | None: ...

    async def set_meta(self, key: str, value: str) -> None:
        """Set ``key`` to ``value`` in a write transaction of its own."""
        ...

    async def update_meta(self, key: str, change: Callable[[str | None], str]) -> str:
        """Set ``key`` to ``change(its value now)`` in one write transaction, so two writers
        (coroutines or processes) never lose each other's change; returns the new value. An
        error raised by ``change`` leaves the value as it was."""
        ...

    async def max_hlc(self, origin: int) -> int:
        """The latest clock stamp ``origin`` used (0 if none)."""
        ...

    # --- records --------------------------------------------------------------------------

    async def get(self, record: RecordId) -> Record | None:
        """The record, once its create op is here."""
        ...

    async def find_by_ref(self, ref: str) -> list[Record]:
        """Complete records with this reference code, oldest first."""
        ...

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
        """Complete records, most urgent first, then oldest first (then by id). Each filter
        given narrows the list: ``origin`` is the hub that created the record, ``text`` a
        case-insensitive piece of its note or reference code."""
        ...

    async def history(self, record: RecordId) -> list[Logged]:
        """Every op held that concerns ``record`` (a match concerns its need and its offer),
        ordered by clock stamp then origin, each with when it was stored here and who made it
        (:meth:`TxPort.record_actor`); [] for a record not held."""
        ...

    def iter_records(self, batch: int = 500) -> AsyncIterator[Record]:
        """Every complete record in id order, ``batch`` at a time."""
        ...

    async def counts(self) -> dict[tuple[str, str], int]:
        """Complete records by (kind, status), from counters: no scan of the records."""
        ...

    async def category_counts(
        self, kind: Kind, status: Status, area: str | None = None
    ) -> dict[tuple[str, str], int]:
        """Complete records of ``kind`` in ``status`` by (category, area), exact at any size."""
        ...

    async def state_hash(self, *, public: bool = False) -> str:
        """:func:`fieldkit.core.fold.state_hash` of every record held (for convergence)."""
        ...

    # --- ops ------------------------------------------------------------------------------

    async def version_vector(self) -> dict[int, int]:
        """Per origin, the highest seq up to which every op is held."""
        ...

    async def held_beyond(self) -> dict[int, list[int]]:
        """Per origin, the seqs held past a gap in its log, ascending."""
        ...

    def iter_ops(self, batch: int = 500) -> AsyncIterator[tuple[Op, bool]]:
        """Every op in (origin, seq) order, each with its record's contact consent."""
        ...

    async def ops_for_offer(
        self, ranges: dict[int, list[tuple[int, int]]], limit: int
    ) -> list[tuple[Op, bool]]:
        """The first ``limit`` ops in ``ranges`` (per origin, inclusive seq spans) by
        :func:`fieldkit.core.ops.send_order`, each with its record's contact consent."""
        ...
