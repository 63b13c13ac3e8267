"""Import and export files (the I/O edge around :mod:`fieldkit.core.interchange`).

Imports are idempotent and crash-safe: lines are committed in batches, each line's identity
(its record id, or a digest of its content) is stored in the same transaction as the record,
so re-running an interrupted or repeated import creates each record exactly once.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import TextIO

from fieldkit.app.config import Area
from fieldkit.app.hub import Hub
from fieldkit.core.interchange import (
    CSV_COLUMNS,
    PUBLIC_OMITS,
    ColumnMapping,
    csv_row,
    from_sheet,
    json_line_fields,
    row_from_fields,
    spreadsheet_safe,
    to_public,
)
from fieldkit.core.ops import NewRecord
from fieldkit.errors import ImportFileError, ValidationError
from fieldkit.store.port import StorePort
from fieldkit.web.exports import HXL_COLUMNS, AreaTally, feature_collection, hxl_row, unplaced_areas
from fieldkit.web.public import public_area

FORMATS = ("jsonl", "csv")
#: Formats that are public whatever is asked: they never carry a private field.
PUBLIC_FORMATS = ("hxl", "geojson")
EXPORT_FORMATS = (*FORMATS, *PUBLIC_FORMATS)
_SAVE_AS = "(save it as “CSV UTF-8”)"


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportReport:
    created: int = 0
    existing: int = 0
    errors: list[LineError] = field(default_factory=list)


def detect_format(path: Path) -> str:
    if not path.is_file():
        raise ImportFileError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    try:
        with path.open("rb") as f:
            head = f.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror}") from None
    return "jsonl" if head.startswith(b"{") else "csv"


def _jsonl_lines(path: Path) -> Iterator[tuple[int, Mapping[str, str] | LineError]]:
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                yield number, LineError(number, "not UTF-8 text")
                continue
            if not text.strip():
                continue
            try:
                yield number, json_line_fields(text)
            except ValidationError as exc:
                yield number, LineError(number, exc.errors[0].render())


def _undecodable(text: str) -> bool:
    """Whether ``text`` holds bytes that were not UTF-8 (read with ``surrogateescape``)."""
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _csv_lines(path: Path) -> Iterator[tuple[int, Mapping[str, str] | LineError]]:
    # A byte that is not UTF-8 spoils its line only: the file is read with surrogateescape
    # and each row is checked, so the other lines still import and the report names the line.
    try:
        with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames:
                raise ImportFileError(f"{path}: no header row")
            if any(_undecodable(name) for name in reader.fieldnames):
                raise ImportFileError(f"{path}: the header row is not UTF-8 text {_SAVE_AS}")
            for row in reader:
                if None in row:
                    yield reader.line_num, LineError(reader.line_num, "more cells than headers")
                    continue
                cells = {k: v or "" for k, v in row.items()}
                if any(_undecodable(v) for v in cells.values()):
                    yield reader.line_num, LineError(reader.line_num, f"not UTF-8 text {_SAVE_AS}")
                    continue
                yield reader.line_num, {k: from_sheet(v) for k, v in cells.items()}
    except csv.Error as exc:
        raise ImportFileError(f"{path}: not readable as CSV: {exc}") from None


async def import_file(
    hub: Hub,
    path: Path,
    *,
    fmt: str | None = None,
    mapping: ColumnMapping | None = None,
    areas: Mapping[str, str] | None = None,
    batch_size: int = 500,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a JSON Lines or CSV file (optionally through a spreadsheet column mapping)."""
    fmt = fmt or detect_format(path)
    lines = _jsonl_lines(path) if fmt == "jsonl" else _csv_lines(path)
    report = ImportReport()
    pending: list[NewRecord] = []
    done_lines = 0

    async def flush() -> None:
        results = await hub.submit_batch(pending)
        report.created += sum(r.new for r in results)
        report.existing += sum(not r.new for r in results)
        pending.clear()
        if progress:
            progress(done_lines)

    for number, fields in lines:
        done_lines = number
        if isinstance(fields, LineError):
            report.errors.append(fields)
            continue
        if mapping:
            fields = mapping.apply(fields)
        try:
            pending.append(
                row_from_fields(
                    fields,
                    areas,
                    time_format=mapping.time_format if mapping else "",
                    tz=mapping.tz if mapping else UTC,
                )
            )
        except ValidationError as exc:
            problems = "; ".join(f"{e.field}: {e.render()}" for e in exc.errors)
            report.errors.append(LineError(number, problems))
        if len(pending) >= batch_size:
            await flush()
    if pending:
        await flush()
    return report


async def export_records(
    store: StorePort,
    out: TextIO,
    fmt: str,
    *,
    public: bool = False,
    areas: Sequence[Area] | None = None,
) -> int:
    """Write every record in its public form; returns how many (CSV cells spreadsheet-safe).

    ``public`` with the configured ``areas``: an area a resident typed (which may be a street
    address) is written as :data:`~fieldkit.web.public.ELSEWHERE`, as on the public board."""
    known = {area.id: area for area in areas} if public and areas is not None else None
    count = 0
    writer = None
    if fmt == "csv":
        columns = [c for c in CSV_COLUMNS if not public or c not in PUBLIC_OMITS]
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
    async for record in store.iter_records():
        obj = to_public(record, public=public)
        if known is not None:
            obj["area"] = public_area(str(obj["area"]), known)
        if writer is not None:
            writer.writerow(csv_row(obj))
        else:
            out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        count += 1
    return count


async def export_hxl(store: StorePort, out: TextIO, areas: Sequence[Area]) -> int:
    """Every record's public fields as HXL-tagged CSV (:mod:`fieldkit.web.exports`)."""
    known = {area.id: area for area in areas}
    writer = csv.writer(out)
    writer.writerow([column.header for column in HXL_COLUMNS])
    writer.writerow([column.tag for column in HXL_COLUMNS])
    count = 0
    async for record in store.iter_records():
        writer.writerow([_sheet_cell(cell) for cell in hxl_row(record, known)])
        count += 1
    return count


def _sheet_cell(cell: str) -> str:
    """A cell spreadsheet-safe, but a number as a number (a longitude of -74.0 is no formula)."""
    try:
        float(cell)
    except ValueError:
        return spreadsheet_safe(cell)
    return cell


@dataclass(frozen=True)
class MapReport:
    mapped: int  # open records counted
    unplaced: dict[str, int]  # exact counts of open records in areas without a centroid


async def export_geojson(store: StorePort, out: TextIO, areas: Sequence[Area]) -> MapReport:
    """Open records counted per area as a GeoJSON FeatureCollection (public, coarsened)."""
    known = {area.id: area for area in areas}
    tally = AreaTally()
    mapped = 0
    async for record in store.iter_records():
        mapped += tally.add(record, known)
    json.dump(feature_collection(tally, areas), out, ensure_ascii=False, indent=1)
    out.write("\n")
    return MapReport(mapped, unplaced_areas(tally, areas))
