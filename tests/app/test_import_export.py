"""Import and export: idempotent, per-line errors, every field round-trips."""

from __future__ import annotations

import csv
import io
import json
import tomllib
from pathlib import Path

import pytest

from fieldkit.app.hub import Hub
from fieldkit.app.import_export import export_records, import_file
from fieldkit.core.interchange import iso_ms, parse_iso, parse_mapping
from fieldkit.core.ops import RecordId
from fieldkit.core.records import Status
from fieldkit.errors import ImportFileError

DATA = Path(__file__).parents[1] / "data"
SAMPLE = Path(__file__).parents[2] / "fieldkit" / "data" / "sample.jsonl"

FULL = {
    "id": "3fa9c2d1-42", "hub": "3fa9c2d1", "kind": "need", "status": "matched",
    "status_message": "pick up water at St. Mary's 2-6 pm",
    "created_at": "2026-11-20T14:03:11.250Z", "category": "water", "urgency": "critical",
    "quantity": 4, "quantity_unit": "people", "area": "riverside", "note": "two kids\nasthma",
    "language": "es", "ref": "7KQ-4XD", "share_contact": True,
    "contact": {"name": "Ana Pérez", "phone": "+1 555-0100", "location": "blue door"},
}  # fmt: skip


def write_lines(path: Path, *objs: object) -> Path:
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs))
    return path


async def export_jsonl(hub: Hub, public: bool = False) -> list[dict[str, object]]:
    out = io.StringIO()
    await export_records(hub.store, out, "jsonl", public=public)
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_every_field_round_trips_through_jsonl(hub: Hub, tmp_path: Path) -> None:
    report = await import_file(hub, write_lines(tmp_path / "in.jsonl", FULL))
    assert (report.created, report.errors) == (1, [])
    assert await export_jsonl(hub) == [FULL]


async def test_every_field_round_trips_through_csv(hub: Hub, hub2: Hub, tmp_path: Path) -> None:
    await import_file(hub, SAMPLE)
    csv_file = tmp_path / "out.csv"
    with csv_file.open("w", newline="") as out:
        await export_records(hub.store, out, "csv")
    report = await import_file(hub2, csv_file)
    assert (report.created, report.errors) == (28, [])
    assert await export_jsonl(hub2) == await export_jsonl(hub)


async def test_importing_the_same_file_twice_adds_nothing(hub: Hub) -> None:
    first = await import_file(hub, SAMPLE)
    again = await import_file(hub, SAMPLE)
    assert (first.created, again.created, again.existing) == (28, 0, 28)
    assert sum((await hub.store.counts()).values()) == 28


