from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import settings

from fieldkit.app.hub import Hub, create_identity
from fieldkit.store.sqlite import Store

# CI runs on two shared cores: no per-example deadline, and a fixed sequence of examples so a
# failure there is the same failure here. Developers get hypothesis's random exploration.
settings.register_profile("ci", deadline=None, derandomize=True, max_examples=100)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """With FIELDKIT_NO_SKIPS=1 (CI sets it), a skipped test fails: a tool the suite needs
    (Chromium, dnsmasq, root for namespaces) must be installed, never silently missing."""
    outcome = yield
    report = outcome.get_result()
    if (
        os.environ.get("FIELDKIT_NO_SKIPS") == "1"
        and report.skipped
        and not hasattr(report, "wasxfail")
    ):
        report.outcome = "failed"
        report.longrepr = f"skipped where nothing may be skipped: {report.longrepr}"
