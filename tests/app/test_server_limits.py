"""The web server under a flood, with real sockets (issue 11, finding 5): half-sent requests
are closed, a flood of connections is answered quickly and leaves residents served once it
ends, and the file-handle limit does not flood the log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fieldkit.app.config import parse_config
from fieldkit.app.hub import Hub, create_identity
from fieldkit.app.netkey import ensure_network_key
from fieldkit.app.serve import serve_hub
from fieldkit.app.server_limits import RepeatedLogFilter, ServerLimits
from fieldkit.store.sqlite import Store
from tests.cli.conftest import free_port
from tests.waiting import wait_until

#: Set as an ops volunteer would, in the hub's fieldkit.toml.
WEB = {"header_timeout_s": 0.5, "idle_timeout_s": 0.5, "max_connections": 40}
LIMITS = ServerLimits(header_timeout=0.5, idle_timeout=0.5, max_connections=40)
GET = b"GET /healthz HTTP/1.1\r\nHost: hub\r\n"  # the blank line that ends it is missing


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[int]:
    section = {"name": "St. Mary's hub", "data_dir": "."}
    config = parse_config({"hub": section, "web": WEB}, {}, tmp_path)
    assert config.limits == LIMITS
    async with await Store.open(config.db_path) as store:
        await create_identity(store)
        await ensure_network_key(store)
        hub = await Hub.open(store)
        port = free_port()
        stop, ready = asyncio.Event(), asyncio.Event()
        server = asyncio.create_task(
            serve_hub(hub, config, host="127.0.0.1", port=port, stop=stop, ready=ready,
                      log_level="warning")
        )  # fmt: skip
        try:
            async with asyncio.timeout(10):
                await ready.wait()
            yield port
        finally:
            stop.set()
            await server


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server says until it closes the connection."""
    async with asyncio.timeout(10):
        return await reader.read()


async def resident(port: int) -> int:
    """A resident's request: the status code."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(GET + b"Connection: close\r\n\r\n")
        async with asyncio.timeout(10):
            status = await reader.readline()
        return int(status.split()[1])
    finally:
        writer.close()


async def test_half_sent_headers_are_closed_after_the_header_timeout(served: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served)
    writer.write(GET)
    started = time.monotonic()
    assert await closed_by_server(reader) == b""
    assert time.monotonic() - started < 5
    writer.close()
    assert await resident(served) == 200


async def test_headers_trickled_a_byte_at_a_time_are_closed_all_the_same(served: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served)
    closed = asyncio.ensure_future(closed_by_server(reader))
    sent = 0
    for byte in GET * 20:  # 10 s of headers at a byte every 0.05 s
        if closed.done():
            break
        with contextlib.suppress(ConnectionError):
            writer.write(bytes([byte]))
            sent += 1
        await asyncio.wait([closed], timeout=0.05)
    assert await closed == b""
    assert sent < len(GET) * 5  # the deadline ran from the first byte, not the last
    writer.close()


async def test_a_silent_connection_and_a_stalled_body_are_closed(served: int) -> None:
    silent_reader, silent = await asyncio.open_connection("127.0.0.1", served)
    body_reader, body = await asyncio.open_connection("127.0.0.1", served)
    body.write(b"POST /intake HTTP/1.1\r\nHost: hub\r\nContent-Length: 500\r\n"
               b"Content-Type: application/x-www-form-urlencoded\r\n\r\nkind=ne")  # fmt: skip
    assert await closed_by_server(silent_reader) == b""
    assert await closed_by_server(body_reader) == b""  # no answer, just closed
    silent.close()
    body.close()


async def test_a_flood_of_connections_is_refused_fast_and_residents_are_served_after_it(
    served: int,
) -> None:
    flood = [
        await asyncio.open_connection("127.0.0.1", served)
        for _ in range(LIMITS.max_connections + 20)
    ]
    for _, writer in flood:
        writer.write(GET)  # each holds a connection, never finishing its headers
    during = await resident(served)
    assert during in (200, 503)  # answered, quickly: never left hanging
    for reader, _ in flood:  # the server closes every one of them by itself
        assert await closed_by_server(reader) == b""
    for _, writer in flood:
        writer.close()
    assert await resident(served) == 200


def test_repeated_log_lines_are_kept_to_one_per_interval() -> None:
    now = [0.0]
    flt = RepeatedLogFilter(10.0, clock=lambda: now[0])

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, msg, None, None)

    passed = [
        flt.filter(record("socket.accept() out of system resource\nsocket: fd=11"))
        for _ in range(1000)
    ]
    assert passed.count(True) == 1
    assert flt.filter(record("something else"))
    now[0] = 10.5
    again = record("socket.accept() out of system resource\nsocket: fd=11")
    assert flt.filter(again)
    assert "999 more like it" in again.getMessage()


def test_at_the_file_handle_limit_the_log_stays_small_and_residents_are_served_after(
    tmp_path: Path,
) -> None:
    """A real `fieldkit run` limited to 64 open files, flooded with 150 connections."""
    hub_dir = tmp_path / "hub"
    subprocess.run([sys.executable, "-m", "fieldkit", "init", "--dir", str(hub_dir)],
                   check=True, capture_output=True)  # fmt: skip
    port, log_path = free_port(), tmp_path / "stderr.txt"

    def at_most_64_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fieldkit", "run", "--port", str(port)], cwd=hub_dir,
            stdout=subprocess.DEVNULL, stderr=log, preexec_fn=at_most_64_files,
        )  # fmt: skip
    flood: list[socket.socket] = []
    try:
        wait_until(log_path.read_text, lambda text: "Uvicorn running" in text, timeout=30,
                   what="the hub to listen")  # fmt: skip
        for _ in range(150):
            conn = socket.create_connection(("127.0.0.1", port), timeout=5)
            conn.send(GET)
            flood.append(conn)
        wait_until(log_path.read_text, lambda text: "out of system resource" in text,
                   timeout=30, what="the hub to run out of file handles")  # fmt: skip
        with contextlib.suppress(OSError):  # at the limit: a resident may well time out ...
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3)
        for conn in flood:
            conn.close()
        flood.clear()

        def healthy() -> int:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as r:
                    return int(r.status)
            except OSError:
                return 0

        assert wait_until(healthy, timeout=30, what="a resident to be served again") == 200
    finally:
        for conn in flood:
            conn.close()
        proc.terminate()
        proc.wait(timeout=30)
    text = log_path.read_text()
    assert 1 <= text.count("out of system resource") <= 3, len(text)
    assert len(text) < 20_000
