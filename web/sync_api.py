"""Hub-to-hub sync over HTTP, and the hub's sync status (page and JSON).

``GET /sync/v1/challenge`` hands out a single-use challenge; ``POST /sync/v1`` takes a sealed
bundle bound to one (see :mod:`fieldkit.sync.http`) and answers with one, streamed a segment
at a time as the store is read a page at a time (bounded memory at any size). What needs no
key is refused first, before the body is read: a declared length beyond :data:`MAX_BODY`
(413), a missing, unknown or used challenge (403); a body streaming past the limit is cut off
there (413). ``GET /hub/status`` shows peers heard, last contact, ops ahead/behind per origin
and airtime; ``/hub/status.json`` is the same for ``fieldkit status``.

On the residents' plain-HTTP port the full status answers only the hub's own machine
(``fieldkit status``, the benchmarks); anyone else gets its public part, one health line.
Coordinators see the full page in the console, signed in (:mod:`fieldkit.web.console`).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from fieldkit.app.cloud import cloud_status
from fieldkit.app.hub import Hub
from fieldkit.core.ops import hub_name
from fieldkit.sync.challenges import Challenges
from fieldkit.sync.http import CHALLENGE_HEADER, BodyTooLarge, answer, parse_challenge
from fieldkit.wire import key_notice
from fieldkit.wire.bundle_format import BundleError

if TYPE_CHECKING:
    from fieldkit.app.keyring import KeyRing

MAX_BODY = 64 * 1024 * 1024
MAX_NOTICES_BODY = 1 << 17  # key notices: a few hundred bytes a hub
RadioStatus = Callable[[], Awaitable[dict[str, Any]]]


async def hub_status(hub: Hub, name: str, radio: RadioStatus | None) -> dict[str, Any]:
    return {
        **await hub.status(name),
        "radio": await radio() if radio else None,
        "cloud": await cloud_status(hub.store),
        "time": time.time(),
    }


def from_this_machine(request: Request) -> bool:
    """True if the request came from the hub's own machine: over loopback, or from the very
    address it arrived at (a TCP peer elsewhere cannot complete a handshake from it)."""
    if request.client is None:
        return False
    server = request.scope.get("server")
    try:
        peer = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False
    return peer.is_loopback or (server is not None and request.client.host == server[0])


async def public_status(hub: Hub, name: str) -> dict[str, Any]:
    """The health line anyone may see: the hub, its name, how many records it holds."""
    counts = await hub.store.counts()
    return {"hub": hub_name(hub.id), "name": name, "records": sum(counts.values())}


async def trade_notices_answer(keyring: KeyRing, request: Request) -> Response:
    """``POST /sync/v1/notices``: key notices in (packed:
    :func:`fieldkit.wire.key_notice.pack_many`), ours out (a hub's, or the cloud's)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_NOTICES_BODY:
            return Response("too many key notices\n", 413, media_type="text/plain")
    try:
        blobs = key_notice.unpack_many(body)
    except key_notice.DecodeError as exc:
        return Response(f"{exc}\n", 400, media_type="text/plain")
    await keyring.reload()
    await keyring.take_many(blobs)
    return Response(key_notice.pack_many(keyring.outgoing()), media_type="application/octet-stream")


def sync_routes(
    hub: Hub,
    key: bytes,
    name: str,
    radio: RadioStatus | None = None,
    challenges: Challenges | None = None,
    old_keys: tuple[bytes, ...] = (),
    keyring: KeyRing | None = None,
) -> list[BaseRoute]:
    """``old_keys``: also accepted in sync requests (and answered under), beside ``key``: the
    network's previous key during a rotation's grace (``fieldkit network rotate-key``).
    ``keyring``: the keys as the network moves, read again at each request (then ``key`` and
    ``old_keys`` are not used), and ``POST /sync/v1/notices`` trades key notices."""
    issued = challenges if challenges is not None else Challenges()
    templates = Environment(
        loader=PackageLoader("fieldkit.web", "templates"),
        autoescape=select_autoescape(default=True),
    )

    def refuse(text: str, status: int) -> Response:
        return Response(f"{text}\n", status_code=status, media_type="text/plain")

    async def challenge(request: Request) -> Response:
        return Response(issued.issue().hex() + "\n", media_type="text/plain",
                        headers={"cache-control": "no-store"})  # fmt: skip

    async def exchange(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdecimal() and int(declared) > MAX_BODY:
            return refuse("bundle too large", 413)
        named = request.headers.get(CHALLENGE_HEADER)
        if named is None:  # what every release before sealed sync sends
            return refuse("sync request without a challenge: upgrade that hub's fieldkit", 403)
        taken = parse_challenge(named)
        if taken is None or not issued.take(taken):
            return refuse("unknown or used sync challenge: ask GET /sync/v1/challenge", 403)
        current, old = key, old_keys
        if keyring is not None:  # another process may have moved the keys
            await keyring.reload()
            current, *rest = keyring.accepted()
            old = tuple(rest)
        try:  # checked whole as it streams in, and stored, before the answer starts
            reply = await answer(hub, current, taken, request.stream(), MAX_BODY, old)
        except BodyTooLarge:
            return refuse("bundle too large", 413)
        except BundleError as exc:
            return refuse(str(exc), 403)
        return StreamingResponse(reply, media_type="application/octet-stream")

    async def notices(request: Request) -> Response:
        if keyring is None:
            return refuse("this hub passes on no key notices", 404)
        return await trade_notices_answer(keyring, request)

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
        Route("/sync/v1/challenge", challenge),
        Route("/sync/v1", exchange, methods=["POST"]),
        Route("/sync/v1/notices", notices, methods=["POST"]),
        Route("/hub/status.json", status_json),
        Route("/hub/status", status_page),
    ]
