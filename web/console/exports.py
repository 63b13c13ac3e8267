"""The console's exports page: file exports (CSV, HXL, GeoJSON), a printable one-page list per
area for runners and phone trees, and runner bundles downloaded at one hub and uploaded at
another (the ``fieldkit bundle`` format, sealed under the network key).

Every route needs a signed-in coordinator. The printed list is public-safe by default (codes,
category, urgency, quantity, age); contact details and notes appear only when the coordinator
asks for them. An uploaded bundle is streamed to a spooled temporary file (bounded memory)
with its size checked as it arrives, its CSRF token checked before it is read, and taken
whole or not at all, key notices first (:mod:`fieldkit.app.runner_bundle`).
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import IO, Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Message, Receive

from fieldkit.app.import_export import export_geojson, export_hxl, export_records
from fieldkit.app.passphrase import session_key
from fieldkit.app.runner_bundle import bundle_chunks, take_bundle
from fieldkit.core.fields import Kind, Status
from fieldkit.core.ops import hub_name
from fieldkit.errors import BundleError, FormBodyError
from fieldkit.web.console.pages import NO_STORE, ConsolePages
from fieldkit.web.console.session import Session, csrf_ok
from fieldkit.web.render import N_

#: The largest bundle the console takes (a hub's whole log at 100k records is ~40 MB).
BUNDLE_MAX = 256 * 1024 * 1024
#: How many records one printed page holds (needs first, then offers): fewer with contact
#: details and notes, whose rows are taller.
PRINT_ROWS = 36
PRINT_ROWS_CONTACTS = 12
_CHUNK = 64 * 1024
FILES: dict[str, tuple[str, str]] = {  # name: (format, media type)
    "records.csv": ("csv", "text/csv; charset=utf-8"),
    "records-private.csv": ("csv-private", "text/csv; charset=utf-8"),
    "records-hxl.csv": ("hxl", "text/csv; charset=utf-8"),
    "areas.geojson": ("geojson", "application/geo+json"),
}


def _limited(receive: Receive, limit: int) -> Receive:
    """``receive``, refusing a body (FormBodyError 413) once more than ``limit`` bytes have
    arrived."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise FormBodyError(413, "the body is too large")
        return message

    return wrapped


async def _file_chunks(file: IO[str]) -> AsyncIterator[bytes]:
    try:
        file.seek(0)
        while text := file.read(_CHUNK):
            yield text.encode("utf-8")
    finally:
        file.close()


