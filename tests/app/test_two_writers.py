"""One origin, several writers: `fieldkit run` and a CLI command may write as the same hub at
once. Seqs and clock stamps come from the database, so they never repeat or go backwards, and
the running hub notices what the command wrote and gossips it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from random import Random

from fieldkit.app.config import Config
from fieldkit.app.hub import Hub, create_identity
from fieldkit.app.netkey import ensure_network_key
from fieldkit.app.serve import serve_hub, watch_other_writers
from fieldkit.core.ops import Op
from fieldkit.core.records import Category, Draft, Kind, Urgency
from fieldkit.mesh.memory_transport import MemoryMedium
from fieldkit.store.sqlite import Store
from fieldkit.sync.node import Outgoing
from fieldkit.sync.radio import RadioSync
from fieldkit.wire import frame as codec
from fieldkit.wire.messages import Envelope, Ops, Summary
from tests.conftest import FakeWall
from tests.web.serve import free_port

DRAFT = Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside")
KEY = b"k" * 32
NEIGHBOUR = 0x0D0D0D0D


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


class ManualClock:
    """Radio time that moves only when the test moves it."""

    def __init__(self) -> None:
        self.s = 0.0

    def __call__(self) -> float:
        return self.s


async def ops_sent(radio: RadioSync, clock: ManualClock, until: Op, frames: int = 20) -> list[Op]:
    """The ops the radio sends, frame after frame, moving its clock to each time it names,
    until ``until`` has gone out or it has nothing more to do."""
    sent: list[Op] = []
    for _ in range(frames):
        out = await radio.node.next_payload(radio.now())
        if isinstance(out, Outgoing):
            message = codec.decode_envelope(KEY, out.payload).message
            if isinstance(message, Ops):
                sent += message.ops
            if until in sent:
                break
        elif out is None:
            break
        else:
            clock.s = max(clock.s, out / 1000)
    return sent


async def test_a_hub_notices_ops_another_process_wrote_but_not_its_own(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite3"
    async with await Store.open(path) as server_store, await Store.open(path) as cli_store:
        await create_identity(server_store)
        server, cli = await Hub.open(server_store), await Hub.open(cli_store)
        heard: list[str] = []
        server.on_change.append(lambda: heard.append("change"))
        assert await server.notice_other_writers() is False
        await server.submit(DRAFT)
        assert heard == ["change"]  # its own write, announced as it commits
        assert await server.notice_other_writers() is False
        await cli.submit(DRAFT)
        assert await server.notice_other_writers() is True
        assert heard == ["change", "change"]
        assert await server.notice_other_writers() is False


async def test_a_running_hub_gossips_what_a_cli_command_wrote_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite3"
    clock = ManualClock()
    async with await Store.open(path) as server_store, await Store.open(path) as cli_store:
        await create_identity(server_store)
        server, cli = await Hub.open(server_store), await Hub.open(cli_store)
        radio = RadioSync(server, MemoryMedium().attach(), KEY, clock=clock, rng=Random(8))
        # a neighbour has been heard (holding nothing), so new ops are pushed to it at once
        hello = codec.encode_envelope(KEY, Envelope(NEIGHBOUR, 1, Summary({})))
        await radio.node.receive(hello, radio.now())
        while isinstance(await radio.node.next_payload(radio.now()), Outgoing):
            pass  # whatever is due before the command writes (the clock stands still)
        changed = asyncio.Event()
        server.on_change.append(changed.set)
        radio.wake.clear()
        watcher = asyncio.create_task(watch_other_writers(server, interval=0.01))
        try:
            written = (await cli.submit(DRAFT)).record.id
            async with asyncio.timeout(10):
                await changed.wait()
        finally:
            watcher.cancel()
        assert radio.wake.is_set()  # the radio's send loop is woken, not left waiting
        (op,) = [op async for op, _ in server_store.iter_ops() if op.records() == (written,)]
        assert op in await ops_sent(radio, clock, until=op)


async def test_fieldkit_run_watches_for_other_writers(tmp_path: Path) -> None:
    config = Config("St. Mary's hub", tmp_path)
    async with await Store.open(config.db_path) as served, await Store.open(config.db_path) as cli:
        await create_identity(served)
        await ensure_network_key(served)
        hub = await Hub.open(served)
        changed, stop, ready = asyncio.Event(), asyncio.Event(), asyncio.Event()
        hub.on_change.append(changed.set)
        server = asyncio.create_task(
            serve_hub(hub, config, host="127.0.0.1", port=free_port(), stop=stop, ready=ready,
                      log_level="warning")
        )  # fmt: skip
        try:
            async with asyncio.timeout(10):
                await ready.wait()
            await (await Hub.open(cli)).submit(DRAFT)  # a `fieldkit` command, beside it
            async with asyncio.timeout(10):
                await changed.wait()  # noticed within about a second
        finally:
            stop.set()
            await server
