"""One origin, several writers: `fieldkit run` and a CLI command may write as the same hub at
once. Seqs and clock stamps come from the database, so they never repeat or go backwards."""

from __future__ import annotations

from pathlib import Path

from fieldkit.app.hub import Hub, create_identity
from fieldkit.core.records import Category, Draft, Kind, Urgency
from fieldkit.store.sqlite import Store
from tests.conftest import FakeWall

DRAFT = Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside")


async def test_two_processes_of_one_hub_never_reuse_a_seq_or_go_back_in_time(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hub.sqlite3"
    async with await Store.open(path) as first_store, await Store.open(path) as second_store:
        await create_identity(first_store)
        server_wall, cli_wall = FakeWall(1_790_000_000_000), FakeWall(1_790_000_900_000)
        server = await Hub.open(first_store, wall=server_wall)
        cli = await Hub.open(second_store, wall=cli_wall)  # its clock runs 15 minutes ahead
        assert server.id == cli.id
        await server.submit(DRAFT)
        for _ in range(3):
            await cli.submit(DRAFT)
        await server.submit(DRAFT)  # the server's own clock and memory know nothing of the CLI's
        ops = [op async for op, _ in first_store.iter_ops()]
    assert [op.seq for op in ops] == [1, 2, 3, 4, 5]
    stamps = [op.hlc for op in ops]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)
