"""Board counts and iteration come from SQL, exact at any size."""

from __future__ import annotations

from fieldkit.core.ops import Create, Op, RecordId
from fieldkit.core.records import Kind, Status
from fieldkit.store.sqlite import ITER_RECORDS, Store

OTHER = 0x0F0F0F0F
AREAS = ("north", "riverside", "hillside")


def remote_need(seq: int) -> Op:
    fields = {"category": "water", "urgency": "today", "area": AREAS[seq % len(AREAS)]}
    return Op(OTHER, seq, 100 + seq, Create(RecordId(OTHER, seq), Kind.NEED, 5, fields, "AAA-000"))


async def test_board_counts_are_exact_beyond_ten_thousand(store: Store) -> None:
    total = 10_050
    async with store.transaction() as tx:
        for seq in range(1, total + 1):
            await tx.add(remote_need(seq))
    counts = await store.category_counts(Kind.NEED, Status.OPEN)
    assert sum(counts.values()) == total
    assert counts[("water", "north")] == len([s for s in range(1, total + 1) if s % 3 == 1])
    only_north = await store.category_counts(Kind.NEED, Status.OPEN, "north")
    assert set(only_north) == {("water", "north")}
    assert [r.id.seq async for r in store.iter_records(batch=7)] == list(range(1, total + 1))


async def test_record_iteration_walks_the_primary_key_without_a_sort(store: Store) -> None:
    plan = await store._db.execute_fetchall(
        "EXPLAIN QUERY PLAN " + ITER_RECORDS,
        (1, 1, 1, 10),
    )
    details = " ".join(str(row[-1]) for row in plan)
    assert "TEMP B-TREE" not in details
    assert "sqlite_autoindex_records_1" in details  # the (hub, seq) primary key
