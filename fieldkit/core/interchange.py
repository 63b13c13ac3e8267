"""The public JSON form of records, its CSV flattening, and Google Forms mappings (pure).

One record is one JSON object::

    {"id": "3fa9c2d1-42", "hub": "3fa9c2d1", "kind": "need", "status": "open",
     "status_message": "", "created_at": "2026-11-20T14:03:11.000Z",
     "category": "water", "urgency": "critical", "quantity": 4, "quantity_unit": "people",
     "area": "riverside", "note": "…", "language": "es", "ref": "7KQ-4XD",
     "share_contact": true,
     "contact": {"name": "…", "phone": "…", "location": "…"}}

CSV uses the same names with the contact flattened to ``contact_name``, ``contact_phone``
and ``contact_location``. ``--public`` exports leave out ``contact``, ``note`` and ``ref``.

CSV cells are written spreadsheet-safe (OWASP's rule against formula injection): a cell a
spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``, tab or carriage return first,
or their full-width forms) is written with a leading apostrophe, which spreadsheets show as
plain text. Import removes exactly that apostrophe again, so export → import is lossless.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from fieldkit.core.fields import BASE_FIELD_CODES, FIELDS, json_value
from fieldkit.core.fold import Record
from fieldkit.core.ops import MESSAGE_MAX, NewRecord, RecordId, draft_attr, hub_name
from fieldkit.core.records import Draft, Status, parse_draft
from fieldkit.core.refcode import parse_code
from fieldkit.errors import FieldError, ImportFileError, ValidationError

_HEAD_COLUMNS = ("id", "hub", "kind", "status", "status_message", "created_at")
_REF_AFTER = "language"  # the reference code's column sits after this field's
#: The fields files carry: every one but the local ones (a note kept at this hub only is
#: never written to a file either).
EXPORTED = tuple(spec for spec in FIELDS if not spec.local)
CSV_COLUMNS: tuple[str, ...] = (
    *_HEAD_COLUMNS,
    *(col for spec in EXPORTED for col in (spec.csv, "ref")[: 2 if spec.name == _REF_AFTER else 1]),
)
#: What ``--public`` leaves out: every redactable field, the reference code and status message.
PUBLIC_OMITS = frozenset(
    {"ref", "status_message"}
    | {spec.csv for spec in FIELDS if spec.redacted}
    | {spec.json_path[0] for spec in FIELDS if spec.redacted}
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def iso_ms(ms: int) -> str:
    return (_EPOCH + ms * _ONE_MS).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str, fmt: str = "", tz: timezone = UTC) -> int:
    """ISO 8601 (or ``fmt`` for strptime) to milliseconds; naive times are in ``tz``."""
    value = text.strip()
    moment = datetime.strptime(value, fmt) if fmt else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return (moment - _EPOCH) // _ONE_MS


def to_public(record: Record, *, public: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(record.id),
        "hub": hub_name(record.hub),
        "kind": record.kind.value,
        "status": record.status.value,
        "status_message": record.status_message,
        "created_at": iso_ms(record.created_at),
    }
    for spec in EXPORTED:
        value = json_value(draft_attr(record, spec.name))
        if spec.wire_code >= BASE_FIELD_CODES and value in (None, ""):
            continue  # a field of this release, unused: the object reads as before
        *path, leaf = spec.json_path
        target = out
        for part in path:
            target = target.setdefault(part, {})
        target[leaf] = value
        if spec.name == _REF_AFTER:
            out["ref"] = record.ref
    if public:
        for name in PUBLIC_OMITS:
            out.pop(name, None)
    return out


def flatten(obj: Mapping[str, Any]) -> dict[str, str]:
    """The CSV row of a public JSON object: contact flattened, everything as text."""
    flat: dict[str, str] = {}
    for name, value in obj.items():
        if name == "contact" and isinstance(value, Mapping):
            for part, text in value.items():
                flat[f"contact_{part}"] = "" if text is None else str(text)
        elif isinstance(value, bool):
            flat[name] = "true" if value else "false"
        else:
            flat[name] = "" if value is None else str(value)
    return flat


#: What makes a spreadsheet read a cell as a formula (OWASP, CSV injection), with the
#: full-width forms some spreadsheets accept too; checked after leading spaces.
FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
_TEXT_MARK = "'"  # a spreadsheet's "this cell is text" prefix


def _looks_like_formula(cell: str) -> bool:
    rest = cell.lstrip(" ")
    if rest[:1] == _TEXT_MARK:  # an apostrophe we would add must survive a round trip too
        return _looks_like_formula(rest[1:])
    return rest[:1] in FORMULA_STARTS


def spreadsheet_safe(cell: str) -> str:
    """``cell`` as a spreadsheet shows it but never evaluates it (undone by :func:`from_sheet`)."""
    return _TEXT_MARK + cell if _looks_like_formula(cell) else cell


def from_sheet(cell: str) -> str:
    """The text :func:`spreadsheet_safe` was given (other cells pass through unchanged)."""
    if cell.startswith(_TEXT_MARK) and _looks_like_formula(cell[1:]):
        return cell[1:]
    return cell


def csv_row(obj: Mapping[str, Any]) -> dict[str, str]:
    """The spreadsheet-safe CSV row of a public JSON object."""
    return {name: spreadsheet_safe(text) for name, text in flatten(obj).items()}


_DRAFT_KEYS = frozenset({"kind", *(spec.csv for spec in EXPORTED)})
_EXTRA_KEYS = frozenset({"id", "hub", "status", "status_message", "created_at", "ref"})


def row_from_fields(
    fields: Mapping[str, str],
    areas: Mapping[str, str] | None = None,
    *,
    time_format: str = "",
    tz: timezone = UTC,
) -> NewRecord:
    """Validate one flat row of text (a CSV row, a flattened JSON line) into a NewRecord."""
    errors: list[FieldError] = []
    for name in fields:
        if name not in _DRAFT_KEYS | _EXTRA_KEYS:
            errors.append(FieldError(name, "unknown_field", "Unknown field."))
    draft: Draft | None = None
    try:
        draft = parse_draft({k: v for k, v in fields.items() if k in _DRAFT_KEYS}, areas)
    except ValidationError as exc:
        errors.extend(exc.errors)

    record_id = None
    if fields.get("id", "").strip():
        try:
            record_id = RecordId.parse(fields["id"])
        except ValueError:
            errors.append(FieldError("id", "bad_id", "Not a record id (like 3fa9c2d1-42)."))
    hub = fields.get("hub", "").strip().lower()
    if hub and record_id is not None and hub != hub_name(record_id.hub):
        errors.append(FieldError("hub", "hub_mismatch", "Does not match the record id."))

    created_at = None
    if fields.get("created_at", "").strip():
        try:
            created_at = parse_iso(fields["created_at"], time_format, tz)
        except ValueError:
            errors.append(FieldError("created_at", "bad_time", "Not a date and time."))
        else:
            if not 0 <= created_at < 1 << 48:
                errors.append(FieldError("created_at", "bad_time", "Date out of range."))
                created_at = None

    status = Status.OPEN
    if fields.get("status", "").strip():
        try:
            status = Status(fields["status"].strip().lower())
        except ValueError:
            errors.append(FieldError("status", "unknown_choice", "Unknown status."))
    message = fields.get("status_message", "").strip()
    if len(message) > MESSAGE_MAX:
        errors.append(FieldError("status_message", "too_long", "Too long."))

    ref = None
    if fields.get("ref", "").strip():
        ref = parse_code(fields["ref"])
        if ref is None:
            errors.append(FieldError("ref", "bad_ref", "Not a reference code (like 7KQ-4XD)."))

    if errors or draft is None:
        raise ValidationError(errors)
    canonical = json.dumps(sorted(fields.items()), ensure_ascii=False)
    key = "import:" + hashlib.sha256(canonical.encode()).hexdigest()[:32]
    return NewRecord(draft, key, record_id, created_at, status, message, ref)


def json_line_fields(line: str) -> dict[str, str]:
    """A JSON Lines line as flat text fields (raises ValidationError if it is not JSON)."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValidationError([FieldError("line", "bad_json", f"Not JSON: {exc.msg}.")]) from None
    if not isinstance(obj, dict):
        raise ValidationError([FieldError("line", "bad_json", "Not a JSON object.")])
    return flatten(obj)


