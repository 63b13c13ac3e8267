"""The storage port's contract (:mod:`fieldkit.store.port`), checked against every adapter.

Every test here takes its stores from the ``open_store`` fixture, parametrised over
:data:`ADAPTERS`; to check a new adapter, add an entry there (an async context manager that
yields an opener: the same name opens the same database again, as a second writer does; a new
name opens a new, empty database). Adapter-specific things (SQLite's PRAGMAs, migrations,
read-only URI) are tested beside the adapter, e.g. ``tests/store/test_sqlite.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldkit.app.hub import Hub, create_identity
from fieldkit.core.fold import Record, RecordState, fold, state_hash
from fieldkit.core.ops import (
    URGENCY_RANK,
    Create,
    FieldValue,
    Op,
    RecordId,
    SetStatus,
    Update,
    send_order,
    strip_private,
)
from fieldkit.core.records import Category, Contact, Draft, Kind, Status, Urgency
from fieldkit.errors import NotFound, StoreError
from fieldkit.store.port import StorePort
from fieldkit.store.sqlite import Store
from tests.postgres import postgres_schemas
from tests.strategies import HUBS, RECORDS, op_logs

#: Opens a store on the named database of one adapter.
Opener = Callable[[str], Awaitable[StorePort]]


@asynccontextmanager
async def sqlite_databases(tmp_path: Path) -> AsyncIterator[Opener]:
    async def open_store(name: str) -> StorePort:
        return await Store.open(tmp_path / f"{name}.sqlite3")

    yield open_store


@asynccontextmanager
async def postgresql_databases(tmp_path: Path) -> AsyncIterator[Opener]:
    """Each name a schema of its own in the test server's database (a fresh one per test)."""
    async with postgres_schemas() as open_schema:

        async def open_store(name: str) -> StorePort:
            return await open_schema(name)

        yield open_store


#: Every adapter the contract is checked against.
ADAPTERS: dict[str, Callable[[Path], AbstractAsyncContextManager[Opener]]] = {
    "sqlite": sqlite_databases,
    "postgresql": postgresql_databases,
}

_names = itertools.count()


def fresh() -> str:
    """A database name no test has used yet (one per hypothesis example)."""
    return f"db{next(_names)}"


@pytest.fixture(params=sorted(ADAPTERS))
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    async with ADAPTERS[request.param](tmp_path) as opener:
        yield opener


@pytest.fixture
async def store(open_store: Opener) -> AsyncIterator[StorePort]:
    """One store of the adapter under test (the ``hub`` fixture builds on it)."""
    async with await open_store("hub") as s:
        yield s


OTHER = 0x0F0F0F0F
FIELDS = {"category": "water", "urgency": "critical", "area": "north"}
DRAFT = Draft(Kind.NEED, Category.WATER, Urgency.CRITICAL, "riverside", note="family of 4")
PROPERTY = settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])


def remote_create(seq: int, hlc: int = 100, **more: FieldValue) -> Op:
    fields = {"category": "food", "urgency": "today", "area": "north", **more}
    return Op(OTHER, seq, hlc, Create(RecordId(OTHER, seq), Kind.OFFER, 5, fields, "AAA-000"))


async def add_all(store: StorePort, ops: list[Op]) -> int:
    async with store.transaction() as tx:
        return sum([await tx.add(op) for op in ops])


