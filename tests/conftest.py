from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fieldkit.hub import Hub, create_identity
from fieldkit.store import Store


class FakeWall:
    """A wall clock a test moves by hand."""

    def __init__(self, ms: int = 1_790_000_000_000) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
def wall() -> FakeWall:
    return FakeWall()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "hub.sqlite3") as s:
        yield s


@pytest.fixture
async def hub(store: Store, wall: FakeWall) -> Hub:
    await create_identity(store)
    return await Hub.open(store, wall=wall)


@pytest.fixture
async def hub2(tmp_path: Path, wall: FakeWall) -> AsyncIterator[Hub]:
    """A second, independent hub in the same process."""
    async with await Store.open(tmp_path / "hub2.sqlite3") as s:
        await create_identity(s)
        yield await Hub.open(s, wall=wall)
