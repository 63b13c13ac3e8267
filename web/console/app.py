"""The coordinator console's app: served over HTTPS on its own port (``web.console_port``) by
:func:`fieldkit.app.serve.serve_hub`, never on the residents' plain-HTTP port."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fieldkit.app.config import Config
from fieldkit.app.hub import Hub
from fieldkit.web.api import Api, ApiLimits
from fieldkit.web.api_spec import PREFIX as API_PREFIX
from fieldkit.web.app import SECURITY_HEADERS
from fieldkit.web.console.exports import ConsoleExports
from fieldkit.web.console.pages import ConsolePages
from fieldkit.web.console.session import SignInThrottle
from fieldkit.web.i18n import load_languages
from fieldkit.web.render import N_, Renderer
from fieldkit.web.sync_api import RadioStatus, hub_status

#: What every console answer carries besides the residents' pages' headers.
CONSOLE_HEADERS = {"cache-control": "no-store", "x-frame-options": "DENY"}


class _Secured:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in {**SECURITY_HEADERS, **CONSOLE_HEADERS}.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, secured if scope["type"] == "http" else send)


def create_console_app(
    hub: Hub,
    config: Config,
    *,
    radio: RadioStatus | None = None,
    clock: Callable[[], float] = time.time,
    throttle: SignInThrottle | None = None,
    api_limits: ApiLimits | None = None,
    accounts: bool = False,
    hub_names: Callable[[], Awaitable[dict[int, str]]] | None = None,
) -> ASGIApp:
    """The console; ``accounts``: coordinators sign in with personal accounts (the cloud's)
    instead of the hub's shared passphrase; ``hub_names``: the names hubs go by (the cloud's
    enrolled hubs), shown beside their ids and offered in the origin filter."""
    renderer = Renderer(config, load_languages(config.languages))

    async def status_page(request: Request) -> Response:  # in the console's language
        status = await hub_status(hub, config.hub_name, radio)
        session = await pages.session(request)
        csrf = await pages._csrf(session) if session else ""
        return pages.page(request, "hub_status.html", s=status, session=session, csrf=csrf)

    pages = ConsolePages(
        hub, config, renderer, clock=clock, throttle=throttle, status_page=status_page,
        accounts=accounts, hub_names=hub_names,
    )  # fmt: skip

    async def stylesheet(request: Request) -> Response:
        return Response(str(renderer.css), media_type="text/css")

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        path = request.url.path
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            return await api.http_error(request, exc)  # a program's request: JSON, not a page
        if status == 404:
            return pages.message(request, 404, N_("There is no such page in the console."))
        return pages.message(request, status, str(getattr(exc, "detail", "")))

    handlers: dict[int | type[Exception], Callable[[Request, Exception], Awaitable[Response]]]
    handlers = {HTTPException: http_error}
    api = Api(hub, config, renderer, pages.suggestions, api_limits)  # JSON, its own errors
    app = Starlette(
        routes=[
            *pages.routes(),
            *ConsoleExports(pages).routes(),
            Route("/static/site.css", stylesheet),
            Mount(API_PREFIX, app=api.app()),
        ],
        exception_handlers=handlers,
    )
    return _Secured(app)
