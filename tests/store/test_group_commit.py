"""Group commit: concurrent submissions share a transaction, and each is durable when acked."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from fieldkit.app.hub import Hub, Submitted
from fieldkit.core.ops import RecordId
from fieldkit.core.records import Category, Draft, Kind, Urgency
from fieldkit.errors import FieldkitError, StoreError
from fieldkit.store.group_commit import GroupCommit, ItemFailed
from fieldkit.store.port import TxPort

DRAFT = Draft(Kind.NEED, Category.WATER, Urgency.CRITICAL, "riverside", note="family of 4")


def drafts(n: int) -> list[Draft]:
    return [replace(DRAFT, note=f"family {i}") for i in range(n)]


def on_disk(path: Path) -> dict[RecordId, str]:
    """The records a separate reader sees: committed ones only."""
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT hub, seq, state FROM records WHERE complete = 1").fetchall()
    return {RecordId(hub, seq): state for hub, seq, state in rows}


async def test_concurrent_submissions_share_transactions(hub: Hub) -> None:
    commits = hub.store.commits
    done = await asyncio.gather(*(hub.submit(d) for d in drafts(50)))
    assert all(d.new for d in done)
    assert sorted(d.record.id.seq for d in done) == list(range(1, 51))
    assert [d.record.note for d in done] == [f"family {i}" for i in range(50)]
    assert hub.intake.items == 50
    assert hub.store.commits - commits == hub.intake.batches < 50
    assert await hub.store.version_vector() == {hub.id: 50}
    assert len(await hub.store.list_records()) == 50
    assert len({d.record.ref for d in done}) == 50


async def test_a_lone_submission_is_committed_at_once(hub: Hub) -> None:
    done = await hub.submit(DRAFT)
    assert (done.new, hub.intake.batches, hub.store.commits > 0) == (True, 1, True)


async def test_an_acknowledged_submission_is_on_disk(hub: Hub, tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite3"
    seen: list[bool] = []

    async def resident(draft: Draft) -> None:
        done = await hub.submit(draft)
        # right when submit returns, before anything else runs: a separate connection
        seen.append(done.record.id in on_disk(path))

    await asyncio.gather(*(resident(d) for d in drafts(30)))
    assert seen == [True] * 30
    assert hub.intake.batches < 30


async def test_one_failing_submission_does_not_lose_the_others(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = hub._submit

    async def failing(tx: TxPort, new):  # type: ignore[no-untyped-def]
        done = await real(tx, new)  # it has written its record when it fails
        if new.draft.note == "family 3":
            raise FieldkitError("no such area")
        return done

    monkeypatch.setattr(hub, "_submit", failing)
    results = await asyncio.gather(*(hub.submit(d) for d in drafts(8)), return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    assert [str(e) for e in failed] == ["no such area"]
    assert isinstance(results[3], FieldkitError)
    stored = [r for r in results if isinstance(r, Submitted)]
    assert len(stored) == 7
    on = on_disk(tmp_path / "hub.sqlite3")
    assert sorted(on) == sorted(s.record.id for s in stored)
    assert all("family 3" not in state for state in on.values())
    # the failed item's writes were rolled back: no gap in this hub's log
    assert sorted(s.record.id.seq for s in stored) == list(range(1, 8))
    assert await hub.store.version_vector() == {hub.id: 7}


async def test_the_same_key_twice_in_one_batch_creates_one_record(hub: Hub) -> None:
    calls = [hub.submit(DRAFT, "token-a") for _ in range(5)]
    calls += [hub.submit(d, f"token-{i}") for i, d in enumerate(drafts(5))]
    done = await asyncio.gather(*calls)
    assert hub.intake.batches < len(calls)
    same = done[:5]
    assert [d.new for d in same].count(True) == 1
    assert len({d.record.id for d in same}) == 1
    assert all(d.new for d in done[5:])
    assert await hub.store.version_vector() == {hub.id: 6}
    again = await hub.submit(DRAFT, "token-a")
    assert (again.new, again.record.id) == (False, same[0].record.id)


async def test_a_caller_that_gives_up_before_the_commit_is_not_written(hub: Hub) -> None:
    tasks = [asyncio.create_task(hub.submit(d)) for d in drafts(5)]
    await asyncio.sleep(0)  # one turn of the loop, no waiting: each task queues its item
    tasks[2].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[2], asyncio.CancelledError)
    assert len(await hub.store.list_records()) == 4
    assert await hub.store.version_vector() == {hub.id: 4}


async def test_two_hubs_in_one_process_commit_separately(hub: Hub, hub2: Hub) -> None:
    mine, theirs = await asyncio.gather(
        asyncio.gather(*(hub.submit(d) for d in drafts(10))),
        asyncio.gather(*(hub2.submit(d) for d in drafts(10))),
    )
    assert {d.record.hub for d in mine} == {hub.id}
    assert {d.record.hub for d in theirs} == {hub2.id}
    assert await hub.store.version_vector() == {hub.id: 10}
    assert await hub2.store.version_vector() == {hub2.id: 10}


async def test_no_writer_task_outlives_the_submissions(hub: Hub) -> None:
    await asyncio.gather(*(hub.submit(d) for d in drafts(10)))
    assert asyncio.all_tasks() == {asyncio.current_task()}
    await hub.intake.idle()


async def test_changes_are_announced_once_per_batch(hub: Hub) -> None:
    heard: list[int] = []
    hub.on_change.append(lambda: heard.append(1))
    await asyncio.gather(*(hub.submit(d) for d in drafts(10)))
    assert 1 <= len(heard) == hub.intake.batches


# --- GroupCommit on its own --------------------------------------------------------------


class Recorder:
    """A commit that records its batches. With ``held``, each commit announces that it has
    started (``started``) and waits until the test lets it finish (``release``)."""

    def __init__(self, fail: str = "", broken: bool = False, held: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.fail = fail
        self.broken = broken
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        if not held:
            self.release.set()

    async def commit(self, items: list[str]) -> list[str]:
        self.started.set()
        await self.release.wait()  # a transaction takes a while: others queue meanwhile
        if self.broken:
            raise StoreError("disk I/O error")
        if self.fail in items:
            raise ItemFailed(items.index(self.fail), ValueError(f"bad {self.fail}"))
        self.batches.append(items)
        return [item.upper() for item in items]


async def test_items_queued_during_a_commit_form_the_next_batch() -> None:
    rec = Recorder(held=True)
    group = GroupCommit(rec.commit)
    first = asyncio.create_task(group.submit("a"))
    await rec.started.wait()  # "a" is being committed
    later = [asyncio.create_task(group.submit(x)) for x in "bcd"]
    await asyncio.sleep(0)  # one turn of the loop, no waiting: b, c and d queue
    rec.release.set()
    rest = await asyncio.gather(*later)
    assert (await first, rest) == ("A", ["B", "C", "D"])
    assert rec.batches == [["a"], ["b", "c", "d"]]
    assert (group.batches, group.items) == (2, 4)


async def test_a_blamed_item_fails_alone_and_the_rest_is_written_again() -> None:
    rec = Recorder(fail="c")
    group = GroupCommit(rec.commit)
    results = await asyncio.gather(*(group.submit(x) for x in "abcde"), return_exceptions=True)
    assert results[:2] + results[3:] == ["A", "B", "D", "E"]
    assert isinstance(results[2], ValueError)
    assert rec.batches == [["a", "b", "d", "e"]]


async def test_a_failed_commit_fails_its_whole_batch() -> None:
    group = GroupCommit(Recorder(broken=True).commit)
    results = await asyncio.gather(*(group.submit(x) for x in "abc"), return_exceptions=True)
    assert all(isinstance(r, StoreError) for r in results)
    assert group.batches == 0


async def test_batches_are_capped() -> None:
    rec = Recorder()
    group = GroupCommit(rec.commit, max_batch=3)
    await asyncio.gather(*(group.submit(x) for x in "abcdefg"))
    assert [len(b) for b in rec.batches] == [3, 3, 1]


def test_one_group_commit_serves_one_event_loop_after_another() -> None:
    group = GroupCommit(Recorder().commit)
    assert asyncio.run(group.submit("a")) == "A"
    assert asyncio.run(group.submit("b")) == "B"


async def test_a_writer_cancelled_at_shutdown_fails_what_it_holds() -> None:
    rec = Recorder(held=True)
    group = GroupCommit(rec.commit)
    waiting = [asyncio.create_task(group.submit(x)) for x in "ab"]
    await rec.started.wait()  # the writer holds a and b, in the middle of its commit
    writer = group._writer
    assert writer is not None
    writer.cancel()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, StoreError) for r in results)
    assert group._writer is None
    rec.release.set()
    assert await group.submit("c") == "C"
