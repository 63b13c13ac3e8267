"""The store: durable, atomic, and consistent between log, folded state and version vector."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldkit.app.hub import Hub, create_identity
from fieldkit.core.fold import fold, state_hash
from fieldkit.core.ops import Create, Op, RecordId
from fieldkit.core.records import Category, Draft, Kind, Status, Urgency
from fieldkit.errors import NotFound, StoreError
from fieldkit.store.sqlite import SCHEMA_VERSION, Store
from tests.strategies import op_logs

DRAFT = Draft(Kind.NEED, Category.WATER, Urgency.CRITICAL, "riverside", note="family of 4")
OTHER = 0x0F0F0F0F


def remote_create(seq: int, hlc: int = 100) -> Op:
    fields = {"category": "food", "urgency": "today", "area": "north"}
    return Op(OTHER, seq, hlc, Create(RecordId(OTHER, seq), Kind.OFFER, 5, fields, "AAA-000"))


async def test_store_uses_wal_with_full_sync_and_current_schema(store: Store) -> None:
    assert await store._scalar("PRAGMA journal_mode") == "wal"
    assert await store._scalar("PRAGMA synchronous") == 2  # FULL
    assert await store._scalar("PRAGMA user_version") == SCHEMA_VERSION


async def test_a_database_from_a_newer_fieldkit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer than this fieldkit"):
        await Store.open(path)


async def test_hub_identity_is_created_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite3"
    async with await Store.open(path) as store:
        first = await create_identity(store)
    async with await Store.open(path) as store:
        assert await create_identity(store) == first
        assert (await Hub.open(store)).id == first


async def test_opening_a_hub_without_identity_says_to_run_init(store: Store) -> None:
    with pytest.raises(StoreError, match="fieldkit init"):
        await Hub.open(store)


async def test_a_submission_is_on_disk_when_submit_returns(hub: Hub, tmp_path: Path) -> None:
    submitted = await hub.submit(DRAFT)
    with sqlite3.connect(tmp_path / "hub.sqlite3") as other_reader:
        count = other_reader.execute("SELECT count(*) FROM ops").fetchone()[0]
        rows = other_reader.execute("SELECT status FROM records").fetchall()
    assert count == 1
    assert rows == [("open",)]
    assert submitted.record.ref
    assert submitted.record.id == RecordId(hub.id, 1)


async def test_the_same_idempotency_key_never_creates_a_second_record(hub: Hub) -> None:
    first = await hub.submit(DRAFT, idempotency_key="form-token-1")
    again = await hub.submit(DRAFT, idempotency_key="form-token-1")
    assert (first.new, again.new) == (True, False)
    assert again.record.id == first.record.id
    assert await hub.store.version_vector() == {hub.id: 1}


async def test_a_failed_transaction_leaves_nothing_half_stored(hub: Hub) -> None:
    with pytest.raises(NotFound):
        await hub.match(RecordId(hub.id, 99), RecordId(hub.id, 98))
    assert await hub.store.version_vector() == {}
    assert await hub.store.counts() == {}


async def test_reference_codes_find_their_record(hub: Hub) -> None:
    submitted = await hub.submit(DRAFT)
    found = await hub.store.find_by_ref(submitted.record.ref)
    assert [r.id for r in found] == [submitted.record.id]
    assert await hub.store.find_by_ref("000-000") == []


async def test_version_vector_stops_at_a_gap_and_advances_when_it_fills(hub: Hub) -> None:
    await hub.receive([remote_create(1), remote_create(2), remote_create(4), remote_create(5)])
    assert (await hub.store.version_vector())[OTHER] == 2
    await hub.receive([remote_create(3)])
    assert (await hub.store.version_vector())[OTHER] == 5


async def test_ops_since_returns_one_origins_later_ops_in_order(hub: Hub) -> None:
    await hub.receive([remote_create(3), remote_create(1), remote_create(2)])
    await hub.submit(DRAFT)
    assert [op.seq for op in await hub.store.ops_since(OTHER, 1)] == [2, 3]
    assert [op.origin for op in await hub.store.ops_since(hub.id, 0)] == [hub.id]


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
    await hub.set_status(need, Status.CANCELLED)
    await hub.set_status(need, Status.OPEN)
    reopened = await hub.store.get(need)
    assert reopened is not None
    assert (reopened.status, reopened.epoch) == (Status.OPEN, 1)


async def test_a_match_must_pair_a_need_with_an_offer(hub: Hub) -> None:
    a = (await hub.submit(DRAFT)).record.id
    b = (await hub.submit(DRAFT)).record.id
    with pytest.raises(Exception, match="pairs a need with an offer"):
        await hub.match(a, b)


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


async def test_a_restarted_hub_never_reuses_a_clock_value(store: Store, wall) -> None:  # type: ignore[no-untyped-def]
    await create_identity(store)
    first = await Hub.open(store, wall=wall)
    op = await first.update((await first.submit(DRAFT)).record.id, {"note": "x"})
    wall.ms -= 60_000  # the Pi rebooted with its clock behind
    second = await Hub.open(store, wall=wall)
    later = await second.update(RecordId(first.id, 1), {"note": "y"})
    assert later.hlc > op.hlc
    assert later.seq == op.seq + 1


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=op_logs(max_ops=20), order=st.randoms(use_true_random=False))
async def test_stored_state_equals_the_pure_fold_in_any_arrival_order(
    tmp_path_factory: pytest.TempPathFactory,
    ops: list[Op],
    order,  # type: ignore[no-untyped-def]
) -> None:
    path = tmp_path_factory.mktemp("fold") / "hub.sqlite3"
    async with await Store.open(path) as store:
        await create_identity(store)
        hub = await Hub.open(store)
        arrivals = ops + ops[: len(ops) // 3]
        order.shuffle(arrivals)
        for op in arrivals:
            await hub.receive([op])
        assert await store.state_hash() == state_hash(fold(ops).values())


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=op_logs(max_ops=20), order=st.randoms(use_true_random=False))
async def test_stored_state_equals_the_pure_fold_when_many_ops_share_a_transaction(
    tmp_path_factory: pytest.TempPathFactory,
    ops: list[Op],
    order,  # type: ignore[no-untyped-def]
) -> None:
    path = tmp_path_factory.mktemp("fold") / "hub.sqlite3"
    async with await Store.open(path) as store:
        await create_identity(store)
        hub = await Hub.open(store)
        arrivals = ops + ops[: len(ops) // 3]
        order.shuffle(arrivals)
        cut = order.randint(0, len(arrivals))
        await hub.receive(arrivals[:cut])
        await hub.receive(arrivals[cut:])
        assert await store.state_hash() == state_hash(fold(ops).values())
        expected: dict[int, int] = {}
        for origin in {op.origin for op in ops}:
            seqs = {op.seq for op in ops if op.origin == origin}
            expected[origin] = next(n for n in range(len(seqs) + 1) if n + 1 not in seqs)
        assert await store.version_vector() == expected
        assert sorted(await store.held_beyond()) == sorted(
            o for o in expected if any(op.seq > expected[o] for op in ops if op.origin == o)
        )


async def test_ops_received_out_of_order_in_one_transaction_close_their_gaps(hub: Hub) -> None:
    assert await hub.receive([remote_create(3), remote_create(1), remote_create(2)]) == 3
    assert (await hub.store.version_vector())[OTHER] == 3
    assert await hub.receive([remote_create(5), remote_create(3)]) == 1
    assert (await hub.store.version_vector())[OTHER] == 3
    await hub.submit(DRAFT)
    assert await hub.store.version_vector() == {OTHER: 3, hub.id: 1}
