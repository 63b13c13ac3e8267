"""What the command line and the JSON API share of a coordinator's work: a record with its
audit trail as JSON, and posting a notice. The console pages render the same records and
history as HTML (:mod:`fieldkit.web.console.pages`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fieldkit.app.hub import Hub
from fieldkit.core.clock import physical_ms
from fieldkit.core.fold import Record
from fieldkit.core.interchange import iso_ms, to_public
from fieldkit.core.ops import Create, Match, RecordId, SetStatus, hub_name
from fieldkit.core.records import parse_draft
from fieldkit.errors import N_, FieldError, NotFound, ValidationError

#: The notice's own words: what ``fieldkit notice TEXT`` and the API's ``text`` fill in.
NOTICE_TEXT = "note"


def record_json(record: Record) -> dict[str, Any]:
    """A record as a signed-in coordinator sees it: every field, private ones included, and
    the records it is matched with, and whether its personal fields were erased (a blank
    name reads the same whether it was never given or redacted)."""
    return {
        **to_public(record),
        "matches": [str(m) for m in record.matches],
        "redacted": record.redacted,
    }


async def record_with_history(hub: Hub, rid: RecordId) -> dict[str, Any]:
    """The record and every op held for it: its hub, seq, time, coordinator and message."""
    record = await hub.store.get(rid)
    if record is None:
        raise NotFound.said(N_("no record %(record)s on this hub"), record=str(rid))
    history = []
    for entry in await hub.store.history(rid):
        body = entry.op.body
        item: dict[str, Any] = {
            "op": type(body).__name__.lower(),
            "hub": hub_name(entry.op.origin),
            "seq": entry.op.seq,
            "time": iso_ms(physical_ms(entry.op.hlc)),
            "by": entry.actor,
        }
        if isinstance(body, SetStatus | Create):
            item["status"] = body.status.value
        if isinstance(body, Match):
            item["need"], item["offer"] = str(body.need), str(body.offer)
        message = body.message if isinstance(body, SetStatus | Match) else ""
        if message:
            item["message"] = message
        history.append(item)
    return {**record_json(record), "history": history}


async def post_notice(
    hub: Hub, category: str, area: str, text: str, *, by: str, areas: Mapping[str, str]
) -> Record:
    """Post a notice (a record of kind ``notice``, created like any record) and record ``by``
    as its coordinator. Bad input raises :class:`ValidationError` naming each field wrong
    (``text`` for the notice's words)."""
    raw = {"kind": "notice", "category": category, "area": area, NOTICE_TEXT: text}
    errors: list[FieldError] = []
    try:
        draft = parse_draft(raw, areas)
    except ValidationError as exc:
        errors = [_renamed(e) for e in exc.errors]
    if not text.strip():
        errors.append(FieldError("text", "required", "Please write the notice."))
    if errors:
        raise ValidationError(errors)
    if by:  # the coordinator's name travels with the notice (Hub.post_notice)
        return await hub.post_notice(draft, by)
    return (await hub.submit(draft)).record


def _renamed(error: FieldError) -> FieldError:
    if error.field != NOTICE_TEXT:
        return error
    return FieldError("text", error.code, error.message, error.params)
