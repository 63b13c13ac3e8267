"""The resident pages: home, intake, thank-you, status (and cancel), board, "just browsing".

Server-rendered forms only: they work without JavaScript or cookies in a captive mini-browser.
The language travels in the URL (``?lang=es``) and in a hidden field.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from fieldkit.app.hub import Hub
from fieldkit.core.fold import Record
from fieldkit.core.freshness import on_board
from fieldkit.core.matching import SERVING
from fieldkit.core.ops import RecordId
from fieldkit.core.records import Kind, Status, Urgency
from fieldkit.core.refcode import Reading, display_code, read_code
from fieldkit.errors import FieldError, NotFound, ValidationError
from fieldkit.web.captive import Clients
from fieldkit.web.forms import (
    MAX_BODY,
    TOO_LARGE,
    BodyError,
    FormTokens,
    check_content_type,
    idempotency_key,
    parse_intake,
    parse_urlencoded,
    same_origin,
)
from fieldkit.web.i18n import Language
from fieldkit.web.lookups import FailedLookups
from fieldkit.web.public import ELSEWHERE, public_area, public_counts
from fieldkit.web.ratelimit import RateLimiter
from fieldkit.web.render import N_, Renderer

log = logging.getLogger(__name__)

HOME_NOTICES = 5
HOME_OFFERS = 10
BOARD_NOTICES = 10
BOARD_OFFERS = 20
NO_STORE = {"Cache-Control": "no-store"}
CANCELLABLE = (Status.OPEN, Status.MATCHED)
FOREIGN_FORM = N_("This form can only be sent from this hub's own page.")
STALE_FORM = N_(
    "This page was open for a long time, or did not come from this hub. Please go back, "
    "reload the page and try again."
)


OFFER_GONE = N_("That offer is no longer on the board. Ask for what you need with the form.")
STILL_NEEDED_THANKS = N_("Thank you: the coordinators know it is still needed.")
#: Notices read beyond a board's count, so expired ones still leave the board full.
EXPIRED_SLACK = 20


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def read_form(request: Request) -> dict[str, str]:
    """The request's urlencoded body, refusing oversized, foreign and undecodable ones."""
    check_content_type(request.headers.get("content-type", ""))
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > MAX_BODY:
        raise TOO_LARGE
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY:
            raise TOO_LARGE
    return parse_urlencoded(bytes(body))


def new_token() -> str:
    """A random URL-safe token (the console's own use; resident forms carry signed ones)."""
    return secrets.token_urlsafe(18)


_TOKEN_MARK = "TOKEN-PLACEHOLDER-0123456789"  # never a real token: those are signed
#: How long the thank-you page can be opened again (its address holds a receipt, not the code).
RECEIPT_S = 1800.0
MAX_RECEIPTS = 10_000


async def no_icon(request: Request) -> Response:
    """The hub has no icon: say so briefly, instead of sending the whole home page."""
    return Response(status_code=404, headers={"Cache-Control": "max-age=86400"})


