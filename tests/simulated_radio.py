"""A simulator running on its own event loop in a thread, for tests of blocking code (the CLI's
``main()`` runs its own ``asyncio.run``, the library's calls block)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from fieldkit.mesh.simulator import Simulator

T = TypeVar("T")


class SimThread:
    """The simulator and a way to run code on its loop (``call``), from the test's thread."""

    def __init__(self, sim: Simulator, loop: asyncio.AbstractEventLoop) -> None:
        self.sim = sim
        self.loop = loop

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()`` run on the simulator's loop (to read or change its state safely)."""

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=10)

    def url(self, index: int = 0) -> str:
        return self.sim.url(index)


@contextlib.contextmanager
def simulator_in_thread(nodes: int = 2, **kw: Any) -> Iterator[SimThread]:
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        async with Simulator(nodes, **kw) as sim:
            box["sim"], box["loop"], box["stop"] = sim, asyncio.get_running_loop(), asyncio.Event()
            ready.set()
            await box["stop"].wait()

    def run() -> None:
        try:
            asyncio.run(main())
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="simulator", daemon=True)
    thread.start()
    ready.wait(20)
    if "sim" not in box:
        raise RuntimeError("the simulator did not start")
    try:
        yield SimThread(box["sim"], box["loop"])
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(20)
