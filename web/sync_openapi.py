"""The OpenAPI 3.1 document of hub-to-hub sync (:mod:`fieldkit.web.sync_api`), served at
``/sync/v1/openapi.json`` beside the endpoints it describes, on the residents' port.

The bodies are binary and sealed under the network key (:mod:`fieldkit.sync.http`,
:mod:`fieldkit.wire.sealed`): the document says their content types, the challenge header
that binds each request to a single-use challenge, and every error the hub answers, in the
order it checks them (size declared, challenge, then the body as it streams in). What is
inside a sealed body is the wire format's business (``docs/architecture.md``), not this
document's: nobody without the key can read or write one.

The cloud role serves the same endpoints; it extends this document with what it adds
(enrollment, its credentials) through :func:`sync_openapi`'s ``paths`` and ``guard``
(:func:`fieldkit.web.cloud_api.cloud_openapi`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from fieldkit import __version__
from fieldkit.sync.challenges import BYTES as CHALLENGE_BYTES
from fieldkit.sync.challenges import TTL_S
from fieldkit.sync.http import CHALLENGE_HEADER
from fieldkit.web.sync_api import MAX_BODY, MAX_NOTICES_BODY

CHALLENGE_PATH = "/sync/v1/challenge"
SYNC_PATH = "/sync/v1"
NOTICES_PATH = "/sync/v1/notices"
DOCUMENT_PATH = "/sync/v1/openapi.json"
SEALED = "application/octet-stream"
Schema = dict[str, Any]

_TEXT: Schema = {"text/plain": {"schema": {"type": "string"}}}
_SEALED_BODY: Schema = {SEALED: {"schema": {"type": "string", "format": "binary"}}}
_REFUSED = (
    "refused, nothing stored, nothing answered: the request names no challenge (a hub of a "
    "release before sealed sync), an unknown, expired or used one (ask "
    f"`GET {CHALLENGE_PATH}` again), or its sealed body failed a check (another network's "
    "key, altered, reordered, cut short or extended); the text says which"
)


def _paths() -> Schema:
    return {
        CHALLENGE_PATH: {
            "get": {
                "operationId": "syncChallenge",
                "summary": "A single-use challenge for one sync request.",
                "description": f"Taken once by `POST {SYNC_PATH}`; expires after {TTL_S:g} s "
                "of the hub's monotonic clock. Needs no key: a challenge is worth nothing "
                "without one.",
                "responses": {
                    "200": {
                        "description": f"{CHALLENGE_BYTES} random bytes in hex, then a newline",
                        "headers": {"Cache-Control": {"schema": {"const": "no-store"}}},
                        "content": {"text/plain": {"schema": {
                            "type": "string",
                            "pattern": f"^[0-9a-f]{{{2 * CHALLENGE_BYTES}}}\\n$",
                        }}},
                    },
                },
            },
        },
        SYNC_PATH: {
            "post": {
                "operationId": "syncExchange",
                "summary": "One sync request: its summary and ops in, the hub's summary and "
                "the ops the sender lacks out.",
                "description": "The body is a bundle sealed under the network key for `sync "
                "request` and bound to the challenge named in the header; the answer is one "
                "sealed for `sync answer`, bound to the same challenge, streamed as the hub "
                "reads its store. The request is checked whole, and its ops stored, before "
                "the answer starts. A request replayed later names a used challenge: 403.",
                "parameters": [{
                    "name": CHALLENGE_HEADER,
                    "in": "header",
                    "required": True,
                    "description": f"the challenge from `GET {CHALLENGE_PATH}`, in hex",
                    "schema": {"type": "string",
                               "pattern": f"^[0-9a-f]{{{2 * CHALLENGE_BYTES}}}$"},
                }],
                "requestBody": {"required": True, "content": _SEALED_BODY},
                "responses": {
                    "200": {"description": "the sealed answer", "content": _SEALED_BODY},
                    "403": {"description": _REFUSED, "content": _TEXT},
                    "413": {
                        "description": f"the body is larger than {MAX_BODY} bytes (declared, "
                        "or found as it streams in)",
                        "content": _TEXT,
                    },
                },
            },
        },
        NOTICES_PATH: {
            "post": {
                "operationId": "syncNotices",
                "summary": "Key notices in, ours out: before a sync, so a key rotation or a "
                "revocation travels first.",
                "description": "Each notice is sealed on its own under the network key "
                "(`fieldkit/wire/key_notice.py`); one that opens under no key held is dropped "
                "and counted. The answer is this side's exchange key, the keys it pinned and "
                "the rotation and revocation notices it passes on.",
                # none: a side with nothing to pass on; over the limit: 413 (below)
                "requestBody": {"required": False, "content": _SEALED_BODY},
                "responses": {
                    "200": {"description": "the notices this side passes on, packed",
                            "content": _SEALED_BODY},
                    "400": {"description": "the body is not a list of notices",
                            "content": _TEXT},
                    "404": {"description": "a hub that passes on no key notices",
                            "content": _TEXT},
                    "413": {"description": f"more than {MAX_NOTICES_BODY} bytes of notices",
                            "content": _TEXT},
                },
            },
        },
    }  # fmt: skip


@dataclass(frozen=True)
class Guard:
    """What a server adds in front of the sync operations (the cloud: a hub's credential):
    the security scheme they require, and the refusals it answers before anything else."""

    scheme: str
    definition: Schema
    refusals: Mapping[str, str]


def _guarded(operation: Schema, guard: Guard) -> Schema:
    responses = dict(operation["responses"])
    for status, text in guard.refusals.items():
        if status in responses:  # the guard's refusal first: it is checked first
            text = f"{text}; or {responses[status]['description']}"
        responses[status] = {"description": text, "content": _TEXT}
    return {**operation, "security": [{guard.scheme: []}], "responses": responses}


def sync_openapi(paths: Mapping[str, Schema] | None = None, guard: Guard | None = None) -> Schema:
    """The document; ``paths`` add to it, ``guard`` requires its scheme on the sync operations
    (the cloud's)."""
    sync_paths = _paths()
    if guard is not None:
        sync_paths = {
            path: {method: _guarded(op, guard) for method, op in item.items()}
            for path, item in sync_paths.items()
        }
    document: Schema = {
        "openapi": "3.1.0",
        "info": {
            "title": "fieldkit hub-to-hub sync",
            "version": __version__,
            "description": "Two round trips between hubs (or a hub and the cloud), each "
            "under a fresh challenge, bodies sealed under the network key (ChaCha20-Poly1305 "
            "STREAM, a key per purpose by HKDF). Anyone may ask: without the key nothing "
            "can be read or written.",
        },
        "paths": {**sync_paths, **(paths or {})},
    }
    if guard is not None:
        document["components"] = {"securitySchemes": {guard.scheme: guard.definition}}
    return document


def method_not_allowed(allowed: str) -> Response:
    """The answer to a method a path does not serve: an ASGI app, so its route takes any."""
    return PlainTextResponse("method not allowed\n", 405, headers={"allow": allowed})


def sync_openapi_routes(document: Schema | None = None) -> list[BaseRoute]:
    """``document`` (the hubs' by default) at :data:`DOCUMENT_PATH`, and 405 for methods the
    sync paths do not serve (instead of the portal's redirect, which is for residents'
    browsers, or the console's pages). Listed after the routes of the sync operations."""
    document = document or sync_openapi()

    async def serve(request: Request) -> Response:
        return JSONResponse(document, headers={"cache-control": "no-cache"})

    return [  # after sync_routes: the methods they serve match there first
        Route(DOCUMENT_PATH, serve, methods=["GET"]),
        Route(CHALLENGE_PATH, method_not_allowed("GET, HEAD")),
        Route(SYNC_PATH, method_not_allowed("POST")),
        Route(NOTICES_PATH, method_not_allowed("POST")),
    ]