# --- Google Forms / Sheets mappings -----------------------------------------------------


@dataclass(frozen=True)
class ColumnMapping:
    """How a spreadsheet's columns and answers become fieldkit fields (from a TOML file)."""

    columns: Mapping[str, str]
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)
    time_format: str = ""
    tz: timezone = UTC

    def apply(self, row: Mapping[str, str]) -> dict[str, str]:
        """One spreadsheet row as fieldkit fields: several columns may feed the note."""
        out: dict[str, str] = {}
        for column, target in self.columns.items():
            raw = (row.get(column) or "").strip()
            if not raw:
                continue
            value = self.values.get(target, {}).get(raw.casefold(), raw)
            if target == "note" and out.get("note"):
                out["note"] = f"{out['note']}; {value}"
            else:
                out.setdefault(target, value)
        for name, value in self.defaults.items():
            out.setdefault(name, value)
        return out


def parse_mapping(
    data: Mapping[str, Any], known: frozenset[str] = _DRAFT_KEYS | _EXTRA_KEYS
) -> ColumnMapping:
    """Check a mapping file's TOML data; errors name the key that is wrong."""
    columns = data.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise ImportFileError('mapping: needs a [columns] table: "Spreadsheet column" = "field"')
    for column, target in columns.items():
        if target not in known:
            raise ImportFileError(f"mapping: columns.{column!r}: unknown field {target!r}")
    values: dict[str, dict[str, str]] = {}
    for target, answers in dict(data.get("values", {})).items():
        if target not in known or not isinstance(answers, dict):
            raise ImportFileError(f"mapping: values.{target}: expected a table for a known field")
        values[target] = {str(k).strip().casefold(): str(v) for k, v in answers.items()}
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict) or any(k not in known for k in defaults):
        raise ImportFileError("mapping: [defaults] names an unknown field")
    options = data.get("options", {})
    tz = UTC
    if options.get("timezone"):
        try:
            offset = datetime.strptime(str(options["timezone"]).replace(":", ""), "%z")
        except ValueError:
            raise ImportFileError("mapping: options.timezone: expected like -05:00") from None
        tz = offset.tzinfo  # type: ignore[assignment]
    return ColumnMapping(
        columns={str(k): str(v) for k, v in columns.items()},
        values=values,
        defaults={str(k): str(v) for k, v in defaults.items()},
        time_format=str(options.get("created_at_format", "")),
        tz=tz,
    )
