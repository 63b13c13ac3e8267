"""Serving the cloud aggregator (``fieldkit run --role cloud``): the sync API for enrolled hubs
and the coordinator console, over HTTPS on one port, answering only its own hostname. No
radio, no captive portal, nothing kept outside the database: several processes may serve one
database behind a load balancer.
"""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.routing import Mount

from fieldkit.app.certificate import Certificate, ensure_certificate, fingerprint
from fieldkit.app.config import Config
from fieldkit.app.hub import Hub
from fieldkit.app.keyring import KeyRing
from fieldkit.app.server_limits import ServerLimits, guarded_protocol, raise_file_limit
from fieldkit.core.ops import hub_name
from fieldkit.store.cloud_port import CloudPort
from fieldkit.web.cloud_api import cloud_routes
from fieldkit.web.console.app import create_console_app


def cloud_certificate(config: Config) -> tuple[Certificate, bool]:
    """The cloud's certificate: the configured files (a CA's), else one it made for its
    hostname in its data folder; True if it is self-made (hubs then pin its fingerprint)."""
    settings = config.cloud
    if settings.cert_file:
        from cryptography import x509

        cert_path, key_path = Path(settings.cert_file), Path(settings.key_file)
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        return Certificate(cert_path, key_path, fingerprint(cert)), False
    made, _ = ensure_certificate(dataclasses.replace(config, web_host=settings.hostname))
    return made, True


def cloud_app(
    hub: Hub, store: CloudPort, config: Config, keyring: KeyRing
) -> TrustedHostMiddleware:
    console = create_console_app(hub, config, accounts=True, hub_names=store.hub_names)
    app = Starlette(routes=[*cloud_routes(hub, store, keyring), Mount("/", app=console)])
    return TrustedHostMiddleware(app, allowed_hosts=[config.cloud.hostname])


class _CloudServer(uvicorn.Server):
    """Says where it listens once it does (its real port, even for ``--port 0``)."""

    hostname = ""
    fingerprint = ""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            port = self.servers[0].sockets[0].getsockname()[1]
            print(f"cloud serving https://{self.hostname}:{port}/  certificate SHA-256"
                  f" {self.fingerprint}", flush=True)  # fmt: skip


async def serve_cloud(
    hub: Hub,
    store: CloudPort,
    config: Config,
    *,
    host: str,
    port: int,
    log_level: str = "info",
    limits: ServerLimits | None = None,
) -> None:
    """Serve until interrupted (uvicorn handles SIGINT and SIGTERM)."""
    keyring = await KeyRing.open(hub)  # the cloud's keys: a rotation reaches it as any hub
    certificate, _ = cloud_certificate(config)
    limits = limits or config.limits
    uv_config = uvicorn.Config(
        cloud_app(hub, store, config, keyring), host=host, port=port, log_level=log_level,
        ssl_certfile=str(certificate.cert_path), ssl_keyfile=str(certificate.key_path),
        http=guarded_protocol(limits), timeout_keep_alive=int(limits.keep_alive),
        limit_concurrency=limits.max_connections,
    )  # fmt: skip
    raise_file_limit()
    server = _CloudServer(uv_config)
    server.hostname, server.fingerprint = config.cloud.hostname, certificate.fingerprint
    print(f"cloud {hub_name(hub.id)} “{config.hub_name}”, database {store.location}", flush=True)
    await server.serve()
