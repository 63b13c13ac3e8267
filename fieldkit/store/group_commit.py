"""Group commit: concurrent writers share one transaction, and so one fsync.

With ``synchronous=FULL`` every commit flushes the WAL to disk, and on a Pi's SD card that
flush, not the SQL, is what a submission costs. :class:`GroupCommit` queues the items of
concurrent callers; one writer task takes everything queued so far and commits it as one
batch, while the items that arrive meanwhile wait for the next. A caller's ``submit`` returns
only once the transaction holding its item has committed: sharing the fsync weakens nothing.

A batch is all or nothing in SQLite, but not for its callers. The commit function raises
:class:`ItemFailed` naming the item that failed (its transaction is rolled back); that
caller gets the error and the rest of the batch is written again without it.

There is no background task while nothing is queued: the first caller to find the queue idle
starts a writer on its own event loop, and the writer ends once the queue is empty. So nothing
needs starting or stopping, and one instance per hub is all the state there is.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from fieldkit.errors import ItemFailed as ItemFailed
from fieldkit.errors import StoreError

T = TypeVar("T")
R = TypeVar("R")

MAX_BATCH = 128


class GroupCommit(Generic[T, R]):
    """Batches concurrent :meth:`submit` calls into calls of ``commit(items) -> results``.

    ``commit`` must write all the items in one transaction and return one result per item,
    in order, or raise (:class:`ItemFailed` to blame one item) having written nothing.
    """

    def __init__(
        self, commit: Callable[[list[T]], Awaitable[Sequence[R]]], max_batch: int = MAX_BATCH
    ) -> None:
        self._commit = commit
        self._max_batch = max_batch
        self._queue: deque[tuple[T, asyncio.Future[R]]] = deque()
        self._writer: asyncio.Task[None] | None = None
        #: Batches committed, and the items in them (batches < items: fsyncs were shared).
        self.batches = 0
        self.items = 0

    async def submit(self, item: T) -> R:
        """Write ``item`` with whatever else is queued; return its result once committed."""
        loop = asyncio.get_running_loop()
        writer = self._writer
        if writer is not None and writer.done():
            writer = None  # cancelled before it ever ran (its event loop was shutting down)
            self._queue = deque(q for q in self._queue if q[1].get_loop() is loop)
        if writer is not None and writer.get_loop() is not loop:
            raise RuntimeError("a GroupCommit is in use on another event loop")
        future: asyncio.Future[R] = loop.create_future()
        self._queue.append((item, future))
        if writer is None:
            self._writer = loop.create_task(self._drain(), name="group-commit")
        return await future

    async def idle(self) -> None:
        """Wait until everything queued so far has been written (or has failed)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.wait([self._writer])

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch: list[tuple[T, asyncio.Future[R]]] = []
                while self._queue and len(batch) < self._max_batch:
                    item, future = self._queue.popleft()
                    if not future.done():  # not if its caller has given up waiting
                        batch.append((item, future))
                await self._write(batch)
        except BaseException:
            # cancelled (its event loop shutting down): nothing still queued will be written
            for _, future in self._queue:
                _fail(future, StoreError("not saved: the hub's writer stopped"))
            self._queue.clear()
            raise
        finally:
            self._writer = None

    async def _write(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        while batch:
            try:
                results = await self._commit([item for item, _ in batch])
            except ItemFailed as failed:
                _, future = batch.pop(failed.index)
                _fail(future, failed.error)
                continue  # the transaction was rolled back: write the others again
            except Exception as exc:
                for _, future in batch:
                    _fail(future, exc)
                return
            except BaseException:
                for _, future in batch:
                    _fail(future, StoreError("the hub is shutting down: not saved"))
                raise
            self.batches += 1
            self.items += len(batch)
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
            return


def _fail(future: asyncio.Future[R], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
