"""Serving a hub: its web pages, its sync API and, with a radio, its gossip (the I/O edge)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import uvicorn

from fieldkit.app.certificate import ensure_certificate
from fieldkit.app.cloud import keep_syncing
from fieldkit.app.config import Config
from fieldkit.app.hub import Hub
from fieldkit.app.keyring import KeyRing
from fieldkit.app.netkey import network_key, previous_keys
from fieldkit.app.network import saved_network
from fieldkit.app.server_limits import (
    ServerLimits,
    guarded_protocol,
    limit_repeated_logs,
    raise_file_limit,
)
from fieldkit.core.ops import hub_name
from fieldkit.sync.engine import SyncSettings
from fieldkit.sync.radio import RadioSync
from fieldkit.web.api import plain_port_routes
from fieldkit.web.app import create_app
from fieldkit.web.console.app import create_console_app
from fieldkit.web.sync_api import sync_routes
from fieldkit.web.sync_openapi import sync_openapi_routes

log = logging.getLogger(__name__)
#: How often a running hub asks its store whether another process wrote to it (seconds).
OTHER_WRITERS_POLL_S = 1.0
#: In the hub's data folder while ``fieldkit run`` serves: where (``fieldkit status`` asks it).
RUNNING_FILE = "running.json"


def running_url(data_dir: Path) -> str | None:
    """The address the hub of ``data_dir`` serves at, if a live process says it does."""
    try:
        data = json.loads((data_dir / RUNNING_FILE).read_text(encoding="utf-8"))
        url, pid = str(data["url"]), int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)  # still running? (signal 0 sends nothing)
    except PermissionError:
        return url  # it is, as another user
    except OSError:
        return None  # killed without a chance to say so
    return url


def _say_running(data_dir: Path, server: uvicorn.Server) -> Callable[[], None]:
    """Write where ``server`` listens (its real port, even for ``--port 0``); returns the undo."""
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    path, tmp = data_dir / RUNNING_FILE, data_dir / f".{RUNNING_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps({"url": f"http://{host}:{port}", "pid": os.getpid()}))
    tmp.replace(path)

    def undo() -> None:
        with contextlib.suppress(OSError, ValueError):
            if json.loads(path.read_text())["pid"] == os.getpid():
                path.unlink()

    return undo


async def watch_other_writers(hub: Hub, interval: float = OTHER_WRITERS_POLL_S) -> None:
    """Until cancelled: every ``interval`` seconds, let the hub's listeners (the radio's
    gossip) know of ops another process (a ``fieldkit`` command) wrote to its database."""
    while True:
        await asyncio.sleep(interval)
        try:
            await hub.notice_other_writers()
        except Exception as exc:  # a busy or briefly unreadable database: ask again next time
            log.warning("could not ask the store about other writers: %s", exc)


async def with_network_emergency(hub: Hub, config: Config) -> Config:
    """The config, with the network's emergency line (``network new --emergency``) where the
    hub's own config sets none (``hub.emergency``)."""
    if config.emergency:
        return config
    network = await saved_network(hub.store)
    if network is None or not network.emergency:
        return config
    return dataclasses.replace(config, emergency=network.emergency)


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
    limits: ServerLimits | None = None,
) -> None:
    """Serve until cancelled or interrupted; the radio, if configured, gossips meanwhile.
    ``limits``: timeouts, connections and log lines (see :mod:`fieldkit.app.server_limits`).

    With ``stop``, the caller owns the signals (several hubs in one process, the demo) and
    setting it shuts this hub down.
    """
    key = await network_key(hub.store)
    config = await with_network_emergency(hub, config)
    radio: RadioSync | None = None
    gossip: asyncio.Task[None] | None = None
    old_keys, until = await previous_keys(hub.store, hub.wall())  # a key rotation's grace
    keyring = await KeyRing.open(hub)  # the keys as the network moves (they travel by themselves)
    transport = None
    if config.radio_url:
        from fieldkit.mesh.meshtastic_transport import MeshtasticTransport

        transport = MeshtasticTransport(config.radio_url, time_scale=time_scale)
        await transport.start()  # keeps trying in the background until the radio answers
        counter = await RadioSync.start_counter(hub)
        network = await saved_network(hub.store)  # its areas go by index in compact frames
        radio = RadioSync(
            hub,
            transport,
            key,
            settings=settings or config.sync,
            time_scale=time_scale,
            counter=counter,
            old_keys=old_keys,
            old_keys_until_ms=until,
            keyring=keyring,
            areas=tuple(area.id for area in network.areas) if network else (),
        )
        gossip = asyncio.create_task(radio.run())
    routes = sync_routes(
        hub, key, config.hub_name, radio.status if radio else None, old_keys=old_keys,
        keyring=keyring,
    )  # fmt: skip
    routes += plain_port_routes(config.console_port)  # the JSON API is on the console's port
    routes += sync_openapi_routes()
    # Resident forms stay valid across a restart (a battery swap): their tokens are signed
    # with a key derived from the network key, which never leaves the hub this way.
    form_key = hashlib.sha256(b"fieldkit resident form tokens\0" + key).digest()
    app = create_app(hub, config, extra_routes=routes, form_key=form_key)
    limits = limits or config.limits
    uv_config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, http=guarded_protocol(limits),
        timeout_keep_alive=int(limits.keep_alive), limit_concurrency=limits.max_connections,
    )  # fmt: skip
    raise_file_limit()
    unlimit_logs = limit_repeated_logs(limits.log_every)
    server = _HubServer(uv_config) if stop is None else _SharedSignals(uv_config, stop, ready)
    server.data_dir = config.data_dir
    print(f"hub {hub_name(hub.id)} “{config.hub_name}” serving http://{host}:{port}/", flush=True)
    watcher = asyncio.create_task(watch_other_writers(hub), name="other-writers")
    cloud = asyncio.create_task(keep_syncing(hub, config.cloud), name="cloud-sync")
    console_stop = asyncio.Event()
    console = _console_server(hub, config, host, radio, console_stop, log_level, limits)
    try:
        await server.serve()
    finally:
        unlimit_logs()
        console_stop.set()
        if console is not None:  # let it finish its requests, as the residents' server did
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(console), timeout=10)
        for task in (watcher, gossip, console, cloud):
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
    limits: ServerLimits,
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
    uv_config = uvicorn.Config(  # the residents' server's limits: it is on the same Wi-Fi
        app, log_level=log_level, lifespan="off", ssl_certfile=str(certificate.cert_path),
        ssl_keyfile=str(certificate.key_path), http=guarded_protocol(limits),
        timeout_keep_alive=int(limits.keep_alive), limit_concurrency=limits.max_connections,
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


class _HubServer(uvicorn.Server):
    """uvicorn's server, saying where it listens in the hub's data folder while it does (its
    shutdown runs before uvicorn re-raises a SIGTERM, which would end us without a finally)."""

    data_dir: Path | None = None
    _unsay: Callable[[], None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.data_dir is not None:
            self._unsay = _say_running(self.data_dir, self)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._unsay is not None:
            self._unsay()
        await super().shutdown(sockets)


class _SharedSignals(_HubServer):
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
