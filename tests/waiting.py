"""Waiting for something to happen: poll the real condition until a deadline, never a bare sleep.

Use an event, a queue or a future where the code under test offers one; where it does not (a
separate process, a server's counters), poll the condition here: :func:`wait_until` returns
the first value read that satisfies it, and fails with what it last read once ``timeout`` s
have passed.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: How often a condition is checked: soon enough not to slow a test, rarely enough not to load
#: the machine the other side runs on.
POLL_S = 0.05


def wait_until(
    read: Callable[[], T],
    done: Callable[[T], object] = bool,
    *,
    timeout: float,
    what: str,
    poll: float = POLL_S,
) -> T:
    """``read()`` again until ``done`` says its value is what we wait for; returns that value.
    Blocking: for plain (not async) tests."""
    deadline = time.monotonic() + timeout
    while not done(seen := read()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"after {timeout:g} s still waiting for {what}; last saw {seen!r}")
        time.sleep(poll)  # then the condition is read again, never assumed
    return seen


async def poll_until(
    read: Callable[[], T], done: Callable[[T], object] = bool, *, poll: float = POLL_S / 5
) -> T:
    """:func:`wait_until` for async tests, inside the caller's ``asyncio.timeout``: the event
    loop keeps running the code under test between reads (for counters with no event)."""
    while not done(seen := read()):  # noqa: ASYNC110 -- no event to wait on: read it again
        await asyncio.sleep(poll)
    return seen


async def stop_task(task: asyncio.Task[Any], *, within: float, what: str) -> None:
    """Cancel ``task`` and wait at most ``within`` s for it to end; fail naming ``what`` if it
    goes on (a loop that swallowed the cancel), rather than hang the test. ``asyncio.wait``,
    not ``await task``: awaiting a task that ignores its cancel waits for ever."""
    task.cancel()
    await asyncio.wait({task}, timeout=within)
    if not task.done():
        raise AssertionError(f"{what} still running {within:g} s after it was cancelled")
    if not task.cancelled() and (exc := task.exception()) is not None:
        raise exc


def until_listening(proc: subprocess.Popen[str], what: str = "fieldkit run") -> None:
    """Returns once the server ``proc`` (its stderr a text pipe) says uvicorn listens; fails
    with its log if it exits first. Its log is drained afterwards, or a chatty server would
    block once the pipe is full."""
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "Uvicorn running on" in line:
            break
    else:
        raise AssertionError(f"{what} did not start:\n" + "".join(seen))
    threading.Thread(target=proc.stderr.read, daemon=True).start()