class ResidentPages:
    """Route handlers for one hub; every dependency comes in through the constructor."""

    def __init__(
        self,
        hub: Hub,
        renderer: Renderer,
        clients: Clients,
        writes: RateLimiter,
        *,
        tokens: FormTokens | None = None,
        lookups: FailedLookups | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.hub = hub
        self.r = renderer
        self.clients = clients
        self.writes = writes
        self.tokens = tokens or FormTokens(secrets.token_bytes(32))
        self.lookups = lookups or FailedLookups()
        self._clock = clock
        self._blank_forms: dict[tuple[str, str, str], str] = {}
        self._receipts: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._receipt_of: dict[str, str] = {}

    def routes(self) -> list[Route]:
        return [
            Route("/", self.home, methods=["GET", "HEAD"]),
            Route("/intake", self.intake_form, methods=["GET", "HEAD"]),
            Route("/intake", self.intake_submit, methods=["POST"]),
            Route("/thanks", self.thanks, methods=["GET", "HEAD"]),
            Route("/status", self.status_form, methods=["GET", "HEAD"]),
            Route("/status", self.status, methods=["POST"]),
            Route("/cancel", self.cancel, methods=["POST"]),
            Route("/still-needed", self.still_needed, methods=["POST"]),
            Route("/erase", self.erase, methods=["POST"]),
            Route("/board", self.board, methods=["GET", "HEAD"]),
            Route("/privacy", self.privacy, methods=["GET", "HEAD"]),
            Route("/favicon.ico", no_icon, methods=["GET", "HEAD"]),
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

    async def _form(
        self, request: Request, *, token: bool = True
    ) -> tuple[Language, dict[str, str] | Response]:
        """The posted form and its language, or the page that explains why it can't be taken:
        too many posts, a foreign Origin, an unreadable body, or (unless ``token`` is False:
        the caller answers that itself) a missing or forged token."""
        lang = self.r.language(request)
        address = client_address(request)
        if not self.writes.allow(address):
            return lang, self.too_many(request, lang, self.writes.retry_after(address))
        if not same_origin(request.headers.get("origin"), request.headers.get("host", "")):
            return lang, self.message(request, lang, 403, FOREIGN_FORM)
        try:
            form = await read_form(request)
        except BodyError as exc:
            return lang, self.message(request, lang, exc.status, exc.message)
        lang = self.r.language(request, form)
        if token and not self.tokens.valid(form.get("token", "")):
            return lang, self.message(request, lang, 400, STALE_FORM)
        return lang, form

    def _lookup_wait(self, request: Request, lang: Language) -> Response | None:
        """The page that says to wait, for a client that failed too many lookups."""
        wait = self.lookups.wait(client_address(request))
        if not wait:
            return None
        minutes = max(1, (wait + 59) // 60)
        return self.r.render(
            request, lang, "message.html", 429, {"Retry-After": str(wait), **NO_STORE},
            text=N_("Too many codes did not match. Please wait %(minutes)d min, check the code "
                    "on your paper, and try again."),
            values={"minutes": minutes},
        )  # fmt: skip

    async def _board_context(self, area: str | None, notices: int, offers: int) -> dict[str, Any]:
        store = self.hub.store
        counts = await store.category_counts(Kind.NEED, Status.OPEN, area)
        return {
            "need_counts": public_counts(counts, self.r.areas),
            "public_area": lambda area: public_area(area, self.r.areas),
            "elsewhere": ELSEWHERE,
            # withdrawn notices are cancelled (not listed); expired ones leave the board too
            "notices": [
                n
                for n in await store.list_records(
                    kind=Kind.NOTICE, status=Status.OPEN, area=area, limit=notices + EXPIRED_SLACK
                )
                if on_board(n, self.hub.wall())
            ][:notices],
            "offers": await store.list_records(
                kind=Kind.OFFER, status=Status.OPEN, area=area, limit=offers
            ),
        }

    # --- pages ----------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        lang = self.r.language(request)
        context = await self._board_context(None, HOME_NOTICES, HOME_OFFERS)
        return self.r.render(
            request, lang, "home.html", emergency=self.emergency(lang), token=self.tokens.new(),
            **context,
        )  # fmt: skip

    async def board(self, request: Request) -> Response:
        lang = self.r.language(request)
        area = request.query_params.get("area") or None
        if area is not None and area not in self.r.areas:
            area = None
        context = await self._board_context(area, BOARD_NOTICES, BOARD_OFFERS)
        return self.r.render(request, lang, "board.html", area=area, **context)

    async def privacy(self, request: Request) -> Response:
        return self.r.render(request, self.r.language(request), "privacy.html")

    async def intake_form(self, request: Request) -> Response:
        lang = self.r.language(request)
        kind = request.query_params.get("kind", "")
        if kind not in (Kind.NEED, Kind.OFFER):
            return RedirectResponse(f"/?lang={lang.code}", status_code=303)
        if kind == Kind.NEED and request.query_params.get("offer"):
            return await self._want_form(request, lang, request.query_params["offer"])
        if not set(request.query_params) <= {"kind", "lang"}:
            form = {"kind": kind, "token": self.tokens.new()}
            return self.r.render(request, lang, "intake.html", form=form, errors={})
        # The blank form is the page residents load most: render it once per language and
        # kind, and give each copy its own one-time token.
        key = (lang.code, kind, request.query_params.get("lang", ""))
        blank = self._blank_forms.get(key)
        if blank is None:
            form = {"kind": kind, "token": _TOKEN_MARK}
            page = self.r.render(request, lang, "intake.html", form=form, errors={})
            blank = self._blank_forms[key] = bytes(page.body).decode()
        return HTMLResponse(blank.replace(_TOKEN_MARK, self.tokens.new()))

    async def _wanted(self, text: str) -> Record | None:
        """The open offer a resident asks for ("I'd like this"), or None."""
        try:
            offer = await self.hub.store.get(RecordId.parse(text))
        except ValueError:
            return None
        if offer is None or offer.kind is not Kind.OFFER or offer.status not in SERVING:
            return None
        return offer

    async def _want_form(self, request: Request, lang: Language, text: str) -> Response:
        """The need form for "I'd like this": the offer's category and area filled in."""
        offer = await self._wanted(text)
        if offer is None:
            return self.message(request, lang, 404, OFFER_GONE)
        form = {"kind": Kind.NEED.value, "token": self.tokens.new(), "offer": str(offer.id),
                "category": offer.category.value}  # fmt: skip
        if offer.area in self.r.areas:
            form["area"] = offer.area
        return self.r.render(request, lang, "intake.html", form=form, errors={}, wanted=offer)

    async def intake_submit(self, request: Request) -> Response:
        lang, form = await self._form(request, token=False)
        if isinstance(form, Response):
            return form
        shown = form  # what the page shows again: always a need or an offer form
        if form.get("kind") not in (Kind.NEED, Kind.OFFER):
            shown = {**form, "kind": Kind.NEED}
        switch = self.r.languages.get(form.get("switch", ""))
        if switch is not None:
            lang = switch  # the language switcher of a filled-in form: same answers, new words
        again = "intake-form"  # the language switcher sends this form along
        if not self.tokens.valid(form.get("token", "")):
            # Nothing typed is lost: the same form again, with a fresh token, to send again.
            shown = {**shown, "token": self.tokens.new()}
            return self.r.render(
                request,
                lang,
                "intake.html",
                400,
                form=shown,
                errors={},
                stale=True,
                switch_form=again,
            )
        try:
            draft = parse_intake(form, self.r.areas, lang.code)
        except ValidationError as exc:
            return self.r.render(
                request,
                lang,
                "intake.html",
                400,
                form=shown,
                errors=exc.by_field(),
                switch_form=again,
            )
        if switch is not None:  # all answered, but not sent: that is the Send button's job
            return self.r.render(
                request, lang, "intake.html", form=shown, errors={}, switch_form=again
            )
        try:
            if form.get("offer") and draft.kind is Kind.NEED:  # "I'd like this"
                offer = await self._wanted(form["offer"])
                if offer is None:
                    return self.message(request, lang, 404, OFFER_GONE)
                try:
                    done = await self.hub.want_offer(offer.id, draft, idempotency_key(form))
                except NotFound:
                    return self.message(request, lang, 404, OFFER_GONE)
            else:
                done = await self.hub.submit(draft, idempotency_key(form))
        except Exception as exc:  # a full disk, a failing card: not stored
            # Never "thank you" for what is not stored. The same form comes back with the
            # same token, so sending it again stores it once, even if it was stored after all.
            log.error("a submission was not saved: %s", exc)
            return self.r.render(
                request, lang, "intake.html", 503, {"Retry-After": "60", **NO_STORE},
                form=shown, errors={}, not_saved=True, switch_form=again,
            )  # fmt: skip
        self.clients.release(client_address(request))
        url = f"/thanks?receipt={self._receipt(done.record.ref)}&lang={lang.code}"
        return RedirectResponse(url, status_code=303)

    def _receipt(self, ref: str) -> str:
        """A short-lived name for the thank-you page, so its address does not hold the code."""
        now = self._clock()
        while self._receipts and (
            len(self._receipts) >= MAX_RECEIPTS
            or next(iter(self._receipts.values()))[1] < now - RECEIPT_S
        ):
            _, (old, _) = self._receipts.popitem(last=False)
            self._receipt_of.pop(old, None)
        receipt = self._receipt_of.get(ref)  # the same form sent twice: the same page
        if receipt is None:
            receipt = self._receipt_of[ref] = secrets.token_urlsafe(12)
            self._receipts[receipt] = (ref, now)
        return receipt

    async def _records(self, ref: str) -> list[Record]:
        found = await self.hub.store.find_by_ref(ref)
        return [r for r in found if r.kind in (Kind.NEED, Kind.OFFER)]

    async def thanks(self, request: Request) -> Response:
        lang = self.r.language(request)
        held = self._receipts.get(request.query_params.get("receipt", ""))
        fresh = held is not None and held[1] >= self._clock() - RECEIPT_S
        records = await self._records(held[0]) if held is not None and fresh else []
        if not records:
            return RedirectResponse(f"/status?lang={lang.code}", status_code=303)
        ref = display_code(records[0].ref)
        record = records[0]
        return self.r.render(
            request, lang, "thanks.html", headers=NO_STORE, ref=ref, record=record,
            urgent=record.kind is Kind.NEED and record.urgency is Urgency.CRITICAL,
            emergency=self.emergency(lang), token=self.tokens.new(),
        )  # fmt: skip

    def _status_page(
        self, request: Request, lang: Language, status: int = 200, *, typed: str = "",
        records: Sequence[Record] = (), error: FieldError | None = None, thanked: str = "",
        erased: RecordId | None = None,
    ) -> Response:  # fmt: skip
        ref = display_code(records[0].ref) if records else None
        return self.r.render(
            request, lang, "status.html", status, NO_STORE, typed=typed, ref=ref,
            records=records, error=error, cancellable=CANCELLABLE, token=self.tokens.new(),
            thanked=thanked, erased=erased,
        )  # fmt: skip

    async def status_form(self, request: Request) -> Response:
        lang = self.r.language(request)
        typed = request.query_params.get("ref", "")[:40]  # an old link: filled in, not looked up
        return self._status_page(request, lang, typed=typed)

    async def _find(self, request: Request, lang: Language, typed: str) -> list[Record] | Response:
        """The records of a typed code, or the status page that says why there are none."""
        code = read_code(typed)
        if code.reading is Reading.MALFORMED or code.ref is None:
            error = FieldError(
                "ref", "bad_code", "A code has seven letters and digits, like 7KQ-4XDP."
            )
            if code.reading is Reading.TYPO:
                error = FieldError("ref", "typo", "This code has a typo — check it.")
            return self._status_page(request, lang, 400, typed=typed, error=error)
        wait = self._lookup_wait(request, lang)
        if wait is not None:
            return wait
        records = await self._records(code.ref)
        if not records:
            self.lookups.failed(client_address(request))
            error = FieldError(
                "ref", "unknown_code",
                "No request with code %(ref)s has reached this hub yet. Check the code, or try "
                "again later: news travels between hubs slowly.", {"ref": typed.strip().upper()},
            )  # fmt: skip
            return self._status_page(request, lang, 404, typed=typed, error=error)
        return records

    async def _posted_lookup(
        self, request: Request
    ) -> tuple[Language, dict[str, str], str, list[Record]] | Response:
        """A posted form's code, looked up: the form, the code as typed and its records, or
        the page that answers instead (a bad form, a typo, an unknown code)."""
        lang, form = await self._form(request)
        if isinstance(form, Response):
            return form
        typed = form.get("ref", "")[:40]
        found = await self._find(request, lang, typed)
        if isinstance(found, Response):
            return found
        return lang, form, typed, found

    async def status(self, request: Request) -> Response:
        looked_up = await self._posted_lookup(request)
        if isinstance(looked_up, Response):
            return looked_up
        lang, _, typed, found = looked_up
        return self._status_page(request, lang, typed=typed, records=found)

    async def cancel(self, request: Request) -> Response:
        looked_up = await self._posted_lookup(request)
        if isinstance(looked_up, Response):
            return looked_up
        lang, form, typed, found = looked_up
        record = next((r for r in found if str(r.id) == form.get("record", "")), None)
        if record is None:
            return self.message(request, lang, 404, N_("We could not find that request."))
        if record.status in CANCELLABLE and form.get("confirm") != "yes":
            return self.r.render(
                request, lang, "cancel.html", headers=NO_STORE, ref=display_code(record.ref),
                record=record, token=self.tokens.new(),
            )  # fmt: skip
        if record.status in CANCELLABLE:
            try:
                await self.hub.set_status(record.id, Status.CANCELLED)
            except NotFound:
                return self.message(request, lang, 404, N_("We could not find that request."))
        return self._status_page(
            request, lang, typed=typed, records=await self._records(record.ref)
        )

    async def still_needed(self, request: Request) -> Response:
        """A resident's answer with their code: still needed, or no longer needed."""
        looked_up = await self._posted_lookup(request)
        if isinstance(looked_up, Response):
            return looked_up
        lang, form, typed, found = looked_up
        record = next((r for r in found if str(r.id) == form.get("record", "")), None)
        answer = form.get("answer", "")
        if record is None or record.kind is not Kind.NEED or answer not in ("yes", "no"):
            return self.message(request, lang, 404, N_("We could not find that request."))
        thanked = ""
        if record.status is Status.OPEN:
            try:
                await self.hub.confirm(record.id, answer == "yes")
            except NotFound:
                return self.message(request, lang, 404, N_("We could not find that request."))
            thanked = STILL_NEEDED_THANKS if answer == "yes" else ""
        return self._status_page(
            request, lang, typed=typed, records=await self._records(record.ref), thanked=thanked
        )

    async def erase(self, request: Request) -> Response:
        """A resident, with their code, has their contact details and note erased at once: a
        redaction, which travels to every hub and the cloud."""
        looked_up = await self._posted_lookup(request)
        if isinstance(looked_up, Response):
            return looked_up
        lang, form, typed, found = looked_up
        record = next((r for r in found if str(r.id) == form.get("record", "")), None)
        if record is None:
            return self.message(request, lang, 404, N_("We could not find that request."))
        if not record.redacted:
            try:
                await self.hub.redact(record.id)
            except NotFound:
                return self.message(request, lang, 404, N_("We could not find that request."))
        return self._status_page(
            request, lang, typed=typed, records=await self._records(record.ref), erased=record.id
        )

    async def browse(self, request: Request) -> Response:
        lang, form = await self._form(request)
        if isinstance(form, Response):
            return form
        self.clients.release(client_address(request))
        return RedirectResponse(f"/board?lang={lang.code}", status_code=303)