async def test_bad_lines_are_named_and_good_lines_still_imported(hub: Hub, tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    good = {"kind": "offer", "category": "food", "area": "downtown"}
    path.write_bytes(
        json.dumps(good).encode() + b"\n"
        + b'{"kind": "need", "category": "water", "urgency": "asap", "area": "x"}\n'
        + b"not json at all\n"
        + b"\n"
        + b'{"kind": "need", "category": "w\xff"}\n'
        + json.dumps(good | {"note": "second"}).encode() + b"\n"
        + json.dumps(good | {"colour": "red"}).encode() + b"\n"
    )  # fmt: skip
    report = await import_file(hub, path)
    assert report.created == 2
    assert [(e.line, e.message.split(":")[0]) for e in report.errors] == [
        (2, "urgency"), (3, "Not JSON"), (5, "not UTF-8 text"), (7, "colour"),
    ]  # fmt: skip


async def test_a_record_with_an_id_already_here_is_not_created_again(
    hub: Hub, tmp_path: Path
) -> None:
    await import_file(hub, write_lines(tmp_path / "a.jsonl", FULL))
    changed = FULL | {"note": "a different note"}
    report = await import_file(hub, write_lines(tmp_path / "b.jsonl", changed))
    assert (report.created, report.existing) == (0, 1)
    record = await hub.store.get(RecordId.parse(FULL["id"]))  # type: ignore[arg-type]
    assert record is not None
    assert (record.status, record.ref) == (Status.MATCHED, "7KQ-4XD")


async def test_a_google_forms_export_imports_through_a_column_mapping(hub: Hub) -> None:
    mapping = parse_mapping(tomllib.loads((DATA / "google-form-mapping.toml").read_text()))
    areas = {"riverside": "Riverside", "downtown": "Downtown"}
    report = await import_file(hub, DATA / "google-form.csv", mapping=mapping, areas=areas)
    assert report.created == 3
    assert [(e.line, e.message.split(":")[0]) for e in report.errors] == [(4, "category")]
    first, offer, insulin = await export_jsonl(hub)
    assert first["created_at"] == "2026-11-20T19:03:11.000Z"  # 14:03 at UTC-5
    assert (first["kind"], first["category"], first["urgency"], first["area"]) == (
        "need", "water", "critical", "riverside",
    )  # fmt: skip
    assert first["note"] == "Two kids, one with asthma; Ground floor only"
    assert first["contact"] == {"name": "Ana Pérez", "phone": "555-0100", "location": ""}
    assert (first["share_contact"], offer["share_contact"]) == (True, False)
    assert (offer["kind"], offer["urgency"], offer["quantity_unit"]) == (
        "offer",
        "flexible",
        "units",
    )
    assert insulin["contact"]["name"] == "Bà Linh"  # type: ignore[index]
    again = await import_file(hub, DATA / "google-form.csv", mapping=mapping)
    assert again.created == 0


def test_a_mapping_naming_an_unknown_field_is_refused() -> None:
    with pytest.raises(ImportFileError, match="unknown field 'phone'"):
        parse_mapping({"columns": {"Phone": "phone"}})


async def test_public_exports_leave_out_private_fields(hub: Hub, tmp_path: Path) -> None:
    await import_file(hub, write_lines(tmp_path / "a.jsonl", FULL))
    (public,) = await export_jsonl(hub, public=True)
    assert set(public) == set(FULL) - {"contact", "note", "ref", "status_message"}
    text = json.dumps(public)
    assert "Ana" not in text
    assert "555" not in text


async def test_a_byte_that_is_not_utf8_spoils_only_its_own_line(hub: Hub, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        b"kind,category,urgency,area\nneed,water,today,north\n"
        + "need,food,today,Peñas\n".encode("latin-1")
        + b"offer,water,,south\n"
    )
    report = await import_file(hub, path)
    assert report.created == 2
    assert [(e.line, e.message) for e in report.errors] == [
        (3, "not UTF-8 text (save it as “CSV UTF-8”)")
    ]
    assert sorted(r["area"] for r in await export_jsonl(hub)) == ["north", "south"]


async def test_a_header_that_is_not_utf8_refuses_the_file_with_advice(
    hub: Hub, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("kind,categoría,urgency,area\nneed,water,today,north\n".encode("latin-1"))
    with pytest.raises(ImportFileError, match="CSV UTF-8"):
        await import_file(hub, path)
    assert await export_jsonl(hub) == []


FORMULA = '=HYPERLINK("http://evil.example","Open")'


async def test_csv_exports_never_hand_a_spreadsheet_a_formula(hub: Hub, tmp_path: Path) -> None:
    typed = {**FULL, "area": FORMULA, "note": "@SUM(A1)", "contact": {"name": "-2+3"}}
    await import_file(hub, write_lines(tmp_path / "in.jsonl", typed))
    for public in (False, True):
        out = io.StringIO()
        await export_records(hub.store, out, "csv", public=public)
        (row,) = csv.DictReader(io.StringIO(out.getvalue()))
        assert row["area"] == "'" + FORMULA
        assert all(not cell.lstrip(" ").startswith(("=", "+", "-", "@")) for cell in row.values())
    assert row.get("note") is None  # public: the note is not exported at all


async def test_a_spreadsheet_safe_export_imports_back_exactly(
    hub: Hub, hub2: Hub, tmp_path: Path
) -> None:
    typed = {**FULL, "area": FORMULA, "note": "'=quoted", "contact": {"phone": "+1 555"}}
    await import_file(hub, write_lines(tmp_path / "in.jsonl", typed))
    csv_file = tmp_path / "out.csv"
    with csv_file.open("w", newline="") as out:
        await export_records(hub.store, out, "csv")
    report = await import_file(hub2, csv_file)
    assert (report.created, report.errors) == (1, [])
    assert await export_jsonl(hub2) == await export_jsonl(hub)


def test_timestamps_keep_millisecond_precision() -> None:
    assert parse_iso(iso_ms(1_795_600_000_123)) == 1_795_600_000_123
    assert parse_iso("2026-11-20T14:03:11+01:00") == parse_iso("2026-11-20T13:03:11Z")
