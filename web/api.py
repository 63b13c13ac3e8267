"""The JSON API under ``/api/v1/``: the console's actions for programs.

Mounted in the coordinator console's app (:mod:`fieldkit.web.console.app`), so it is served
only over HTTPS on the console's port; on the residents' plain-HTTP port ``/api/v1/…``
answers 403 (:func:`plain_port_routes`). Every request but the OpenAPI document's carries
``Authorization: Bearer TOKEN`` (:mod:`fieldkit.app.tokens`); the token's name is the
coordinator the audit trail records. Routes, parameters and bodies come from the one
declaration in :mod:`fieldkit.web.api_spec`, which is also the served OpenAPI document.

Every answer is JSON, errors included (``{"error", "message", "field", "fields"}``), never
a redirect or a page. Requests are rate-limited per token; requests without a valid token
per client address. Records carry their private fields, as the console shows them to a
signed-in coordinator.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from fieldkit.app.config import Config
from fieldkit.app.coordinator import post_notice, record_json, record_with_history
from fieldkit.app.hub import Hub
from fieldkit.app.tokens import token_owner
from fieldkit.core.fields import Category, Kind, Status
from fieldkit.core.fold import Record
from fieldkit.core.matching import Suggestion
from fieldkit.core.ops import Op, RecordId, hub_name
from fieldkit.core.records import STATUS_MOVES, clean_text
from fieldkit.errors import FieldError, FieldkitError, NotFound, ValidationError
from fieldkit.web.api_spec import (
    OPENAPI_PATH,
    OPERATIONS,
    PREFIX,
    Operation,
    check,
    check_body,
    openapi,
    query_value,
)
from fieldkit.web.console.reasons import reason_text
from fieldkit.web.i18n import Language, choose_language
from fieldkit.web.pages import client_address
from fieldkit.web.ratelimit import RateLimiter
from fieldkit.web.render import N_, Renderer

MAX_BODY = 16 * 1024
JSON_TYPE = "application/json"
Suggest = Callable[[Record], Awaitable[list[Suggestion]]]


@dataclass
class ApiLimits:
    """Requests a token may make (``burst`` at once, refilled at ``per_second``), and
    requests with a missing or unknown token a client address may make."""

    per_token: RateLimiter = field(default_factory=lambda: RateLimiter(burst=120, per_second=4))
    unknown: RateLimiter = field(default_factory=lambda: RateLimiter(burst=30, per_second=1))


class ApiError(FieldkitError):
    """An answer other than success: its status, a code for programs, a message for people."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        fields: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.fields = tuple(fields)
        self.headers = dict(headers or {})

    def response(self, lang: Language | None = None) -> Response:
        say = lang.gettext if lang is not None else (lambda text: text)
        body: dict[str, Any] = {"error": self.error, "message": say(self.message)}
        if self.fields:
            body["message"] = "; ".join(f"{e.field}: {e.render(say)}" for e in self.fields)
            body["field"] = self.fields[0].field
            body["fields"] = [
                {"field": e.field, "code": e.code, "message": e.render(say)} for e in self.fields
            ]
        return JSONResponse(body, self.status, headers={**self.headers, **NO_STORE})


NO_STORE = {"cache-control": "no-store"}


def invalid(errors: Sequence[FieldError]) -> ApiError:
    return ApiError(422, "invalid", "invalid", errors)


def conflict(errors: Sequence[FieldError]) -> ApiError:
    """Well-formed, but the records as they stand do not allow it."""
    return ApiError(409, "conflict", "conflict", errors)


@dataclass(frozen=True)
class Call:
    """One authenticated request: who made it (the token's name), its checked parameters
    and body, and the language its messages are in."""

    by: str
    params: dict[str, Any]
    body: dict[str, Any]
    lang: Language


