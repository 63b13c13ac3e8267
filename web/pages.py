"""The resident pages: home, intake, thank-you, status (and cancel), board, "just browsing".

Server-rendered forms only: they work without JavaScript or cookies in a captive mini-browser.
The language travels in the URL (``?lang=es``) and in a hidden field.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from fieldkit.app.hub import Hub
from fieldkit.core.fold import Record
from fieldkit.core.records import Kind, Status, Urgency
from fieldkit.core.refcode import parse_code
from fieldkit.errors import FieldError, NotFound, ValidationError
from fieldkit.web.captive import Clients
from fieldkit.web.forms import (
    MAX_BODY,
    TOO_LARGE,
    BodyError,
    check_content_type,
    idempotency_key,
    parse_intake,
    parse_urlencoded,
)
from fieldkit.web.i18n import Language
from fieldkit.web.public import ELSEWHERE, public_area, public_counts
from fieldkit.web.ratelimit import RateLimiter
from fieldkit.web.render import N_, Renderer

HOME_NOTICES = 5
HOME_OFFERS = 10
BOARD_NOTICES = 10
BOARD_OFFERS = 20
NO_STORE = {"Cache-Control": "no-store"}
CANCELLABLE = (Status.OPEN, Status.MATCHED)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def read_form(request: Request) -> dict[str, str]:
    """The request's urlencoded body, refusing oversized, foreign and undecodable ones."""
    check_content_type(request.headers.get("content-type", ""))
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise TOO_LARGE
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY:
            raise TOO_LARGE
    return parse_urlencoded(bytes(body))


def new_token() -> str:
    return secrets.token_urlsafe(18)


_TOKEN_MARK = "TOKEN-PLACEHOLDER-0123456789"  # never a real token: those are base64url of 18


