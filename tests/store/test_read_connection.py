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


async def test_a_read_during_an_open_write_sees_only_what_has_committed(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "hub.sqlite3") as store:
        async with store.transaction() as tx:
            await tx.add(_need(7, 1))
        with pytest.raises(_Abort):
            async with store.transaction() as tx:
                await tx.add(_need(7, 2))
                # the batch is written but not committed: readers must not see it
                assert await store.get(RecordId(7, 2)) is None
                assert await store.version_vector() == {7: 1}
                assert sum((await store.counts()).values()) == 1
                raise _Abort
        assert await store.get(RecordId(7, 2)) is None
        assert await store.get(RecordId(7, 1)) is not None
        assert sum((await store.counts()).values()) == 1


async def test_the_read_connection_refuses_to_write(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "hub.sqlite3") as store:
        with pytest.raises(Exception, match="readonly|read-only|query_only|attempt to write"):
            await store._scalar("INSERT INTO meta (key, value) VALUES ('x', 'y') RETURNING 1")