def _attachment(name: str) -> dict[str, str]:
    return {**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'}


class ConsoleExports:
    """Routes of the exports page, on the console's sessions and rendering."""

    def __init__(self, pages: ConsolePages, bundle_max: int | None = None) -> None:
        self.pages = pages
        self.hub = pages.hub
        self.bundle_max = BUNDLE_MAX if bundle_max is None else bundle_max

    def routes(self) -> list[Route]:
        return [
            Route("/exports", self.exports_page, methods=["GET", "HEAD"]),
            Route("/export/{name}", self.export_file, methods=["GET"]),  # no HEAD: it would
            # make the whole file to send nothing of it
            Route("/print", self.print_list, methods=["GET", "HEAD"]),
            Route("/bundle", self.download_bundle, methods=["GET"]),
            Route("/bundle", self.upload_bundle, methods=["POST"]),
        ]

    async def _signed_in(
        self, request: Request, then: Callable[[Session], Awaitable[Response]]
    ) -> Response:
        session = await self.pages.session(request)
        if session is None:
            return self.pages._to_signin(request)
        return await then(session)

    async def _page(
        self, request: Request, session: Session, status: int = 200, **more: Any
    ) -> Response:
        return self.pages.page(
            request, "exports.html", status, session=session,
            csrf=await self.pages._csrf(session), files=FILES, bundle_max_mb=self.bundle_max >> 20,
            **{"taken": None, "error": "", **more},
        )  # fmt: skip

    async def exports_page(self, request: Request) -> Response:
        q = request.query_params
        taken = None
        if q.get("taken", "").isdecimal() and q.get("seen", "").isdecimal():
            taken = {"new": int(q["taken"]), "seen": int(q["seen"])}
        return await self._signed_in(
            request, lambda session: self._page(request, session, taken=taken)
        )

    # --- files ------------------------------------------------------------------------------

    async def export_file(self, request: Request) -> Response:
        async def send(session: Session) -> Response:
            name = request.path_params["name"]
            if name not in FILES:
                raise HTTPException(404)
            fmt, media_type = FILES[name]
            areas = self.pages.config.areas
            out = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115
            try:
                if fmt == "hxl":
                    await export_hxl(self.hub.store, out, areas)
                elif fmt == "geojson":
                    await export_geojson(self.hub.store, out, areas)
                else:
                    await export_records(
                        self.hub.store, out, "csv", public=fmt == "csv", areas=areas
                    )
            except BaseException:
                out.close()
                raise
            return StreamingResponse(_file_chunks(out), 200, _attachment(name), media_type)

        return await self._signed_in(request, send)

    # --- the printed list -------------------------------------------------------------------

    async def print_list(self, request: Request) -> Response:
        async def show(session: Session) -> Response:
            area = request.query_params.get("area", "")
            if area not in self.pages.r.areas:
                return self.pages.message(request, 404, N_("Pick one of this network's areas."))
            contacts = request.query_params.get("contacts") == "1"
            rows = PRINT_ROWS_CONTACTS if contacts else PRINT_ROWS
            store = self.hub.store
            needs = await store.list_records(
                kind=Kind.NEED, status=Status.OPEN, area=area, limit=rows + 1
            )
            offers = await store.list_records(
                kind=Kind.OFFER, status=Status.OPEN, area=area, limit=rows + 1
            )
            reserved = min(len(offers), rows // 4)  # many needs never crowd out every offer
            shown_needs = needs[: rows - reserved]
            shown_offers = offers[: rows - len(shown_needs)]
            more = len(needs) + len(offers) > len(shown_needs) + len(shown_offers)
            printed = datetime.fromtimestamp(self.hub.wall() / 1000, UTC)
            return self.pages.page(
                request, "print.html", session=session, area=area, contacts=contacts,
                needs=shown_needs, offers=shown_offers, more=more, now_ms=self.hub.wall(),
                printed=printed.strftime("%Y-%m-%d %H:%M UTC"),
            )  # fmt: skip

        return await self._signed_in(request, show)

    # --- bundles ----------------------------------------------------------------------------

    async def download_bundle(self, request: Request) -> Response:
        async def send(session: Session) -> Response:
            day = datetime.fromtimestamp(self.hub.wall() / 1000, UTC).strftime("%Y%m%d-%H%M")
            name = f"fieldkit-{hub_name(self.hub.id)}-{day}.fkb"
            return StreamingResponse(
                bundle_chunks(self.hub), 200, _attachment(name), "application/octet-stream"
            )

        return await self._signed_in(request, send)

    async def upload_bundle(self, request: Request) -> Response:
        pages = self.pages
        session = await pages.session(request)
        if session is None:
            return pages.message(request, 403, N_("Your session has ended: sign in again."))
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return await self._page(
                request, session, 415, error=N_("Send the bundle with this page's form.")
            )
        too_large = N_("This file is larger than the console takes (%(mb)s MB).")
        declared = request.headers.get("content-length", "")
        if declared.isdecimal() and int(declared) > self.bundle_max + _CHUNK:
            return await self._page(request, session, 413, error=too_large)
        limited = Request(request.scope, _limited(request.receive, self.bundle_max + _CHUNK))
        try:
            form = await limited.form(max_files=1, max_fields=2, max_part_size=4096)
        except FormBodyError:
            return await self._page(request, session, 413, error=too_large)
        except HTTPException:
            return await self._page(
                request, session, 400, error=N_("The upload was cut short or malformed: try again.")
            )
        try:
            key = await session_key(self.hub.store)
            if not csrf_ok(key, session.sid, str(form.get("csrf", ""))):
                return pages.message(
                    request, 403, N_("This form has expired or was not sent by this console.")
                )
            upload = form.get("bundle")
            if not isinstance(upload, UploadFile) or not upload.filename:
                return await self._page(
                    request, session, 400, error=N_("Choose a bundle file (.fkb) to upload.")
                )
            if upload.size is not None and upload.size > self.bundle_max:
                return await self._page(request, session, 413, error=too_large)
            try:
                taken = await take_bundle(self.hub, upload.file)  # a new key first, if it has one
            except BundleError as exc:
                error = (
                    N_("This file is not a fieldkit bundle.")
                    if str(exc) == "not a fieldkit bundle"
                    else N_("This bundle cannot be read: it is damaged or cut short, or it "
                            "comes from another network (a different network key). Nothing "
                            "was taken from it.")
                )  # fmt: skip
                return await self._page(request, session, 400, error=error)
        finally:
            await form.close()
        return RedirectResponse(f"/exports?taken={taken.new}&seen={taken.total}", 303, NO_STORE)