class ResidentPages:
    """Route handlers for one hub; every dependency comes in through the constructor."""

    def __init__(self, hub: Hub, renderer: Renderer, clients: Clients, writes: RateLimiter) -> None:
        self.hub = hub
        self.r = renderer
        self.clients = clients
        self.writes = writes
        self._blank_forms: dict[tuple[str, str, str], str] = {}

    def routes(self) -> list[Route]:
        return [
            Route("/", self.home, methods=["GET", "HEAD"]),
            Route("/intake", self.intake_form, methods=["GET", "HEAD"]),
            Route("/intake", self.intake_submit, methods=["POST"]),
            Route("/thanks", self.thanks, methods=["GET", "HEAD"]),
            Route("/status", self.status, methods=["GET", "HEAD"]),
            Route("/cancel", self.cancel, methods=["POST"]),
            Route("/board", self.board, methods=["GET", "HEAD"]),
            Route("/browse", self.browse, methods=["POST"]),
        ]

    # --- shared ---------------------------------------------------------------------------

    def emergency(self, lang: Language) -> str:
        """The hub's emergency line in ``lang`` (as written where it has none), or ""."""
        return self.r.config.emergency_line(lang.code)

    def message(
        self, request: Request, lang: Language, status: int, text: str, **extra: Any
    ) -> Response:
        return self.r.render(request, lang, "message.html", status, NO_STORE, text=text, **extra)

    def too_many(self, request: Request, lang: Language, retry_after: int) -> Response:
        return self.r.render(
            request, lang, "message.html", 429, {"Retry-After": str(retry_after), **NO_STORE},
            text=N_("You are sending a lot very quickly. Please wait a minute, then try again."),
        )  # fmt: skip

    async def _form(self, request: Request) -> tuple[Language, dict[str, str] | Response]:
        """The posted form and its language, or the page that explains why it can't be read."""
        lang = self.r.language(request)
        address = client_address(request)
        if not self.writes.allow(address):
            return lang, self.too_many(request, lang, self.writes.retry_after(address))
        try:
            form = await read_form(request)
        except BodyError as exc:
            return lang, self.message(request, lang, exc.status, exc.message)
        return self.r.language(request, form), form

    async def _board_context(self, area: str | None, notices: int, offers: int) -> dict[str, Any]:
        store = self.hub.store
        counts = await store.category_counts(Kind.NEED, Status.OPEN, area)
        return {
            "need_counts": public_counts(counts, self.r.areas),
            "public_area": lambda area: public_area(area, self.r.areas),
            "elsewhere": ELSEWHERE,
            "notices": await store.list_records(
                kind=Kind.NOTICE, status=Status.OPEN, area=area, limit=notices
            ),
            "offers": await store.list_records(
                kind=Kind.OFFER, status=Status.OPEN, area=area, limit=offers
            ),
        }

    # --- pages ----------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        lang = self.r.language(request)
        context = await self._board_context(None, HOME_NOTICES, HOME_OFFERS)
        return self.r.render(request, lang, "home.html", emergency=self.emergency(lang), **context)

    async def board(self, request: Request) -> Response:
        lang = self.r.language(request)
        area = request.query_params.get("area") or None
        if area is not None and area not in self.r.areas:
            area = None
        context = await self._board_context(area, BOARD_NOTICES, BOARD_OFFERS)
        return self.r.render(request, lang, "board.html", area=area, **context)

    async def intake_form(self, request: Request) -> Response:
        lang = self.r.language(request)
        kind = request.query_params.get("kind", "")
        if kind not in (Kind.NEED, Kind.OFFER):
            return RedirectResponse(f"/?lang={lang.code}", status_code=303)
        if not set(request.query_params) <= {"kind", "lang"}:
            form = {"kind": kind, "token": new_token()}
            return self.r.render(request, lang, "intake.html", form=form, errors={})
        # The blank form is the page residents load most: render it once per language and
        # kind, and give each copy its own one-time token.
        key = (lang.code, kind, request.query_params.get("lang", ""))
        blank = self._blank_forms.get(key)
        if blank is None:
            form = {"kind": kind, "token": _TOKEN_MARK}
            page = self.r.render(request, lang, "intake.html", form=form, errors={})
            blank = self._blank_forms[key] = bytes(page.body).decode()
        return HTMLResponse(blank.replace(_TOKEN_MARK, new_token()))

    async def intake_submit(self, request: Request) -> Response:
        lang, form = await self._form(request)
        if isinstance(form, Response):
            return form
        if not idempotency_key(form):
            form = {**form, "token": new_token()}
        try:
            draft = parse_intake(form, self.r.areas, lang.code)
        except ValidationError as exc:
            if form.get("kind") not in (Kind.NEED, Kind.OFFER):
                form = {**form, "kind": Kind.NEED}
            return self.r.render(
                request, lang, "intake.html", 400, form=form, errors=exc.by_field()
            )
        done = await self.hub.submit(draft, idempotency_key(form))
        self.clients.release(client_address(request))
        url = f"/thanks?ref={done.record.ref}&lang={lang.code}"
        return RedirectResponse(url, status_code=303)

    async def _lookup(self, text: str) -> tuple[str | None, list[Record]]:
        ref = parse_code(text)
        if ref is None:
            return None, []
        found = await self.hub.store.find_by_ref(ref)
        return ref, [r for r in found if r.kind in (Kind.NEED, Kind.OFFER)]

    async def thanks(self, request: Request) -> Response:
        lang = self.r.language(request)
        ref, records = await self._lookup(request.query_params.get("ref", ""))
        if not records:
            return RedirectResponse(f"/status?lang={lang.code}", status_code=303)
        record = records[0]
        return self.r.render(
            request, lang, "thanks.html", headers=NO_STORE, ref=ref, record=record,
            urgent=record.kind is Kind.NEED and record.urgency is Urgency.CRITICAL,
            emergency=self.emergency(lang),
        )  # fmt: skip

    async def status(self, request: Request) -> Response:
        lang = self.r.language(request)
        typed = request.query_params.get("ref", "")[:40]
        error: FieldError | None = None
        ref, records = (None, []) if not typed else await self._lookup(typed)
        if typed and ref is None:
            error = FieldError(
                "ref", "bad_code", "A code has six letters and digits, like 7KQ-4XD."
            )
        elif typed and not records:
            error = FieldError(
                "ref", "unknown_code",
                "No request with code %(ref)s has reached this hub yet. Check the code, or try "
                "again later: news travels between hubs slowly.", {"ref": str(ref)},
            )  # fmt: skip
        return self.r.render(
            request, lang, "status.html", 404 if error and ref else 400 if error else 200,
            NO_STORE, typed=typed, ref=ref, records=records, error=error,
            cancellable=CANCELLABLE,
        )  # fmt: skip

    async def cancel(self, request: Request) -> Response:
        lang, form = await self._form(request)
        if isinstance(form, Response):
            return form
        ref, records = await self._lookup(form.get("ref", ""))
        record = next((r for r in records if str(r.id) == form.get("record", "")), None)
        if ref is None or record is None:
            return self.message(request, lang, 404, N_("We could not find that request."))
        if record.status not in CANCELLABLE:
            return RedirectResponse(f"/status?ref={ref}&lang={lang.code}", status_code=303)
        if form.get("confirm") != "yes":
            return self.r.render(
                request, lang, "cancel.html", headers=NO_STORE, ref=ref, record=record
            )
        try:
            await self.hub.set_status(record.id, Status.CANCELLED)
        except NotFound:
            return self.message(request, lang, 404, N_("We could not find that request."))
        return RedirectResponse(f"/status?ref={ref}&lang={lang.code}", status_code=303)

    async def browse(self, request: Request) -> Response:
        lang, form = await self._form(request)
        if isinstance(form, Response):
            return form
        self.clients.release(client_address(request))
        return RedirectResponse(f"/board?lang={lang.code}", status_code=303)
