"""The hub's web app (Starlette): resident pages behind a captive portal.

Request flow, outermost first: gzip → :class:`Portal` (OS connectivity probes, other sites'
hostnames, per-client flood limit, security headers) → routes (resident pages, the captive API,
health, any ``extra_routes`` such as the sync API) → a catch-all that sends every unknown path
to the portal, so a resident never sees a 404.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Sequence

from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fieldkit.app.config import Config
from fieldkit.app.hub import Hub
from fieldkit.core.ops import hub_name
from fieldkit.web.captive import Clients, find_probe, host_name, host_port, is_own_host
from fieldkit.web.forms import FormTokens
from fieldkit.web.i18n import load_languages
from fieldkit.web.pages import ResidentPages, client_address
from fieldkit.web.ratelimit import RateLimiter
from fieldkit.web.render import N_, Renderer

#: RFC 8908 captive-portal API (announce it with DHCP option 114 where HTTPS is available).
CAPTIVE_API_PATH = "/api/captive-portal"
CAPTIVE_JSON = "application/captive+json"
SECURITY_HEADERS = {
    # Nothing outside the hub, ever: no scripts at all, styles only inline, images only inline.
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def portal_url(scope: Scope, portal_host: str | None) -> str:
    """Where the portal lives: the configured host, else the address the request arrived at,
    on the port the phone asked for (a firewall may send port 80 to the app's own port)."""
    if portal_host:
        return f"http://{portal_host}/"
    server = scope.get("server")
    if not server or server[0] is None:
        return "/"
    host, port = server
    port = host_port(Headers(scope=scope).get("host", "")) or port
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}/" if port in (80, None) else f"http://{host}:{port}/"


class Portal:
    """ASGI middleware: the captive-portal rules that apply before any route."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        clients: Clients,
        own_hosts: Iterable[str],
        portal_host: str | None,
        any_host_routes: Sequence[BaseRoute],
        flood: RateLimiter,
        too_many: Callable[[Request, int], Response],
    ) -> None:
        self.app = app
        self.clients = clients
        self.own_hosts = frozenset(h.lower() for h in own_hosts)
        self.portal_host = portal_host
        self.any_host_routes = any_host_routes
        self.flood = flood
        self.too_many = too_many

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        response = self._intercept(scope)
        if response is not None:
            await response(scope, receive, secured)
        else:
            await self.app(scope, receive, secured)

    def _intercept(self, scope: Scope) -> Response | None:
        host = host_name(Headers(scope=scope).get("host", ""))
        address = scope["client"][0] if scope.get("client") else "unknown"
        probe = find_probe(host, scope["path"])
        if probe is not None:
            if self.clients.released(address):
                online = probe.online
                return Response(online.body, online.status, media_type=online.content_type)
            return _to_portal(portal_url(scope, self.portal_host))
        if not is_own_host(host, self.own_hosts) and not any(
            route.matches(scope)[0] is Match.FULL for route in self.any_host_routes
        ):
            return _to_portal(portal_url(scope, self.portal_host))
        if not self.flood.allow(address):
            return self.too_many(Request(scope), self.flood.retry_after(address))
        return None


def _to_portal(url: str) -> Response:
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})


def create_app(
    hub: Hub,
    config: Config,
    *,
    extra_routes: Sequence[BaseRoute] = (),
    clients: Clients | None = None,
    own_hosts: Iterable[str] = (),
    portal_host: str | None = None,
    write_limit: RateLimiter | None = None,
    flood_limit: RateLimiter | None = None,
    form_key: bytes | None = None,
) -> Starlette:
    """The app for one hub; everything it needs is passed in (two hubs run in one process).

    ``extra_routes`` (e.g. the sync API) are served on any hostname, before the catch-all.
    ``own_hosts`` are extra names of this hub (besides IP addresses, ``localhost``, single
    labels and ``.local``-style names); any other hostname is sent to the portal at
    ``portal_host`` (default: the address the request arrived at). ``write_limit`` limits
    form posts per client (default 10 at once, one more every 6 s), ``flood_limit`` all
    requests per client (default 200 at once, 20 per second). ``form_key`` signs the resident
    forms' tokens (default: random, so forms open across a restart must be sent again).
    """
    clients = clients if clients is not None else Clients()
    renderer = Renderer(config, load_languages(config.languages))
    writes = write_limit or RateLimiter(burst=10, per_second=1 / 6)
    flood = flood_limit or RateLimiter(burst=200, per_second=20)
    tokens = FormTokens(form_key) if form_key is not None else None
    pages = ResidentPages(hub, renderer, clients, writes, tokens=tokens)

    def too_many(request: Request, retry_after: int) -> Response:
        return pages.too_many(request, renderer.language(request), retry_after)

    async def health(request: Request) -> Response:
        counts = await hub.store.counts()
        return JSONResponse(
            {"hub": hub_name(hub.id), "name": config.hub_name, "records": sum(counts.values())}
        )

    async def captive_api(request: Request) -> Response:
        url = portal_url(request.scope, portal_host)
        body = {
            "captive": not clients.released(client_address(request)),
            "user-portal-url": url,
            "venue-info-url": f"{url.rstrip('/')}/board",
        }
        return Response(
            json.dumps(body), media_type=CAPTIVE_JSON, headers={"Cache-Control": "private"}
        )

    async def console(request: Request) -> Response:  # the console is HTTPS, on its own port
        host = host_name(request.headers.get("host", "")) or "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        return RedirectResponse(f"https://{host}:{config.console_port}/", status_code=302)

    async def stylesheet(request: Request) -> Response:
        return Response(str(renderer.css), media_type="text/css")

    async def elsewhere(request: Request) -> Response:
        return RedirectResponse(f"/?lang={renderer.language(request).code}", status_code=302)

    async def server_error(request: Request, exc: Exception) -> Response:
        return pages.message(
            request, renderer.language(request), 500,
            N_("Something went wrong on this hub. Your request may not have been saved: please "
               "try again in a minute."),
        )  # fmt: skip

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status in (404, 405):
            return await elsewhere(request)
        return PlainTextResponse(str(getattr(exc, "detail", "")), status_code=status)

    routes: list[BaseRoute] = [
        *pages.routes(),
        Route(CAPTIVE_API_PATH, captive_api),
        Route("/healthz", health),
        Route("/console", console),
        Route("/static/site.css", stylesheet),
        *extra_routes,
        Route("/{path:path}", elsewhere, methods=["GET", "HEAD", "POST", "PUT", "DELETE"]),
    ]
    handlers: dict[int | type[Exception], Callable[[Request, Exception], Awaitable[Response]]]
    handlers = {500: server_error, HTTPException: http_error}
    return Starlette(
        routes=routes,
        exception_handlers=handlers,
        middleware=[
            Middleware(GZipMiddleware, minimum_size=500, compresslevel=9),
            Middleware(
                Portal, clients=clients, own_hosts=own_hosts, portal_host=portal_host,
                any_host_routes=tuple(extra_routes), flood=flood, too_many=too_many,
            ),
        ],
    )  # fmt: skip
