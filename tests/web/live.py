"""A real uvicorn server on loopback in a thread of its own, for clients that block (requests,
as schemathesis uses it): the app, its hub and store live in that thread's event loop."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from pathlib import Path
from typing import TypeVar

import trustme
import uvicorn
from starlette.types import ASGIApp

T = TypeVar("T")
#: What the thread builds and serves: an async context yielding the app and whatever the
#: test needs to know (a token, record ids), both made inside the server's own loop.
Build = Callable[[], AbstractAsyncContextManager[tuple[ASGIApp, T]]]


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, listening: threading.Event) -> None:
        super().__init__(config)
        self.listening = listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.listening.set()

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the test runner owns the signals


def tls_files(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate it signed for 127.0.0.1: (ca, cert, key) files."""
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    ca.cert_pem.write_to_path(str(paths[0]))
    issued.cert_chain_pems[0].write_to_path(str(paths[1]))
    issued.private_key_pem.write_to_path(str(paths[2]))
    return paths


@contextmanager
def serving_in_thread(
    build: Build[T], *, tls: tuple[Path, Path] | None = None, timeout: float = 30
) -> Iterator[tuple[str, T]]:
    """Serve what ``build`` makes until the block ends; yields (base URL, what it made)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    listening, made, failed = threading.Event(), [], []
    server: list[_Server] = []

    async def main() -> None:
        async with build() as (app, info):
            made.append(info)
            ssl = {"ssl_certfile": str(tls[0]), "ssl_keyfile": str(tls[1])} if tls else {}
            config = uvicorn.Config(
                app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", **ssl
            )  # type: ignore[arg-type]
            server.append(_Server(config, listening))
            await server[0].serve()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # seen by the test, not lost in the thread
            failed.append(exc)
            listening.set()

    thread = threading.Thread(target=run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        if not listening.wait(timeout) or failed:
            raise AssertionError(f"the server did not start: {failed}")
        scheme = "https" if tls else "http"
        yield f"{scheme}://127.0.0.1:{port}", made[0]
    finally:
        if server:
            server[0].should_exit = True
        thread.join(timeout)
