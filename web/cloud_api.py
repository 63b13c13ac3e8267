"""The cloud aggregator's sync API: hub-to-hub sync's routes (:mod:`fieldkit.web.sync_api`) for
enrolled hubs only, their challenges kept in the database, and joining with a one-time code.

- ``POST /cloud/v1/join`` (JSON ``{"code": "fkcloud1.…", "hub": "0a0b0c0d"}``): an unused
  enrollment code for the hub's credential (``{"name", "credential", "cloud"}``); any other
  code 403.
- ``GET /sync/v1/challenge`` and ``POST /sync/v1`` as between hubs (sealed, single-use
  challenge, size checked as it streams), each with ``Authorization: Bearer CREDENTIAL``: no
  or an unknown credential 401, a revoked hub's 403, before anything else is read. The
  challenge is kept in the database, so any cloud process may take it; what a request
  carries is stored with the name of the hub that delivered it; an answer carries at most the
  page the hub asks for (:mod:`fieldkit.sync.cloud`).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from fieldkit.app.cloud import CODE_VALID_S, Delivering, digest, redeem
from fieldkit.app.hub import Hub
from fieldkit.core.ops import hub_name
from fieldkit.store.cloud_port import CloudPort
from fieldkit.sync.challenges import BYTES, TTL_S
from fieldkit.sync.cloud import PAGE_HEADER, cloud_answer, page_asked
from fieldkit.sync.http import CHALLENGE_HEADER, BodyTooLarge, parse_challenge
from fieldkit.web.sync_api import MAX_BODY
from fieldkit.wire.bundle_format import BundleError

JOIN_BODY = 4096


def _refuse(text: str, status: int) -> Response:
    return Response(f"{text}\n", status_code=status, media_type="text/plain")


def cloud_routes(
    cloud: Hub, store: CloudPort, key: bytes, clock: Callable[[], float] = time.time
) -> list[BaseRoute]:
    async def hub_of(request: Request) -> str | Response:
        """The enrolled hub a request's credential names, or the refusal."""
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not credential:
            return _refuse("no hub credential: join this cloud with `fieldkit cloud join`", 401)
        found = await store.hub_for_credential(digest(credential.strip()))
        if found is None:
            return _refuse("unknown hub: enroll it with `fieldkit cloud enroll`", 401)
        name, revoked = found
        if revoked:
            return _refuse(f"hub {name!r} was revoked at this cloud", 403)
        return name

    async def challenge(request: Request) -> Response:
        name = await hub_of(request)
        if isinstance(name, Response):
            return name
        issued = secrets.token_bytes(BYTES)
        await store.issue_challenge(issued, clock(), TTL_S)
        return Response(issued.hex() + "\n", media_type="text/plain",
                        headers={"cache-control": "no-store"})  # fmt: skip

    async def exchange(request: Request) -> Response:
        name = await hub_of(request)
        if isinstance(name, Response):
            return name
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            return _refuse("bundle too large", 413)
        taken = parse_challenge(request.headers.get(CHALLENGE_HEADER))
        if taken is None or not await store.take_challenge(taken, clock(), TTL_S):
            return _refuse("unknown or used sync challenge: ask GET /sync/v1/challenge", 403)
        delivering = Delivering(cloud, store, name)
        page = page_asked(request.headers.get(PAGE_HEADER))
        try:  # checked whole as it streams in, and stored, before the answer starts
            reply = await cloud_answer(delivering, key, taken, request.stream(), MAX_BODY, page)
        except BodyTooLarge:
            return _refuse("bundle too large", 413)
        except BundleError as exc:
            return _refuse(str(exc), 403)
        return StreamingResponse(reply, media_type="application/octet-stream")

    async def join(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > JOIN_BODY:
                return _refuse("join request too large", 413)
        try:
            data = json.loads(body)
            code, hub_hex = str(data["code"]), str(data["hub"])
            hub_id = int(hub_hex, 16)
        except (ValueError, KeyError, TypeError):
            return _refuse('expected {"code": "fkcloud1.…", "hub": "HUB ID"}', 400)
        secret = code.removeprefix("fkcloud1.").partition(".")[0]
        found = await redeem(store, secret, hub_id)
        if found is None:
            return _refuse(
                "unknown, used or expired enrollment code (a code lasts"
                f" {CODE_VALID_S // 3600} hours): ask for a new one",
                403,
            )
        name, credential = found
        return JSONResponse(
            {"name": name, "credential": credential, "cloud": hub_name(cloud.id)},
            headers={"cache-control": "no-store"},
        )

    return [
        Route("/cloud/v1/join", join, methods=["POST"]),
        Route("/sync/v1/challenge", challenge),
        Route("/sync/v1", exchange, methods=["POST"]),
    ]
