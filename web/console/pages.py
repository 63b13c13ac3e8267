"""The coordinator console's pages: sign-in, the queues, a record with its audit trail and
suggested matches, and the actions (match, fulfilled, cancel, reopen, merge a duplicate),
and notices (post, edit, withdraw, with an area and an expiry).

Flags for a person, never silent decisions: claims that together take more than a record
has (two coordinators on partitioned hubs), likely duplicates, needs older than
``web.still_needed_hours`` ("still needed?").

Served only over HTTPS (see :mod:`fieldkit.web.console.app`). Every page but sign-in needs a
session; every form carries a CSRF token; private fields (contact, exact location) appear only
here, to a signed-in coordinator.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fieldkit.app.accounts import account, check_account, list_accounts, stored_hash
from fieldkit.app.config import Config
from fieldkit.app.hub import Hub
from fieldkit.app.passphrase import PASSPHRASE_KEY, session_key, verify_passphrase
from fieldkit.core.clock import physical_ms
from fieldkit.core.duplicates import duplicates_of, likely_duplicates
from fieldkit.core.fields import NOTE_MAX, Category, Kind, QuantityUnit, Status, Urgency
from fieldkit.core.fold import Record
from fieldkit.core.freshness import on_board, still_needed
from fieldkit.core.matching import SERVING, Suggestion, adjacency, needs_for, offers_for, remaining
from fieldkit.core.ops import (
    MESSAGE_MAX,
    Confirm,
    Create,
    Link,
    Match,
    Merge,
    Op,
    RecordId,
    Redact,
    SetStatus,
    hub_name,
)
from fieldkit.core.records import STATUS_MOVES, parse_draft
from fieldkit.errors import FieldkitError, NotFound, ValidationError
from fieldkit.web.console.reasons import age_text, reason_text
from fieldkit.web.console.session import (
    COOKIE,
    PRE_COOKIE,
    SESSION_S,
    Revoked,
    Session,
    SignInThrottle,
    clean_name,
    csrf_ok,
    csrf_token,
    new_session,
    seal,
    unseal,
)
from fieldkit.web.forms import BodyError
from fieldkit.web.i18n import Language
from fieldkit.web.pages import client_address, new_token, read_form
from fieldkit.web.render import N_, Renderer

PAGE = 50
#: The furthest page a queue link may ask for (past the end it is empty, never an error).
LAST_PAGE = 200_000
#: Offers a suggestion list reads per area and status (or open needs for an offer): the
#: ranking is exact while no area holds more serving offers of one category than this.
CANDIDATES = 100
SUGGESTIONS = 5
NO_STORE = {"Cache-Control": "no-store"}
#: The button that moves a record to each of core's status moves.
MOVE_LABELS: dict[Status, str] = {
    Status.FULFILLED: N_("Fulfilled"),
    Status.CANCELLED: N_("Cancel"),
    Status.OPEN: N_("Reopen"),
}


class ConsolePages:
    """Route handlers of one hub's console; every dependency comes in through the constructor."""

    def __init__(
        self,
        hub: Hub,
        config: Config,
        renderer: Renderer,
        *,
        clock: Callable[[], float] = time.time,
        throttle: SignInThrottle | None = None,
        status_page: Callable[[Request], Any] | None = None,
        accounts: bool = False,
        hub_names: Callable[[], Awaitable[dict[int, str]]] | None = None,
    ) -> None:
        self.hub = hub
        #: The names hubs go by (the cloud's enrolled hubs): the queue offers them as origins.
        self.hub_names = hub_names
        #: Personal accounts (the cloud's console) instead of the hub's shared passphrase.
        self.accounts = accounts
        self.config = config
        self.r = renderer
        self.clock = clock
        self.throttle = throttle or SignInThrottle(clock)
        self.revoked = Revoked()
        self.near = adjacency({area.id: area.adjacent for area in config.areas})
        self.status_page = status_page
        self.still_needed_ms = config.still_needed_hours * 3_600_000

    def flags(self, records: list[Record]) -> dict[RecordId, list[str]]:
        """What a person should look at, per record: over-claimed, still needed?, duplicate."""
        now = self.hub.wall()
        out: dict[RecordId, list[str]] = {r.id: [] for r in records}
        for r in records:
            if r.claim_conflict:
                out[r.id].append("conflict")
            if still_needed(r, now, self.still_needed_ms):
                out[r.id].append("stale")
            if r.merged_into:
                out[r.id].append("merged")
        for dup in likely_duplicates(records):
            for rid in (dup.first, dup.second):
                if "duplicate" not in out[rid]:
                    out[rid].append("duplicate")
        return out

    def routes(self) -> list[Route]:
        routes = [
            Route("/", self.home, methods=["GET", "HEAD"]),
            Route("/signin", self.signin_form, methods=["GET", "HEAD"]),
            Route("/signin", self.signin, methods=["POST"]),
            Route("/signout", self.signout, methods=["POST"]),
            Route("/queue", self.queue, methods=["GET", "HEAD"]),
            Route("/record/{rid}", self.record, methods=["GET", "HEAD"]),
            Route("/record/{rid}/match", self.match, methods=["POST"]),
            Route("/record/{rid}/status", self.set_status, methods=["POST"]),
            Route("/record/{rid}/merge", self.merge, methods=["POST"]),
            Route("/record/{rid}/redact", self.redact, methods=["POST"]),
            Route("/notices", self.notices, methods=["GET", "HEAD"]),
            Route("/notices", self.post_notice, methods=["POST"]),
            Route("/record/{rid}/notice", self.edit_notice, methods=["POST"]),
            Route("/record/{rid}/withdraw", self.withdraw_notice, methods=["POST"]),
        ]
        if self.status_page is not None:
            routes.append(Route("/hub/status", self.hub_status, methods=["GET", "HEAD"]))
        return routes

    # --- sessions ---------------------------------------------------------------------------

    async def session(self, request: Request) -> Session | None:
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return None
        found = unseal(await session_key(self.hub.store), cookie, self.clock())
        if found is None or found in self.revoked:
            return None
        if self.accounts:  # honoured while the account lasts, and only after its passphrase
            owner = await account(self.hub.store, found.name)
            if owner is None or found.expires - SESSION_S < owner.since:
                return None
        return found

    def _cookie(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="strict"
        )

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> Response:
        lang = self.r.language(request)
        return self.r.render(
            request, lang, f"console/{template}", status, NO_STORE,
            console_age=lambda ms: age_text(ms, lang.gettext), hub_id=hub_name(self.hub.id),
            **context,
        )  # fmt: skip

    def _said(self, request: Request, error: FieldkitError) -> str:
        """An error the hub raised, in the coordinator's language."""
        return error.translated(self.r.language(request).gettext)

    def _to_signin(self, request: Request) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?{urlencode({'next': target})}", 303, NO_STORE)

    async def _signed_form(self, request: Request) -> tuple[Session, dict[str, str]] | Response:
        """The posted form of a signed-in coordinator, its CSRF token checked."""
        session = await self.session(request)
        if session is None:
            return self.message(request, 403, N_("Your session has ended: sign in again."))
        try:
            form = await read_form(request)
        except BodyError as exc:
            return self.message(request, exc.status, exc.message)
        key = await session_key(self.hub.store)
        if not csrf_ok(key, session.sid, form.get("csrf", "")):
            return self.message(
                request, 403, N_("This form has expired or was not sent by this console.")
            )
        return session, form

    def message(self, request: Request, status: int, text: str) -> Response:
        return self.page(request, "message.html", status, text=text)

    # --- sign-in ----------------------------------------------------------------------------

    async def _signin_page(
        self, request: Request, status: int = 200, error: str = "", name: str = ""
    ) -> Response:
        pre = request.cookies.get(PRE_COOKIE) or new_token()
        key = await session_key(self.hub.store)
        if self.accounts:
            ready = bool(await list_accounts(self.hub.store))
        else:
            ready = await self.hub.store.meta(PASSPHRASE_KEY) is not None
        response = self.page(
            request, "signin.html", status, csrf=csrf_token(key, pre), error=error,
            name=name, ready=ready, accounts=self.accounts,
            next=_safe_next(request.query_params.get("next", "")),
        )  # fmt: skip
        self._cookie(response, PRE_COOKIE, pre, 3600)
        return response

    async def home(self, request: Request) -> Response:
        if await self.session(request) is None:
            return self._to_signin(request)
        return RedirectResponse("/queue", 303, NO_STORE)

    async def signin_form(self, request: Request) -> Response:
        if await self.session(request) is not None:
            return RedirectResponse("/queue", 303, NO_STORE)
        return await self._signin_page(request)

    async def signin(self, request: Request) -> Response:
        address = client_address(request)
        wait = self.throttle.wait(address)
        if wait > 0:
            lang = self.r.language(request)
            text = lang.gettext("Too many wrong passphrases: wait %(n)s seconds, then try again.")
            seconds = math.ceil(wait)
            response = self.page(request, "message.html", 429, text=text % {"n": seconds})
            response.headers["Retry-After"] = str(seconds)
            return response
        try:
            form = await read_form(request)
        except BodyError as exc:
            return self.message(request, exc.status, exc.message)
        key = await session_key(self.hub.store)
        pre = request.cookies.get(PRE_COOKIE, "")
        if not csrf_ok(key, pre, form.get("csrf", "")):
            return await self._signin_page(
                request, 403, N_("This form has expired: please sign in again.")
            )
        name = clean_name(form.get("name", ""))
        if name is None:
            return await self._signin_page(
                request, 400, N_("Give the name you go by (at most 40 characters)."),
            )  # fmt: skip
        passphrase = form.get("passphrase", "")
        if self.accounts:
            stored = await stored_hash(self.hub.store, name)
            if not await asyncio.to_thread(check_account, passphrase, stored):
                self.throttle.failed(address)
                return await self._signin_page(
                    request, 401, N_("Unknown name or wrong passphrase."), name
                )
        else:
            shared = await self.hub.store.meta(PASSPHRASE_KEY)
            if shared is None:
                return await self._signin_page(request, 503)
            if not await asyncio.to_thread(verify_passphrase, passphrase, shared):
                self.throttle.failed(address)
                return await self._signin_page(request, 401, N_("Wrong passphrase."), name)
        self.throttle.succeeded(address)
        session = new_session(name, self.clock())
        target = _safe_next(form.get("next", "")) or "/queue"
        response = RedirectResponse(target, 303, NO_STORE)
        self._cookie(response, COOKIE, seal(key, session), session.expires - int(self.clock()))
        response.delete_cookie(PRE_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
        return response

    async def signout(self, request: Request) -> Response:
        signed = await self._signed_form(request)
        if isinstance(signed, Response):
            return signed
        session, _ = signed
        self.revoked.forget_expired(self.clock())
        self.revoked.add(session)
        response = RedirectResponse("/signin", 303, NO_STORE)
        response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
        return response

    # --- the queues -------------------------------------------------------------------------

    async def queue(self, request: Request) -> Response:
        session = await self.session(request)
        if session is None:
            return self._to_signin(request)
        q = request.query_params
        kind = Kind.OFFER if q.get("kind") == "offer" else Kind.NEED
        status = _enum(Status, q.get("status", "open"))
        category = _enum(Category, q.get("category", ""))
        area = q.get("area", "").strip() or None
        text = q.get("q", "").strip()[:80] or None
        origin = _origin(q.get("origin", ""))
        page = int(q["page"]) if q.get("page", "").isdecimal() else 1
        page = min(max(page, 1), LAST_PAGE)
        records = await self.hub.store.list_records(
            kind=kind, status=status, category=category, area=area, origin=origin, text=text,
            limit=PAGE + 1, offset=(page - 1) * PAGE,
        )  # fmt: skip
        filters = {
            "kind": kind.value, "status": status.value if status else "all",
            "category": category.value if category else "", "area": area or "",
            "origin": q.get("origin", "") if origin is not None else "", "q": text or "",
        }  # fmt: skip
        return self.page(
            request, "queue.html", session=session, csrf=await self._csrf(session),
            records=records[:PAGE], more=len(records) > PAGE, page=page, filters=filters,
            flags=self.flags(records[:PAGE]), flag_labels=FLAG_LABELS,
            kinds=(Kind.NEED, Kind.OFFER), statuses=list(Status), categories=list(Category),
            now_ms=self.hub.wall(), query=lambda **c: urlencode({**filters, **c}),
            hubs=await self.hub_names() if self.hub_names else {},
        )  # fmt: skip

    async def _csrf(self, session: Session) -> str:
        return csrf_token(await session_key(self.hub.store), session.sid)

    # --- one record -------------------------------------------------------------------------

    async def _record(self, request: Request) -> Record:
        try:
            rid = RecordId.parse(request.path_params["rid"])
        except ValueError:
            raise NotFound.said(N_("no such record")) from None
        found = await self.hub.store.get(rid)
        if found is None:
            raise NotFound.said(N_("no record %(record)s on this hub"), record=str(rid))
        return found

    async def suggestions(self, record: Record) -> list[Suggestion]:
        """Offers for a need (or needs for an offer), ranked by :mod:`fieldkit.core.matching`.

        For a need, offers are read a tier at a time: the need's own area, then adjacent
        areas, then anywhere. The rules rank every nearer offer before any farther one, so
        once a tier fills the list, farther offers cannot enter it and are not read.
        """
        store, now = self.hub.store, self.hub.wall()
        if record.kind is Kind.NEED:
            if record.status is not Status.OPEN:
                return []
            offers: dict[RecordId, Record] = {}
            found: list[Suggestion] = []
            adjacent = sorted(self.near.get(record.area, frozenset()))
            for tier in ([record.area], adjacent, [None]):
                for area in tier:
                    for status in sorted(SERVING):
                        for offer in await store.list_records(
                            kind=Kind.OFFER, status=status, category=record.category,
                            area=area, limit=CANDIDATES,
                        ):  # fmt: skip
                            offers.setdefault(offer.id, offer)
                left = {o.id: await self._remaining(o) for o in offers.values()}
                found = offers_for(
                    record, offers.values(), near=self.near, left=left, now_ms=now,
                    limit=SUGGESTIONS,
                )  # fmt: skip
                if len(found) >= SUGGESTIONS:
                    break
            return found
        if record.kind is Kind.OFFER and record.status in SERVING:
            needs = await store.list_records(
                kind=Kind.NEED, status=Status.OPEN, category=record.category, limit=CANDIDATES
            )
            rest = await self._remaining(record)
            return needs_for(
                record, needs, near=self.near, left=rest, now_ms=now, limit=SUGGESTIONS
            )
        return []

    async def duplicates(self, record: Record) -> list[tuple[Record, str]]:
        """Likely duplicates of a need, from the needs of its category and area."""
        if record.kind is not Kind.NEED:
            return []
        others: dict[RecordId, Record] = {}
        for status in (Status.OPEN, Status.MATCHED):
            for other in await self.hub.store.list_records(
                kind=Kind.NEED, status=status, category=record.category, area=record.area,
                limit=CANDIDATES,
            ):  # fmt: skip
                others[other.id] = other
        out = []
        for dup in duplicates_of(record, others.values()):
            other = others[dup.second if dup.first == record.id else dup.first]
            out.append((other, ", ".join(str(WHY_LABELS[w]) for w in dup.why)))
        return out

    async def _remaining(self, offer: Record) -> int | None:
        served = [n for n in [await self.hub.store.get(rid) for rid in offer.matches] if n]
        return remaining(offer, served)

    async def record(self, request: Request) -> Response:
        session = await self.session(request)
        if session is None:
            return self._to_signin(request)
        try:
            record = await self._record(request)
        except NotFound as exc:
            return self.message(request, 404, self._said(request, exc))
        return await self._record_page(request, session, record)

    async def _record_page(
        self, request: Request, session: Session, record: Record, status: int = 200,
        error: str = "",
    ) -> Response:  # fmt: skip
        lang = self.r.language(request)
        suggestions = await self.suggestions(record)
        matched = [m for m in [await self.hub.store.get(rid) for rid in record.matches] if m]
        linked = [m for m in [await self.hub.store.get(rid) for rid in record.linked] if m]
        history = [
            {
                "when": physical_ms(entry.op.hlc),
                "received": entry.received_at,
                "hub": hub_name(entry.op.origin),
                "by": entry.actor,
                "what": describe(entry.op, record.id, lang),
                "message": _message_of(entry.op),
            }
            for entry in await self.hub.store.history(record.id)
        ]
        return self.page(
            request, "record.html", status, session=session, csrf=await self._csrf(session),
            r=record, suggestions=[
                (s, reason_text(s.reason, lang.gettext, offered=record.kind is Kind.NEED))
                for s in suggestions
            ],
            matched=matched, history=history, now_ms=self.hub.wall(), error=error,
            remaining=await self._remaining(record) if record.kind is Kind.OFFER else None,
            message_max=MESSAGE_MAX, flags=self.flags([record])[record.id],
            flag_labels=FLAG_LABELS, duplicates=await self.duplicates(record), linked=linked,
            units=list(QuantityUnit), note_max=NOTE_MAX,
            moves=[(s, MOVE_LABELS[s]) for s, old in STATUS_MOVES.items() if record.status in old],
            expires_in=_hours_left(record.expires, self.hub.wall()),
        )  # fmt: skip

    # --- actions ----------------------------------------------------------------------------

    async def match(self, request: Request) -> Response:
        signed = await self._signed_form(request)
        if isinstance(signed, Response):
            return signed
        session, form = signed
        try:
            record = await self._record(request)
            other = RecordId.parse(form.get("other", ""))
        except NotFound as exc:
            return self.message(request, 404, self._said(request, exc))
        except ValueError:
            return self.message(request, 400, N_("Pick a record to match with."))
        message = form.get("message", "").strip()
        if len(message) > MESSAGE_MAX:
            return await self._record_page(
                request, session, record, 400, N_("The message is too long."),
            )  # fmt: skip
        need, offer = (record.id, other) if record.kind is Kind.NEED else (other, record.id)
        quantity_text = form.get("quantity", "").strip()
        quantity = int(quantity_text) if quantity_text.isdecimal() else None
        if quantity_text and not (quantity and 1 <= quantity <= 100_000):
            return await self._record_page(
                request, session, record, 400, N_("Give the quantity as a whole number."),
            )  # fmt: skip
        try:
            await self.hub.match(need, offer, message, by=session.name, quantity=quantity)
        except FieldkitError as exc:
            return await self._record_page(request, session, record, 400, self._said(request, exc))
        return RedirectResponse(f"/record/{record.id}", 303, NO_STORE)

    async def set_status(self, request: Request) -> Response:
        signed = await self._signed_form(request)
        if isinstance(signed, Response):
            return signed
        session, form = signed
        try:
            record = await self._record(request)
        except NotFound as exc:
            return self.message(request, 404, self._said(request, exc))
        status = next((s for s in STATUS_MOVES if s.value == form.get("status")), None)
        message = form.get("message", "").strip()
        moved = status is not None and record.status in STATUS_MOVES[status]
        if status is None or not moved or len(message) > MESSAGE_MAX:
            return await self._record_page(
                request, session, record, 400, N_("Pick fulfilled, cancelled or reopen, with a "
                                                  "message of at most 200 characters."),
            )  # fmt: skip
        await self.hub.set_status(record.id, status, message, by=session.name)
        return RedirectResponse(f"/record/{record.id}", 303, NO_STORE)

    async def merge(self, request: Request) -> Response:
        signed = await self._signed_form(request)
        if isinstance(signed, Response):
            return signed
        session, form = signed
        try:
            record = await self._record(request)
            duplicate = RecordId.parse(form.get("duplicate", ""))
            await self.hub.merge(record.id, duplicate, by=session.name)
        except NotFound as exc:
            return self.message(request, 404, self._said(request, exc))
        except ValueError:
            return self.message(request, 400, N_("Pick a record to merge."))
        except FieldkitError as exc:
            return await self._record_page(request, session, record, 400, self._said(request, exc))
        return RedirectResponse(f"/record/{record.id}", 303, NO_STORE)

    async def redact(self, request: Request) -> Response:
        """Erase a resident's contact and note at every hub, on their request; the box must be
        ticked, for it cannot be undone."""
        signed = await self._signed_form(request)
        if isinstance(signed, Response):
            return signed
        session, form = signed
        try:
            record = await self._record(request)
        except NotFound as exc:
            return self.message(request, 404, self._said(request, exc))
        if form.get("confirm") != "yes":
            return await self._record_page(
                request, session, record, 400, N_("Tick the box to confirm the redaction."),
            )  # fmt: skip
        if not record.redacted:
            await self.hub.redact(record.id, by=session.name)
        return RedirectResponse(f"/record/{record.id}", 303, NO_STORE)

    # --- notices ----------------------------------------------------------------------------

    async def _notices_page(
        self, request: Request, session: Session, status: int = 200,
        errors: dict[str, Any] | None = None, form: dict[str, str] | None = None,
    ) -> Response:  # fmt: skip
        now = self.hub.wall()
        notices = await self.hub.store.list_records(kind=Kind.NOTICE, limit=PAGE)
        return self.page(
            request, "notices.html", status, session=session, csrf=await self._csrf(session),
            notices=[(n, on_board(n, now), _hours_left(n.expires, now)) for n in notices],
            errors=errors or {}, form=form or {}, categories=list(Category), note_max=NOTE_MAX,
            now_ms=now,
        )  # fmt: skip

    async def notices(self, request: Request) -> Response:
        session = await self.session(request)
        if session is None:
            return self._to_signin(request)
        return await self._notices_page(request, session)

    def _notice_fields(self, form: dict[str, str]) -> dict[str, str]:
        """The notice form as :func:`parse_draft` fields: expiry given in hours from now."""
        hours = form.get("expires_hours", "").strip()
        raw = {
            "kind": "notice", "category": form.get("category", ""),
            "urgency": form.get("urgency", "") or Urgency.TODAY.value,
            "area": form.get("area", ""), "note": form.get("note", ""),
        }  # fmt: skip
        if hours:
            raw["expires"] = (
                str(self.hub.wall() + int(hours) * 3_600_000)
                if hours.isdecimal() and 0 < int(hours) <= 24 * 365
                else "bad"
            )
        return raw

    async def post_notice(self, request: Request) -> Response:
        signed = await self._signed_form(request)
        if isinstance(signed, Response):
            return signed
        session, form = signed
        try:
            draft = parse_draft(self._notice_fields(form), self.config.area_names())
        except ValidationError as exc:
            return await self._notices_page(request, session, 400, exc.by_field(), form)
        notice = await self.hub.post_notice(draft, by=session.name)
        return RedirectResponse(f"/record/{notice.id}", 303, NO_STORE)

    async def edit_notice(self, request: Request) -> Response:
        signed = await self._signed_form(request)
        if isinstance(signed, Response):
            return signed
        session, form = signed
        try:
            record = await self._record(request)
        except NotFound as exc:
            return self.message(request, 404, self._said(request, exc))
        if record.kind is not Kind.NOTICE:
            return self.message(request, 400, N_("Only a notice can be edited here."))
        raw = self._notice_fields({"category": record.category.value, **form})
        try:
            draft = parse_draft(raw, self.config.area_names())
        except ValidationError as exc:
            error = "; ".join(e.message for e in exc.errors)
            return await self._record_page(request, session, record, 400, error)
        fields: dict[str, Any] = {"area": draft.area, "note": draft.note}
        if "expires" in raw:
            fields["expires"] = draft.expires
        await self.hub.edit_notice(record.id, fields, by=session.name)
        return RedirectResponse(f"/record/{record.id}", 303, NO_STORE)

    async def withdraw_notice(self, request: Request) -> Response:
        signed = await self._signed_form(request)
        if isinstance(signed, Response):
            return signed
        session, _ = signed
        try:
            record = await self._record(request)
        except NotFound as exc:
            return self.message(request, 404, self._said(request, exc))
        if record.kind is not Kind.NOTICE:
            return self.message(request, 400, N_("Only a notice can be withdrawn."))
        await self.hub.withdraw_notice(record.id, by=session.name)
        return RedirectResponse(f"/record/{record.id}", 303, NO_STORE)

    async def hub_status(self, request: Request) -> Response:
        if await self.session(request) is None or self.status_page is None:
            return self._to_signin(request)
        response: Response = await self.status_page(request)
        return response


def describe(op: Op, record: RecordId, lang: Language) -> str:
    """One line of the audit trail: what the op did to ``record``."""
    _ = lang.gettext
    body = op.body
    if isinstance(body, Create):
        return _("created (%(kind)s)") % {"kind": _(body.kind.value)}
    if isinstance(body, SetStatus):
        return _("status: %(status)s") % {"status": _(body.status.value)}
    if isinstance(body, Match):
        other = body.offer if body.need == record else body.need
        return _("matched with %(other)s") % {"other": str(other)}
    if isinstance(body, Redact):
        return _("personal data redacted")
    if isinstance(body, Merge):
        if body.duplicate == record:
            return _("merged into %(other)s") % {"other": str(body.record)}
        return _("duplicate %(other)s merged into this") % {"other": str(body.duplicate)}
    if isinstance(body, Link):
        if body.need == record:
            return _("resident asked for offer %(other)s") % {"other": str(body.offer)}
        return _("asked for by need %(other)s") % {"other": str(body.need)}
    if isinstance(body, Confirm):
        return _("resident: still needed") if body.needed else _("resident: no longer needed")
    return _("changed: %(fields)s") % {"fields": ", ".join(sorted(body.fields))}


FLAG_LABELS = {
    "conflict": N_("Claimed more than once: check with both coordinators"),
    "stale": N_("Still needed?"),
    "duplicate": N_("Likely duplicate"),
    "merged": N_("Merged into another record"),
}
WHY_LABELS = {
    "same_phone": N_("same phone"),
    "same_name": N_("same name"),
    "similar_note": N_("near-identical note"),
}


def _hours_left(expires: int | None, now_ms: int) -> int | None:
    """Whole hours until ``expires`` (0 once passed), or None without an expiry."""
    if expires is None:
        return None
    return max(0, -(-(expires - now_ms) // 3_600_000))


def _message_of(op: Op) -> str:
    body = op.body
    if isinstance(body, SetStatus | Match):
        return body.message
    return body.status_message if isinstance(body, Create) else ""


def _enum(enum: Any, value: str) -> Any:
    try:
        return enum(value) if value else None
    except ValueError:
        return None


def _origin(text: str) -> int | None:
    text = text.strip().lower()
    if len(text) == 8:
        try:
            return int(text, 16)
        except ValueError:
            return None
    return None


def _safe_next(target: str) -> str:
    """Only a path of this console (never another site) to go to after sign-in."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return ""
