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
- ``GET /sync/v1/openapi.json``: all of the above as OpenAPI 3.1 (:func:`cloud_openapi`, the
  hubs' document with the credential in front), checked with schemathesis.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from fieldkit.app.cloud import CODE_VALID_S, Delivering, digest, redeem
from fieldkit.app.hub import Hub
from fieldkit.app.keyring import KeyRing
from fieldkit.core.ops import hub_name
from fieldkit.store.cloud_port import CloudPort
from fieldkit.sync.challenges import BYTES, TTL_S
from fieldkit.sync.cloud import PAGE, PAGE_HEADER, cloud_answer, page_asked
from fieldkit.sync.http import CHALLENGE_HEADER, BodyTooLarge, parse_challenge
from fieldkit.web.sync_api import MAX_BODY, trade_notices_answer
from fieldkit.web.sync_openapi import (
    CHALLENGE_PATH,
    NOTICES_PATH,
    SYNC_PATH,
    Guard,
    Schema,
    method_not_allowed,
    sync_openapi,
    sync_openapi_routes,
)
from fieldkit.wire.bundle_format import BundleError

JOIN_PATH = "/cloud/v1/join"
JOIN_BODY = 4096
CODE_PREFIX = "fkcloud1."
HUB_PATTERN = re.compile(r"[0-9a-f]{8}")
_NO_CREDENTIAL = "no hub credential: join this cloud with `fieldkit cloud join`"
_UNKNOWN_HUB = "unknown hub: enroll it with `fieldkit cloud enroll`"
_BAD_JOIN = f'expected {{"code": "{CODE_PREFIX}…", "hub": "HUB ID"}}'


def _refuse(text: str, status: int) -> Response:
    return Response(f"{text}\n", status_code=status, media_type="text/plain")


def cloud_routes(
    cloud: Hub, store: CloudPort, keyring: KeyRing, clock: Callable[[], float] = time.time
) -> list[BaseRoute]:
    """``keyring``: the cloud's keys as the network moves (read again at each request, as
    another cloud process may have taken a new key), traded with hubs before each sync."""

    async def hub_of(request: Request) -> str | Response:
        """The enrolled hub a request's credential names, or the refusal."""
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not credential:
            return _refuse(_NO_CREDENTIAL, 401)
        found = await store.hub_for_credential(digest(credential.strip()))
        if found is None:
            return _refuse(_UNKNOWN_HUB, 401)
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
        if declared.isdecimal() and int(declared) > MAX_BODY:
            return _refuse("bundle too large", 413)
        taken = parse_challenge(request.headers.get(CHALLENGE_HEADER))
        if taken is None or not await store.take_challenge(taken, clock(), TTL_S):
            return _refuse(f"unknown or used sync challenge: ask GET {CHALLENGE_PATH}", 403)
        await keyring.reload()  # the keys and revocations as any cloud process left them
        current, *old = keyring.accepted()
        delivering = Delivering(cloud, store, name)
        page = page_asked(request.headers.get(PAGE_HEADER))
        try:  # checked whole as it streams in, and stored, before the answer starts
            reply = await cloud_answer(
                delivering, current, taken, request.stream(), MAX_BODY, page, tuple(old)
            )
        except BodyTooLarge:
            return _refuse("bundle too large", 413)
        except BundleError as exc:
            return _refuse(str(exc), 403)
        return StreamingResponse(reply, media_type="application/octet-stream")

    async def notices(request: Request) -> Response:
        name = await hub_of(request)
        if isinstance(name, Response):
            return name
        return await trade_notices_answer(keyring, request)

    async def join(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > JOIN_BODY:
                return _refuse("join request too large", 413)
        try:
            data = json.loads(body)
            code, hub_hex = data["code"], data["hub"]
        except (ValueError, KeyError, TypeError):
            return _refuse(_BAD_JOIN, 400)
        if not (isinstance(code, str) and isinstance(hub_hex, str)) or not HUB_PATTERN.fullmatch(
            hub_hex
        ):
            return _refuse(_BAD_JOIN, 400)
        hub_id = int(hub_hex, 16)
        secret = code.removeprefix(CODE_PREFIX).partition(".")[0]
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
        Route(JOIN_PATH, join, methods=["POST"]),
        Route(CHALLENGE_PATH, challenge, methods=["GET"]),
        Route(SYNC_PATH, exchange, methods=["POST"]),
        Route(NOTICES_PATH, notices, methods=["POST"]),
        Route(JOIN_PATH, method_not_allowed("POST")),
        *sync_openapi_routes(cloud_openapi()),
    ]


#: The hub's credential in front of the sync operations, refused before anything is read.
HUB_CREDENTIAL = Guard(
    "hubCredential",
    {"type": "http", "scheme": "bearer",
     "description": "the credential `fieldkit cloud join` stored on the hub"},
    {"401": f"{_NO_CREDENTIAL}, or {_UNKNOWN_HUB}", "403": "the hub was revoked at this cloud"},
)  # fmt: skip


def _join_path() -> Schema:
    text = {"text/plain": {"schema": {"type": "string"}}}
    return {
        JOIN_PATH: {
            "post": {
                "operationId": "cloudJoin",
                "summary": "A hub's one-time enrollment code for its credential.",
                "description": "The code `fieldkit cloud enroll NAME` printed, used once, "
                f"within {CODE_VALID_S // 3600} hours; enrolling the name again voids the "
                "hub's earlier credential. Needs no credential: the code is one.",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["code", "hub"],
                    "properties": {
                        "code": {"type": "string", "description": f"`{CODE_PREFIX}…`"},
                        "hub": {"type": "string", "pattern": f"^{HUB_PATTERN.pattern}$",
                                "description": "the hub's id, 8 hex digits"},
                    },
                }}}},
                "responses": {
                    "200": {
                        "description": "the hub's name at this cloud, its credential (shown "
                        "once) and the cloud's own hub id",
                        "headers": {"Cache-Control": {"schema": {"const": "no-store"}}},
                        "content": {"application/json": {"schema": {
                            "type": "object", "required": ["name", "credential", "cloud"],
                            "properties": {
                                "name": {"type": "string"},
                                "credential": {"type": "string"},
                                "cloud": {"type": "string", "pattern": "^[0-9a-f]{8}$"},
                            },
                        }}},
                    },
                    "400": {"description": _BAD_JOIN, "content": text},
                    "403": {"description": "an unknown, used or expired code", "content": text},
                    "413": {"description": f"a body over {JOIN_BODY} bytes", "content": text},
                },
            },
        },
    }  # fmt: skip


def cloud_openapi() -> Schema:
    """The cloud's sync API: the hubs' document with the credential in front, and joining."""
    document = sync_openapi(_join_path(), HUB_CREDENTIAL)
    exchange = document["paths"][SYNC_PATH]["post"]
    exchange["parameters"] = [*exchange["parameters"], {
        "name": PAGE_HEADER,
        "in": "header",
        "required": False,
        "description": f"how many ops the hub takes in this answer, at most {PAGE} (the "
        "default); 0: none, the hub only pushes",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }]  # fmt: skip
    document["info"] = {**document["info"], "title": "fieldkit cloud aggregator sync"}
    return document