async def store_in_any_order(store: StorePort, ops: list[Op], order: random.Random) -> None:
    """Store ``ops`` with a third of them again, shuffled, cut into a few transactions."""
    arrivals = ops + ops[: len(ops) // 3]
    order.shuffle(arrivals)
    cuts = sorted(order.randint(0, len(arrivals)) for _ in range(order.randint(0, 3)))
    for start, end in itertools.pairwise([0, *cuts, len(arrivals)]):
        await add_all(store, arrivals[start:end])


# --- what the store holds: the pure fold's answer --------------------------------------------


def contiguous(ops: list[Op]) -> dict[int, int]:
    out = {}
    for origin in {op.origin for op in ops}:
        seqs = {op.seq for op in ops if op.origin == origin}
        out[origin] = next(n for n in itertools.count() if n + 1 not in seqs)
    return out


def beyond(ops: list[Op]) -> dict[int, list[int]]:
    vector = contiguous(ops)
    out: dict[int, list[int]] = {}
    for op in sorted(ops, key=lambda op: (op.origin, op.seq)):
        if op.seq > vector[op.origin]:
            out.setdefault(op.origin, []).append(op.seq)
    return out


def complete(states: dict[RecordId, RecordState]) -> list[Record]:
    return [states[rid].view() for rid in sorted(states) if states[rid].complete]


def as_stored(op: Op, states: dict[RecordId, RecordState]) -> Op:
    """An op as the store keeps it: a redacted record's personal data is gone."""
    return strip_private(op) if states[op.records()[0]].redacted else op


def consent(op: Op, states: dict[RecordId, RecordState]) -> bool:
    return bool(states[op.records()[0]].value("share_contact"))


def urgency_rank(op: Op, states: dict[RecordId, RecordState]) -> int | None:
    urgency = states[op.records()[0]].value("urgency")
    return URGENCY_RANK.get(urgency) if isinstance(urgency, str) else None


@PROPERTY
@given(ops=op_logs(max_ops=25), order=st.randoms(use_true_random=False))
async def test_the_store_holds_what_the_fold_says_whatever_the_order_and_duplicates(
    open_store: Opener, ops: list[Op], order: random.Random
) -> None:
    states = fold(ops)
    records = complete(states)
    async with await open_store(fresh()) as store:
        await store_in_any_order(store, ops, order)
        assert await store.state_hash() == state_hash(states.values())
        assert await store.version_vector() == contiguous(ops)
        assert await store.held_beyond() == beyond(ops)
        assert await store.counts() == dict(
            Counter((r.kind.value, r.status.value) for r in records)
        )
        for kind, status in itertools.product(Kind, Status):
            expected = dict(
                Counter(
                    (r.category.value, r.area)
                    for r in records
                    if (r.kind, r.status) == (kind, status)
                )
            )
            assert await store.category_counts(kind, status) == expected
            for area in {a for _, a in expected}:
                only = await store.category_counts(kind, status, area)
                assert only == {k: n for k, n in expected.items() if k[1] == area}
        for rid in RECORDS:
            state = states.get(rid)
            assert await store.get(rid) == (state.view() if state and state.complete else None)
        for ref in ("7KQ-4XD", "AAA-000"):
            found = await store.find_by_ref(ref)
            assert sorted(r.id for r in found) == [r.id for r in records if ref in r.refs]
            assert [r.created_at for r in found] == sorted(r.created_at for r in found)
        for origin in HUBS:
            assert await store.max_hlc(origin) == max(
                (op.hlc for op in ops if op.origin == origin), default=0
            )


@PROPERTY
@given(ops=op_logs(max_ops=25), order=st.randoms(use_true_random=False))
async def test_a_batch_ingested_set_wise_leaves_what_one_op_at_a_time_leaves(
    open_store: Opener, ops: list[Op], order: random.Random
) -> None:
    """``TxPort.ingest`` (the carriers' set-wise path) against ``TxPort.add`` of each op in
    turn: the same arrivals (shuffled, a third twice, duplicates inside one batch too), cut into
    random batches, give the same records, counters, vector, codes and log, and ingest names
    exactly the ops that were new."""
    arrivals = ops + ops[: len(ops) // 3]
    order.shuffle(arrivals)
    cuts = sorted(order.randint(0, len(arrivals)) for _ in range(order.randint(0, 4)))
    async with await open_store(fresh()) as one, await open_store(fresh()) as batched:
        for start, end in itertools.pairwise([0, *cuts, len(arrivals)]):
            part = arrivals[start:end]
            async with one.transaction() as tx:
                new_one = [op for op in part if await tx.add(op)]
            async with batched.transaction() as tx:
                new_batched = await tx.ingest(part)
            assert sorted((o.origin, o.seq) for o in new_batched) == sorted(
                (o.origin, o.seq) for o in new_one
            )
        assert await batched.state_hash() == await one.state_hash()
        assert await batched.version_vector() == await one.version_vector()
        assert await batched.held_beyond() == await one.held_beyond()
        assert await batched.counts() == await one.counts()
        for kind, status in itertools.product(Kind, Status):
            assert await batched.category_counts(kind, status) == await one.category_counts(
                kind, status
            )
        for rid in RECORDS:
            assert await batched.get(rid) == await one.get(rid)
            assert [e.op for e in await batched.history(rid)] == [
                e.op for e in await one.history(rid)
            ]
        for ref in ("7KQ-4XD", "AAA-000"):
            assert [r.id for r in await batched.find_by_ref(ref)] == [
                r.id for r in await one.find_by_ref(ref)
            ]


@PROPERTY
@given(
    ops=op_logs(max_ops=25),
    order=st.randoms(use_true_random=False),
    batch=st.integers(1, 4),
)
async def test_streams_yield_everything_exactly_once_a_page_at_a_time(
    open_store: Opener, ops: list[Op], order: random.Random, batch: int
) -> None:
    states = fold(ops)
    async with await open_store(fresh()) as store:
        await store_in_any_order(store, ops, order)
        streamed = [row async for row in store.iter_ops(batch)]
        records = [r async for r in store.iter_records(batch)]
    by_id = sorted(ops, key=lambda op: (op.origin, op.seq))
    assert streamed == [(as_stored(op, states), consent(op, states)) for op in by_id]
    assert records == complete(states)


@PROPERTY
@given(
    ops=op_logs(max_ops=25),
    order=st.randoms(use_true_random=False),
    wanted=st.sets(st.tuples(st.sampled_from(HUBS), st.integers(1, 12))),
    limit=st.integers(1, 30),
)
async def test_ops_are_offered_in_the_send_order_with_their_consent(
    open_store: Opener,
    ops: list[Op],
    order: random.Random,
    wanted: set[tuple[int, int]],
    limit: int,
) -> None:
    states = fold(ops)
    ranges: dict[int, list[tuple[int, int]]] = {}
    for origin, seq in sorted(wanted):
        ranges.setdefault(origin, []).append((seq, seq + order.randint(0, 2)))
    held = [op for op in ops if any(lo <= op.seq <= hi for lo, hi in ranges.get(op.origin, ()))]
    held.sort(key=lambda op: send_order(urgency_rank(op, states), op))
    async with await open_store(fresh()) as store:
        await store_in_any_order(store, ops, order)
        offered = await store.ops_for_offer(ranges, limit)
    assert offered == [(as_stored(op, states), consent(op, states)) for op in held[:limit]]


# --- appending -----------------------------------------------------------------------------


async def test_an_op_is_stored_once_however_often_it_arrives(store: StorePort) -> None:
    op = remote_create(1)
    async with store.transaction() as tx:
        assert await tx.add(op) is True
        assert await tx.add(op) is False
        assert await tx.append(op) is None
    assert await add_all(store, [op, op]) == 0
    assert [row async for row in store.iter_ops()] == [(op, False)]
    assert await store.counts() == {("offer", "open"): 1}


async def test_append_hands_back_the_folded_state_it_saved(store: StorePort) -> None:
    create = remote_create(1)
    rid = create.records()[0]
    close = Op(OTHER, 2, 101, SetStatus(rid, Status.FULFILLED, 0, "done"))
    async with store.transaction() as tx:
        (created,) = await tx.append(create) or ()
        (closed,) = await tx.append(close) or ()
        assert await tx.state(rid) == closed
    assert created.view().status is Status.OPEN
    assert closed.view() == await store.get(rid)
    assert await store.counts() == {("offer", "fulfilled"): 1}


async def test_an_update_before_its_create_is_held_but_not_a_record_yet(
    store: StorePort,
) -> None:
    rid = RecordId(OTHER, 1)
    await add_all(store, [Op(OTHER, 2, 101, Update(rid, {"note": "early"}))])
    assert await store.get(rid) is None
    assert await store.counts() == {}
    assert await store.version_vector() == {OTHER: 0}
    assert await store.held_beyond() == {OTHER: [2]}
    await add_all(store, [remote_create(1)])
    record = await store.get(rid)
    assert record is not None
    assert record.note == "early"
    assert await store.version_vector() == {OTHER: 2}
    assert await store.held_beyond() == {}


async def test_version_vector_stops_at_a_gap_and_advances_when_it_fills(hub: Hub) -> None:
    await hub.receive([remote_create(1), remote_create(2), remote_create(4), remote_create(5)])
    assert (await hub.store.version_vector())[OTHER] == 2
    assert await hub.store.held_beyond() == {OTHER: [4, 5]}
    await hub.receive([remote_create(3)])
    assert (await hub.store.version_vector())[OTHER] == 5
    assert await hub.store.held_beyond() == {}


async def test_ops_received_out_of_order_in_one_transaction_close_their_gaps(hub: Hub) -> None:
    assert await hub.receive([remote_create(3), remote_create(1), remote_create(2)]) == 3
    assert (await hub.store.version_vector())[OTHER] == 3
    assert await hub.receive([remote_create(5), remote_create(3)]) == 1
    assert (await hub.store.version_vector())[OTHER] == 3
    await hub.submit(DRAFT)
    assert await hub.store.version_vector() == {OTHER: 3, hub.id: 1}


async def test_board_counts_are_exact_beyond_ten_thousand(store: StorePort) -> None:
    areas = ("north", "riverside", "hillside")
    total = 10_050
    ops = []
    for seq in range(1, total + 1):
        fields = {"category": "water", "urgency": "today", "area": areas[seq % 3]}
        ops.append(Op(OTHER, seq, 100 + seq, Create(RecordId(OTHER, seq), Kind.NEED, 5, fields)))
    await add_all(store, ops)
    counts = await store.category_counts(Kind.NEED, Status.OPEN)
    assert counts == {
        ("water", area): len([s for s in range(1, total + 1) if areas[s % 3] == area])
        for area in areas
    }
    assert await store.counts() == {("need", "open"): total}
    only_north = await store.category_counts(Kind.NEED, Status.OPEN, "north")
    assert set(only_north) == {("water", "north")}
    assert [r.id.seq async for r in store.iter_records(batch=7)] == list(range(1, total + 1))
    assert [op.seq async for op, _ in store.iter_ops(batch=9)] == list(range(1, total + 1))


# --- several writers on one database -------------------------------------------------------


async def _write_next(store: StorePort, origin: int) -> Op:
    """One op of ``origin``, its seq and clock stamp allocated inside the transaction."""
    async with store.transaction() as tx:
        seq = await tx.next_seq(origin)
        op = Op(origin, seq, await tx.last_hlc(origin) + 1, Update(RecordId(origin, 1), {}))
        assert await tx.add(op)
    return op


async def test_two_writers_on_one_database_never_repeat_a_seq_or_go_back_in_time(
    open_store: Opener,
) -> None:
    async with await open_store("shared") as first, await open_store("shared") as second:
        written = await asyncio.gather(
            *(_write_next(writer, OTHER) for writer in [first, second] * 20)
        )
        by_seq = sorted(written, key=lambda op: op.seq)
        assert [op.seq for op in by_seq] == list(range(1, 41))
        assert [op.hlc for op in by_seq] == list(range(1, 41))  # each after the one before
        for store in (first, second):
            assert await store.version_vector() == {OTHER: 40}
            assert await store.max_hlc(OTHER) == 40
            assert [op async for op, _ in store.iter_ops(batch=3)] == by_seq


async def test_a_writer_notices_what_another_committed_but_not_its_own(
    open_store: Opener,
) -> None:
    async with await open_store("shared") as server, await open_store("shared") as cli:
        assert await server.changed_elsewhere() is False
        await _write_next(server, OTHER)
        assert await server.changed_elsewhere() is False
        assert await cli.changed_elsewhere() is True  # the server's op
        assert await cli.changed_elsewhere() is False
        await _write_next(cli, OTHER)
        assert await cli.changed_elsewhere() is False
        assert await server.changed_elsewhere() is True
        assert await server.changed_elsewhere() is False
        await cli.set_meta("note", "from the CLI")
        assert await server.changed_elsewhere() is True
        assert await server.meta("note") == "from the CLI"


# --- transactions: all or nothing, and readers see only what committed ----------------------


class _Abort(Exception):
    pass


async def test_a_rolled_back_transaction_is_never_visible_to_readers(store: StorePort) -> None:
    await add_all(store, [remote_create(1)])
    commits = store.commits
    rid = RecordId(OTHER, 2)
    seen: dict[str, object] = {}

    async def write_then_fail() -> None:
        async with store.transaction() as tx:
            assert await tx.add(remote_create(2, share_contact=True))
            assert await tx.claim("token", rid) is None
            assert await tx.state(rid) is not None  # the transaction sees its own writes
            seen["record"] = await store.get(rid)
            seen["vector"] = await store.version_vector()
            seen["counts"] = await store.counts()
            seen["by ref"] = [r.id for r in await store.find_by_ref("AAA-000")]
            seen["ops"] = [op.seq async for op, _ in store.iter_ops()]
            raise _Abort

    with pytest.raises(_Abort):
        await write_then_fail()
    assert seen == {
        "record": None,
        "vector": {OTHER: 1},
        "counts": {("offer", "open"): 1},
        "by ref": [RecordId(OTHER, 1)],
        "ops": [1],
    }
    assert store.commits == commits
    assert await store.get(rid) is None
    assert await store.version_vector() == {OTHER: 1}
    assert await store.counts() == {("offer", "open"): 1}
    assert [op.seq async for op, _ in store.iter_ops()] == [1]
    async with store.transaction() as tx:
        assert await tx.recall("token") is None  # the key was rolled back too
        assert await tx.next_seq(OTHER) == 2
    assert store.commits == commits + 1


async def test_a_failed_change_leaves_nothing_half_stored(hub: Hub) -> None:
    with pytest.raises(NotFound):
        await hub.match(RecordId(hub.id, 99), RecordId(hub.id, 98))
    assert await hub.store.version_vector() == {}
    assert await hub.store.counts() == {}


# --- idempotency keys -----------------------------------------------------------------------


async def test_an_idempotency_key_names_one_record(store: StorePort) -> None:
    first, second = RecordId(OTHER, 1), RecordId(OTHER, 2)
    async with store.transaction() as tx:
        assert await tx.claim("form-1", first) is None
        assert await tx.claim("form-1", second) == first
        assert await tx.recall("import-7") is None
        await tx.remember("import-7", second)
    async with store.transaction() as tx:
        assert await tx.recall("form-1") == first
        assert await tx.recall("import-7") == second


async def test_the_same_idempotency_key_never_creates_a_second_record(hub: Hub) -> None:
    first = await hub.submit(DRAFT, idempotency_key="form-token-1")
    again = await hub.submit(DRAFT, idempotency_key="form-token-1")
    assert (first.new, again.new) == (True, False)
    assert again.record.id == first.record.id
    assert await hub.store.version_vector() == {hub.id: 1}


# --- metadata, lookups, listing ----------------------------------------------------------------


async def test_meta_values_are_kept_and_replaced(open_store: Opener) -> None:
    async with await open_store("meta") as store:
        assert await store.meta("hub_id") is None
        await store.set_meta("hub_id", "0a0a0a0a")
        await store.set_meta("frame_counter", "100000")
        await store.set_meta("frame_counter", "200000")
        assert store.location
    async with await open_store("meta") as again:
        assert await again.meta("hub_id") == "0a0a0a0a"
        assert await again.meta("frame_counter") == "200000"


async def test_concurrent_updates_of_one_meta_value_lose_nothing(open_store: Opener) -> None:
    """Read-modify-write in one write transaction: writers in two connections (two processes'
    worth) and many coroutines each add their name, and every name is there at the end."""

    def adding(name: str) -> Callable[[str | None], str]:
        return lambda value: json.dumps(sorted([*json.loads(value or "[]"), name]))

    async with await open_store("rmw") as one, await open_store("rmw") as two:
        writes = [(one if i % 2 else two).update_meta("names", adding(f"n{i}")) for i in range(40)]
        await asyncio.gather(*writes)
        assert json.loads(await one.meta("names") or "") == sorted(f"n{i}" for i in range(40))

        def refuse(value: str | None) -> str:
            raise ValueError("no")

        with pytest.raises(ValueError, match="no"):
            await two.update_meta("names", refuse)
        assert len(json.loads(await two.meta("names") or "")) == 40  # a refusal changes nothing


async def test_reference_codes_find_their_record(hub: Hub) -> None:
    submitted = await hub.submit(DRAFT)
    found = await hub.store.find_by_ref(submitted.record.ref)
    assert [r.id for r in found] == [submitted.record.id]
    assert await hub.store.get(submitted.record.id) == found[0]
    assert await hub.store.find_by_ref("000-000") == []


async def test_listing_puts_the_most_urgent_first_then_the_oldest(store: StorePort) -> None:
    def need(seq: int, urgency: str, created_at: int, area: str = "north") -> Op:
        fields = FIELDS | {"urgency": urgency, "area": area}
        return Op(OTHER, seq, seq, Create(RecordId(OTHER, seq), Kind.NEED, created_at, fields))

    await add_all(
        store,
        [
            need(1, "flexible", 10),
            need(2, "critical", 30),
            need(3, "today", 20),
            need(4, "critical", 20, "hillside"),
            Op(OTHER, 5, 5, Create(RecordId(OTHER, 5), Kind.OFFER, 1, FIELDS | {"area": "mill"})),
            Op(OTHER, 6, 6, SetStatus(RecordId(OTHER, 3), Status.FULFILLED, 0)),
        ],
    )
    needs = await store.list_records(kind=Kind.NEED)
    assert [r.id.seq for r in needs] == [4, 2, 3, 1]
    assert [r.id.seq for r in await store.list_records(kind=Kind.NEED, status=Status.OPEN)] == [
        4, 2, 1
    ]  # fmt: skip
    assert [r.id.seq for r in await store.list_records(area="hillside")] == [4]
    assert [r.id.seq for r in await store.list_records()] == [5, 4, 2, 3, 1]
    assert [r.id.seq for r in await store.list_records(limit=2, offset=1)] == [4, 2]


async def test_a_hubs_identity_is_created_once_and_kept(open_store: Opener) -> None:
    async with await open_store("hub") as store:
        first = await create_identity(store)
    async with await open_store("hub") as store:
        assert await create_identity(store) == first
        assert (await Hub.open(store)).id == first


async def test_opening_a_hub_without_identity_says_to_run_init(store: StorePort) -> None:
    with pytest.raises(StoreError, match="fieldkit init"):
        await Hub.open(store)


async def test_receiving_the_same_op_twice_adds_nothing(hub: Hub) -> None:
    assert await hub.receive([remote_create(1)]) == 1
    assert await hub.receive([remote_create(1), remote_create(1)]) == 0


async def test_status_changes_and_matches_fold_into_the_record(hub: Hub) -> None:
    need = (await hub.submit(DRAFT)).record.id
    offer_draft = Draft(Kind.OFFER, Category.WATER, Urgency.FLEXIBLE, "riverside")
    offer = (await hub.submit(offer_draft)).record.id
    await hub.match(need, offer, "pick up water at St. Mary's 2-6 pm")
    record = await hub.store.get(need)
    assert record is not None
    assert (record.status, record.matches) == (Status.MATCHED, (offer,))
    assert record.status_message == "pick up water at St. Mary's 2-6 pm"
    assert await hub.store.counts() == {("need", "matched"): 1, ("offer", "matched"): 1}
    await hub.set_status(need, Status.CANCELLED)
    await hub.set_status(need, Status.OPEN)
    reopened = await hub.store.get(need)
    assert reopened is not None
    assert (reopened.status, reopened.epoch) == (Status.OPEN, 1)
    assert await hub.store.counts() == {("need", "open"): 1, ("offer", "matched"): 1}


async def test_a_match_must_pair_a_need_with_an_offer(hub: Hub) -> None:
    a = (await hub.submit(DRAFT)).record.id
    b = (await hub.submit(DRAFT)).record.id
    with pytest.raises(Exception, match="pairs a need with an offer"):
        await hub.match(a, b)


async def test_redaction_erases_personal_data_from_what_the_store_gives_out(hub: Hub) -> None:
    contact = Contact("Ana", "555 0100")
    draft = replace(DRAFT, note="ring twice", contact=contact, share_contact=True)
    rid = (await hub.submit(draft)).record.id
    await hub.update(rid, {"contact_phone": "555 0199"})
    await hub.redact(rid)
    everything = repr([row async for row in hub.store.iter_ops()])
    everything += repr([r async for r in hub.store.iter_records()])
    everything += repr(await hub.store.ops_for_offer({hub.id: [(1, 3)]}, 10))
    for secret in ("Ana", "555 0100", "555 0199", "ring twice"):
        assert secret not in everything
    assert [consented async for _, consented in hub.store.iter_ops()] == [False] * 3


async def test_a_restarted_hub_never_reuses_a_clock_value(store: StorePort, wall) -> None:  # type: ignore[no-untyped-def]
    await create_identity(store)
    first = await Hub.open(store, wall=wall)
    op = await first.update((await first.submit(DRAFT)).record.id, {"note": "x"})
    wall.ms -= 60_000  # the Pi rebooted with its clock behind
    second = await Hub.open(store, wall=wall)
    later = await second.update(RecordId(first.id, 1), {"note": "y"})
    assert later.hlc > op.hlc
    assert later.seq == op.seq + 1


# --- the coordinator console's reads ---------------------------------------------------------


async def test_each_filter_narrows_the_list_and_the_order_stays_most_urgent_first(
    hub: Hub,
) -> None:
    water = await hub.submit(replace(DRAFT, note="Family of FOUR, 100% dry"))
    food = await hub.submit(replace(DRAFT, category=Category.FOOD, urgency=Urgency.TODAY))
    later = await hub.submit(replace(DRAFT, area="downtown", urgency=Urgency.TODAY))
    await add_all(hub.store, [remote_create(1)])
    store = hub.store
    ids = [r.id for r in await store.list_records(kind=Kind.NEED)]
    assert ids == [water.record.id, food.record.id, later.record.id]
    food_needs = await store.list_records(kind=Kind.NEED, category=Category.FOOD)
    assert [r.id for r in food_needs] == [food.record.id]
    assert [r.id for r in await store.list_records(area="downtown")] == [later.record.id]
    assert [r.id for r in await store.list_records(origin=OTHER)] == [RecordId(OTHER, 1)]
    # text: case-insensitive, a piece of the note or the reference code, wildcards literal
    assert [r.id for r in await store.list_records(text="four")] == [water.record.id]
    assert [r.id for r in await store.list_records(text="100%")] == [water.record.id]
    assert await store.list_records(text="1_0") == []
    ref = food.record.ref
    assert [r.id for r in await store.list_records(text=ref.lower())] == [food.record.id]


async def test_history_holds_every_op_of_a_record_with_who_made_it_here(hub: Hub) -> None:
    need = (await hub.submit(DRAFT)).record.id
    await add_all(hub.store, [remote_create(1)])
    offer = RecordId(OTHER, 1)
    matched = await hub.match(need, offer, "St. Mary's, 2-6 pm", by="Ana")
    done = await hub.set_status(need, Status.FULFILLED, by="Ben")
    need_ops = [(e.op.body.__class__.__name__, e.actor) for e in await hub.store.history(need)]
    assert need_ops == [("Create", ""), ("Match", "Ana"), ("SetStatus", "Ben")]
    offer_history = await hub.store.history(offer)  # the match is filed under the need
    assert [e.op for e in offer_history][1:] == [matched]
    assert offer_history[0].op.origin == OTHER
    assert done not in [e.op for e in offer_history]
    assert await hub.store.history(RecordId(OTHER, 99)) == []
