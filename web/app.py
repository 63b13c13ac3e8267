"""The hub's web app (Starlette). For now: the hub's public board; intake comes next."""

from __future__ import annotations

from collections import Counter
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from fieldkit.config import Config
from fieldkit.hub import Hub
from fieldkit.ops import hub_name
from fieldkit.records import Kind, Status


def create_app(hub: Hub, config: Config) -> Starlette:
    """The app for one hub; everything it needs is passed in."""
    templates = Environment(
        loader=PackageLoader("fieldkit.web", "templates"),
        autoescape=select_autoescape(default=True),
    )
    areas = config.area_names()

    async def board(request: Request) -> Response:
        open_needs = await hub.store.list_records(kind=Kind.NEED, status=Status.OPEN, limit=1000)
        offers = await hub.store.list_records(kind=Kind.OFFER, status=Status.OPEN, limit=50)
        notices = await hub.store.list_records(kind=Kind.NOTICE, status=Status.OPEN, limit=20)
        need_counts = Counter((r.category.value, areas.get(r.area, r.area)) for r in open_needs)
        context: dict[str, Any] = {
            "hub_name": config.hub_name,
            "need_counts": sorted(need_counts.items(), key=lambda kv: (-kv[1], kv[0])),
            "offers": offers,
            "notices": notices,
            "areas": areas,
        }
        return HTMLResponse(templates.get_template("board.html").render(context))

    async def health(request: Request) -> Response:
        counts = await hub.store.counts()
        return JSONResponse(
            {
                "hub": hub_name(hub.id),
                "name": config.hub_name,
                "records": sum(counts.values()),
            }
        )

    return Starlette(routes=[Route("/", board), Route("/healthz", health)])
