"""Pages read on a connection of their own: they never see a write that has not committed."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldkit.core.ops import Create, Op, RecordId
from fieldkit.core.records import Kind
from fieldkit.store.sqlite import Store


def _need(origin: int, seq: int) -> Op:
    fields = {"category": "water", "urgency": "critical", "area": "hillside"}
    return Op(origin, seq, seq << 16, Create(RecordId(origin, seq), Kind.NEED, 1000, fields))


class _Abort(Exception):
    pass


async def _read_during_a_write_that_rolls_back(
    store: Store, op: Op
) -> tuple[object, dict[int, int], int]:
    """What the store's readers see while ``op`` is written but not committed."""
    seen: tuple[object, dict[int, int], int] | None = None
    try:
        async with store.transaction() as tx:
            await tx.add(op)
            seen = (
                await store.get(op.records()[0]),
                await store.version_vector(),
                sum((await store.counts()).values()),
            )
            raise _Abort
    except _Abort:
        pass
    assert seen is not None
    return seen


async def test_a_read_during_an_open_write_sees_only_what_has_committed(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "hub.sqlite3") as store:
        async with store.transaction() as tx:
            await tx.add(_need(7, 1))
        seen_mid_write = await _read_during_a_write_that_rolls_back(store, _need(7, 2))
        assert seen_mid_write == (None, {7: 1}, 1)
        assert await store.get(RecordId(7, 2)) is None
        assert await store.get(RecordId(7, 1)) is not None
        assert sum((await store.counts()).values()) == 1


async def test_the_read_connection_refuses_to_write(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "hub.sqlite3") as store:
        with pytest.raises(Exception, match=r"readonly|read-only|query_only|attempt to write"):
            await store._scalar("INSERT INTO meta (key, value) VALUES ('x', 'y') RETURNING 1")
