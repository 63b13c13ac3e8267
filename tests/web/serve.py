"""Running a real hub for end-to-end tests: `fieldkit init` then `fieldkit run` (uvicorn), or
one app under real uvicorn in the test's own event loop."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from tests.waiting import until_listening

AREAS = ("riverside=Riverside", "downtown=Downtown", "hillside=Hillside")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def init_hub(root: Path, name: str = "St. Mary's hub") -> Path:
    config = root / "fieldkit.toml"
    areas = [arg for area in AREAS for arg in ("--area", area)]
    subprocess.run(
        [sys.executable, "-m", "fieldkit", "init", "--dir", str(root), "--name", name, *areas],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return config


@contextmanager
def running_hub(
    root: Path, host: str, port: int, prefix: Sequence[str] = (), console_port: int | None = None
) -> Iterator[subprocess.Popen[str]]:
    """`fieldkit run` until the block ends; returns once uvicorn says it is listening. The
    coordinator console gets ``console_port`` (default: a free port, never another hub's)."""
    config = init_hub(root)
    env = {
        **os.environ, "FIELDKIT_WEB_HOST": host, "FIELDKIT_WEB_PORT": str(port),
        "FIELDKIT_WEB_CONSOLE_PORT": str(console_port or free_port()),
    }  # fmt: skip
    proc = subprocess.Popen(
        [*prefix, sys.executable, "-m", "fieldkit", "--config", str(config), "run"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        until_listening(proc)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class _Server(uvicorn.Server):
    """Real uvicorn in the test's own event loop, saying when it listens."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.listening.set()

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the test runner owns the signals


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """Serve ``app`` with real uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            await server.listening.wait()
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
