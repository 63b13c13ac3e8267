"""Hub-to-hub sync over HTTP, and the hub's sync status (page and JSON).

``POST /sync/v1`` takes a bundle of envelopes (see :mod:`fieldkit.sync.http`) authenticated
with the network key and answers with one, streamed an envelope at a time as the store is read
a page at a time (bounded memory at any size); ``GET /hub/status`` shows peers heard, last
contact, ops ahead/behind per origin and airtime; ``/hub/status.json`` is the same for
``fieldkit status``.

On the residents' plain-HTTP port the full status answers only the hub's own machine
(loopback: ``fieldkit status``, the benchmarks); anyone else gets its public part, one health
line. Coordinators see the full page in the console, signed in (:mod:`fieldkit.web.console`).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Awaitable, Callable
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from fieldkit.app.hub import Hub
from fieldkit.core.ops import hub_name
from fieldkit.sync.http import answer
from fieldkit.wire.bundle_format import BundleError

MAX_BODY = 64 * 1024 * 1024
RadioStatus = Callable[[], Awaitable[dict[str, Any]]]


async def hub_status(hub: Hub, name: str, radio: RadioStatus | None) -> dict[str, Any]:
    return {
        **await hub.status(name),
        "radio": await radio() if radio else None,
        "time": time.time(),
    }


def from_this_machine(request: Request) -> bool:
    """True if the request came over loopback (from the hub's own machine)."""
    try:
        return request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


async def public_status(hub: Hub, name: str) -> dict[str, Any]:
    """The health line anyone may see: the hub, its name, how many records it holds."""
    counts = await hub.store.counts()
    return {"hub": hub_name(hub.id), "name": name, "records": sum(counts.values())}


def sync_routes(
    hub: Hub, key: bytes, name: str, radio: RadioStatus | None = None
) -> list[BaseRoute]:
    templates = Environment(
        loader=PackageLoader("fieldkit.web", "templates"),
        autoescape=select_autoescape(default=True),
    )

    async def exchange(request: Request) -> Response:
        body = bytearray()
        async for chunk in request.stream():  # stop reading at the limit, not after
            body += chunk
            if len(body) > MAX_BODY:
                return Response("bundle too large\n", status_code=413)
        try:  # the request is checked and stored before the answer starts
            reply = await answer(hub, key, bytes(body))
        except BundleError as exc:
            return Response(f"{exc}\n", status_code=403, media_type="text/plain")
        return StreamingResponse(reply, media_type="application/octet-stream")

    async def status_json(request: Request) -> Response:
        if not from_this_machine(request):
            return JSONResponse(await public_status(hub, name))
        return JSONResponse(await hub_status(hub, name, radio))

    async def status_page(request: Request) -> Response:
        if not from_this_machine(request):
            s = await public_status(hub, name)
            return HTMLResponse(
                f"<!doctype html><title>{escape(s['name'])}</title><p>{escape(s['name'])} · hub"
                f" {s['hub']} · {s['records']} records · running. The full status is in the"
                " coordinator console.</p>"
            )
        status = await hub_status(hub, name, radio)
        return HTMLResponse(templates.get_template("sync_status.html").render(s=status))

    return [
        Route("/sync/v1", exchange, methods=["POST"]),
        Route("/hub/status.json", status_json),
        Route("/hub/status", status_page),
    ]
