"""Serving a hub: its web pages, its sync API and, with a radio, its gossip (the I/O edge)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn

from fieldkit.app.certificate import ensure_certificate
from fieldkit.app.config import Config
from fieldkit.app.hub import Hub
from fieldkit.app.netkey import network_key
from fieldkit.core.ops import hub_name
from fieldkit.sync.engine import SyncSettings
from fieldkit.sync.radio import RadioSync
from fieldkit.web.app import create_app
from fieldkit.web.console.app import create_console_app
from fieldkit.web.sync_api import sync_routes

log = logging.getLogger(__name__)
#: How often a running hub asks its store whether another process wrote to it (seconds).
OTHER_WRITERS_POLL_S = 1.0


async def watch_other_writers(hub: Hub, interval: float = OTHER_WRITERS_POLL_S) -> None:
    """Until cancelled: every ``interval`` seconds, let the hub's listeners (the radio's
    gossip) know of ops another process (a ``fieldkit`` command) wrote to its database."""
    while True:
        await asyncio.sleep(interval)
        try:
            await hub.notice_other_writers()
        except Exception as exc:  # a busy or briefly unreadable database: ask again next time
            log.warning("could not ask the store about other writers: %s", exc)


async def serve_hub(
    hub: Hub,
    config: Config,
    *,
    host: str,
    port: int,
    settings: SyncSettings | None = None,
    time_scale: float = 1.0,
    log_level: str = "info",
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Serve until cancelled or interrupted; the radio, if configured, gossips meanwhile.

    With ``stop``, the caller owns the signals (several hubs in one process, the demo) and
    setting it shuts this hub down.
    """
    key = await network_key(hub.store)
    radio: RadioSync | None = None
    gossip: asyncio.Task[None] | None = None
    transport = None
    if config.radio_url:
        from fieldkit.mesh.meshtastic_transport import MeshtasticTransport

        transport = MeshtasticTransport(config.radio_url)
        await transport.start()  # keeps trying in the background until the radio answers
        counter = await RadioSync.start_counter(hub)
        radio = RadioSync(
            hub,
            transport,
            key,
            settings=settings or config.sync,
            time_scale=time_scale,
            counter=counter,
        )
        gossip = asyncio.create_task(radio.run())
    routes = sync_routes(hub, key, config.hub_name, radio.status if radio else None)
    app = create_app(hub, config, extra_routes=routes)
    uv_config = uvicorn.Config(app, host=host, port=port, log_level=log_level)
    server = uvicorn.Server(uv_config) if stop is None else _SharedSignals(uv_config, stop, ready)
    print(f"hub {hub_name(hub.id)} “{config.hub_name}” serving http://{host}:{port}/", flush=True)
    watcher = asyncio.create_task(watch_other_writers(hub), name="other-writers")
    console_stop = asyncio.Event()
    console = _console_server(hub, config, host, radio, console_stop, log_level)
    try:
        await server.serve()
    finally:
        console_stop.set()
        if console is not None:  # let it finish its requests, as the residents' server did
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(console), timeout=10)
        for task in (watcher, gossip, console):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if transport is not None:
            await transport.close()


def _console_server(
    hub: Hub,
    config: Config,
    host: str,
    radio: RadioSync | None,
    stop: asyncio.Event,
    log_level: str,
) -> asyncio.Task[None] | None:
    """The coordinator console over HTTPS on ``web.console_port``, until ``stop`` is set; if
    that port is taken, the hub still serves residents and says the console is not served."""
    certificate, made = ensure_certificate(config)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, so asyncio sets TCP_NODELAY on each connection (else Nagle holds
    # back every response body by a delayed ACK, ~40 ms)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, config.console_port))
        sock.listen(2048)  # now: a second hub on the same port fails here, not in uvicorn
    except OSError as exc:
        sock.close()
        print(f"coordinator console NOT served: port {config.console_port}: {exc}", flush=True)
        return None
    app = create_console_app(hub, config, radio=radio.status if radio else None)
    uv_config = uvicorn.Config(
        app, log_level=log_level, lifespan="off", ssl_certfile=str(certificate.cert_path),
        ssl_keyfile=str(certificate.key_path),
    )  # fmt: skip
    server = _SharedSignals(uv_config, stop, None)
    shown = f"[{host}]" if ":" in host else host
    print(
        f"coordinator console https://{shown}:{config.console_port}/  certificate SHA-256"
        f" {certificate.fingerprint}{' (new)' if made else ''}",
        flush=True,
    )
    return asyncio.create_task(_serve_console(server, sock), name="console")


async def _serve_console(server: uvicorn.Server, sock: socket.socket) -> None:
    """The console never takes the residents' pages down with it."""
    try:
        await server.serve(sockets=[sock])
    except Exception as exc:
        log.error("the coordinator console stopped: %s", exc)
    finally:
        sock.close()


class _SharedSignals(uvicorn.Server):
    """A server that leaves signals to its caller and stops when told to."""

    def __init__(
        self, config: uvicorn.Config, stop: asyncio.Event, ready: asyncio.Event | None
    ) -> None:
        super().__init__(config)
        self._stop = stop
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self._ready is not None and self.started:
            self._ready.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        watcher = asyncio.get_running_loop().create_task(self._watch())
        try:
            yield
        finally:
            watcher.cancel()

    async def _watch(self) -> None:
        await self._stop.wait()
        self.should_exit = True