class Api:
    """The API of one hub; every dependency comes in through the constructor."""

    def __init__(
        self,
        hub: Hub,
        config: Config,
        renderer: Renderer,
        suggest: Suggest,
        limits: ApiLimits | None = None,
    ) -> None:
        self.hub = hub
        self.config = config
        self.r = renderer
        self.suggest = suggest
        self.limits = limits or ApiLimits()
        self.document = openapi()
        self.areas = {area.id: area.name for area in config.areas}
        self.handlers: dict[str, Callable[[Request, Call], Awaitable[Response]]] = {
            "listRecords": self.list_records,
            "getRecord": self.get_record,
            "getSuggestions": self.get_suggestions,
            "createMatch": self.create_match,
            "setStatus": self.set_status,
            "redactRecord": self.redact,
            "postNotice": self.post_notice,
        }

    def language(self, request: Request) -> Language:
        return choose_language(None, request.headers.get("accept-language", ""), self.r.languages)

    # --- the app ------------------------------------------------------------------------------

    def app(self) -> Starlette:
        routes: list[BaseRoute] = [Route(OPENAPI_PATH, self.openapi, methods=["GET"])]
        routes += [Route(op.path, self._endpoint(op), methods=[op.method.upper()])
                   for op in OPERATIONS]  # fmt: skip

        async def server_error(request: Request, exc: Exception) -> Response:
            return ApiError(500, "server_error", N_("Something went wrong on this hub.")).response()

        handlers: dict[int | type[Exception], Callable[[Request, Exception], Awaitable[Response]]]
        handlers = {HTTPException: self.http_error, 500: server_error}
        return Starlette(routes=routes, exception_handlers=handlers)

    async def http_error(self, request: Request, exc: Exception) -> Response:
        """Starlette's errors (no such path, method) as the API's JSON errors; the console
        answers with it too for a path under the API's prefix that its mount did not take
        (Starlette's mount does not match a path holding a newline)."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        headers = getattr(exc, "headers", None) or {}
        if status == 404:
            error = ApiError(404, "not_found", N_("There is no such path in the API."))
        elif status == 405:
            error = ApiError(405, "method_not_allowed", N_("That method is not served here."),
                             headers=headers)  # fmt: skip
        else:
            error = ApiError(status, "http_error", str(getattr(exc, "detail", "")))
        return error.response(self.language(request))

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(self.document, headers={"cache-control": "no-cache"})

    def _endpoint(self, op: Operation) -> Callable[[Request], Awaitable[Response]]:
        handler = self.handlers[op.operation_id]

        async def endpoint(request: Request) -> Response:
            lang = self.language(request)
            try:
                by = await self.authenticate(request)
                params = self._params(op, request)
                body = await self._body(op, request)
                return await handler(request, Call(by, params, body, lang))
            except ApiError as error:
                return error.response(lang)

        return endpoint

    # --- authentication and limits ------------------------------------------------------------

    async def authenticate(self, request: Request) -> str:
        """The token's name, or :class:`ApiError` (401, or 429 past a rate limit)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        name = None
        if scheme.lower() == "bearer" and token.strip():
            name = await token_owner(self.hub.store, token.strip())
        if name is None:
            address = client_address(request)
            if not self.limits.unknown.allow(address):
                raise self._too_many(self.limits.unknown, address)
            challenge = 'Bearer realm="fieldkit"'
            if token.strip():
                challenge += ', error="invalid_token"'
                message = N_("This token is not known here: it was revoked or mistyped.")
            else:
                message = N_("Send a token: Authorization: Bearer TOKEN (fieldkit token create).")
            raise ApiError(401, "unauthorized", message, headers={"www-authenticate": challenge})
        if not self.limits.per_token.allow(name):
            raise self._too_many(self.limits.per_token, name)
        return name

    def _too_many(self, limiter: RateLimiter, key: str) -> ApiError:
        wait = limiter.retry_after(key)
        return ApiError(
            429, "rate_limited", N_("Too many requests with this token: wait, then try again."),
            headers={"retry-after": str(max(wait, 1))},
        )  # fmt: skip

    # --- what comes in --------------------------------------------------------------------

    def _params(self, op: Operation, request: Request) -> dict[str, Any]:
        declared = {p.name: p for p in op.params}
        errors: list[FieldError] = []
        values: dict[str, Any] = {}
        seen: set[str] = set()
        for name, text in request.query_params.multi_items():
            param = declared.get(name)
            if param is None or param.where != "query":
                errors.append(FieldError(name, "unknown_parameter", "There is no such parameter."))
            elif name in seen:
                errors.append(FieldError(name, "repeated", "Give this parameter once."))
            else:
                seen.add(name)
                values[name] = query_value(param.schema, text)
        for param in op.params:
            if param.where == "path":
                values[param.name] = request.path_params[param.name]
            if param.name in values:
                errors.extend(check(param.schema, values[param.name], param.name))
            elif "default" in param.schema:
                values[param.name] = param.schema["default"]
        if errors:
            raise invalid(errors)
        return values

    async def _body(self, op: Operation, request: Request) -> dict[str, Any]:
        if op.body is None:
            return {}
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != JSON_TYPE:
            raise ApiError(415, "unsupported_media_type", N_("Send the body as application/json."))
        declared = request.headers.get("content-length", "")
        too_large = ApiError(413, "too_large", N_("The body is too large."))
        if declared.isdecimal() and int(declared) > MAX_BODY:
            raise too_large
        raw = bytearray()
        async for chunk in request.stream():
            raw.extend(chunk)
            if len(raw) > MAX_BODY:
                raise too_large
        try:
            data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
        except (UnicodeDecodeError, ValueError):
            raise ApiError(400, "bad_json", N_("The body is not JSON (UTF-8).")) from None
        errors = check_body(op.body, data)
        if errors:
            raise invalid(errors)
        assert isinstance(data, dict)
        return data

    async def _record(self, text: str, field_name: str = "id") -> Record:
        rid = RecordId.parse(text)  # the declared pattern was checked: this parses
        found = await self.hub.store.get(rid)
        if found is None:
            message = N_("No record %(id)s on this hub.")
            error = FieldError(field_name, "not_found", message, {"id": str(rid)})
            raise ApiError(404, "not_found", message, [error])
        return found

    # --- the operations ---------------------------------------------------------------------

    async def list_records(self, request: Request, call: Call) -> Response:
        p = call.params
        limit, offset = p["limit"], p["offset"]
        records = await self.hub.store.list_records(
            kind=Kind(p["kind"]) if "kind" in p else None,
            status=Status(p["status"]) if "status" in p else None,
            category=Category(p["category"]) if "category" in p else None,
            area=p.get("area") or None,
            origin=int(p["origin"], 16) if "origin" in p else None,
            text=p.get("text") or None,
            limit=limit + 1,
            offset=offset,
        )
        more = len(records) > limit
        return _json({"records": [record_json(r) for r in records[:limit]],
                      "next_offset": offset + limit if more else None})  # fmt: skip

    async def get_record(self, request: Request, call: Call) -> Response:
        record = await self._record(call.params["id"])
        try:
            return _json(await record_with_history(self.hub, record.id))
        except NotFound:  # redacted or gone between the two reads: not here any more
            raise ApiError(404, "not_found", N_("No such record on this hub.")) from None

    async def get_suggestions(self, request: Request, call: Call) -> Response:
        record = await self._record(call.params["id"])
        offered = record.kind is Kind.NEED
        found = await self.suggest(record)
        return _json({
            "record": str(record.id),
            "suggestions": [{
                "record": record_json(s.record),
                "reason": {
                    "nearness": s.reason.nearness.name.lower(),
                    "coverage": s.reason.coverage.name.lower(),
                    "covers": s.reason.covers, "wanted": s.reason.wanted,
                    "unit": s.reason.unit.value if s.reason.unit else None,
                    "age_ms": s.reason.age_ms,
                },
                "reason_text": reason_text(s.reason, call.lang.gettext, offered=offered),
                "remaining": s.remaining,
            } for s in found],
        })  # fmt: skip

    async def create_match(self, request: Request, call: Call) -> Response:
        need = await self._record(call.body["need"], "need")
        offer = await self._record(call.body["offer"], "offer")
        errors = []
        if need.kind is not Kind.NEED:
            errors.append(FieldError("need", "not_a_need", "This record is not a need."))
        if offer.kind is not Kind.OFFER:
            errors.append(FieldError("offer", "not_an_offer", "This record is not an offer."))
        if errors:
            raise conflict(errors)
        message = clean_text(call.body.get("message", ""))
        op = await self.hub.match(need.id, offer.id, message, by=call.by)
        return await self._changed(op, [need.id, offer.id], 201)

    async def set_status(self, request: Request, call: Call) -> Response:
        record = await self._record(call.params["id"])
        status = Status(call.body["status"])
        if record.status not in STATUS_MOVES[status]:
            message = N_("This record is %(status)s: it cannot be marked %(action)s.")
            params = {"status": record.status.value, "action": status.value}
            raise conflict([FieldError("status", "not_from_here", message, params)])
        message = clean_text(call.body.get("message", ""))
        op = await self.hub.set_status(record.id, status, message, by=call.by)
        return await self._changed(op, [record.id])

    async def redact(self, request: Request, call: Call) -> Response:
        record = await self._record(call.params["id"])
        op = await self.hub.redact(record.id, by=call.by)
        return await self._changed(op, [record.id])

    async def post_notice(self, request: Request, call: Call) -> Response:
        b = call.body
        try:
            record = await post_notice(
                self.hub, b["category"], b["area"], b["text"], by=call.by, areas=self.areas
            )
        except ValidationError as exc:
            raise invalid(exc.errors) from None
        return _json(record_json(record), 201)

    async def _changed(self, op: Op, records: list[RecordId], status: int = 200) -> Response:
        now = [r for r in [await self.hub.store.get(rid) for rid in records] if r is not None]
        body = {"op": f"{hub_name(op.origin)}-{op.seq}", "records": [record_json(r) for r in now]}
        return _json(body, status)


def _json(body: Any, status: int = 200) -> Response:
    return JSONResponse(body, status, headers=NO_STORE)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def plain_port_routes(console_port: int) -> list[BaseRoute]:
    """On the residents' plain-HTTP port: ``/api/v1/…`` is refused (403, JSON), so a program
    pointed at the wrong port learns where the API is instead of meeting the portal; the token
    it may have sent has crossed the open Wi-Fi in clear, so it is told to revoke it."""

    async def refuse(request: Request) -> Response:
        return ApiError(
            403, "https_only",
            f"The API is served only over HTTPS on the console's port ({console_port}). If this "
            "request carried a token, it crossed the network in clear: revoke it "
            "(fieldkit token revoke NAME) and make a new one.",
        ).response()  # fmt: skip

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
    return [Route(PREFIX, refuse, methods=methods),
            Route(PREFIX + "/{path:path}", refuse, methods=methods)]  # fmt: skip
