"""The HXL and GeoJSON exports: standard tags that libhxl reads, points at the configured
centroids, counts coarsened as on the public board, and never a private field."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import hxl
import pytest

from fieldkit.app.config import Area
from fieldkit.app.hub import Hub
from fieldkit.app.import_export import export_geojson, export_hxl, export_records, import_file
from fieldkit.core.fields import Status
from fieldkit.web.exports import HXL_COLUMNS

from .test_import_export import write_lines

AREAS = (
    Area("riverside", "Riverside", ("downtown",), 40.71234, -74.00611),
    Area("downtown", "Downtown", ("riverside",), 40.70001, -74.01002),
    Area("hillside", "Hillside"),  # no centroid
)
PRIVATE = ("Ana Pérez", "555-0100", "blue door", "two kids", "7KQ-4XD", "12 Oak Lane")


def need(area: str, **more: Any) -> dict[str, Any]:
    return {
        "kind": "need", "category": "water", "urgency": "critical", "area": area,
        "quantity": 4, "quantity_unit": "people", "note": "two kids", "ref": "7KQ-4XD",
        "share_contact": True, "created_at": "2026-11-20T14:03:11Z",
        "contact": {"name": "Ana Pérez", "phone": "+1 555-0100", "location": "blue door"},
        **more,
    }  # fmt: skip


async def load(hub: Hub, tmp_path: Path, *records: dict[str, Any]) -> None:
    report = await import_file(hub, write_lines(tmp_path / "in.jsonl", *records))
    assert report.errors == []


async def hxl_text(hub: Hub) -> str:
    out = io.StringIO()
    await export_hxl(hub.store, out, AREAS)
    return out.getvalue()


async def test_libhxl_reads_the_standard_tags_and_the_public_values(
    hub: Hub, tmp_path: Path
) -> None:
    await load(hub, tmp_path, need("riverside"), need("12 Oak Lane", kind="offer", urgency="today"))
    exported = tmp_path / "records.csv"
    exported.write_text(await hxl_text(hub), encoding="utf-8")
    dataset = hxl.data(str(exported), hxl.InputOptions(allow_local=True))
    assert dataset.display_tags == [column.tag for column in HXL_COLUMNS]
    assert "#severity" in dataset.display_tags
    assert "#geo+lat" in dataset.display_tags
    rows = sorted(dataset, key=lambda row: str(row.get("#meta+type")))
    assert [row.get("#meta+type") for row in rows] == ["need", "offer"]
    first, second = rows
    assert first.get("#item+type") == "water"
    assert first.get("#sector+code") == "WSH"
    assert first.get("#severity") == "critical"
    assert first.get("#status") == "open"
    assert (first.get("#item+num"), first.get("#item+unit")) == ("4", "people")
    assert (first.get("#loc+code"), first.get("#loc+name")) == ("riverside", "Riverside")
    assert (first.get("#geo+lat"), first.get("#geo+lon")) == ("40.71234", "-74.00611")
    assert first.get("#date+reported") == "2026-11-20T14:03:11.000Z"
    # an area a resident typed is not a configured one: named as on the public board
    assert (second.get("#loc+code"), second.get("#geo+lat")) == ("*elsewhere", None)
    assert dataset.columns[0].header == "Record"


async def test_the_hxl_export_carries_no_private_field(hub: Hub, tmp_path: Path) -> None:
    await load(hub, tmp_path, need("riverside"), need("12 Oak Lane", ref=""))
    text = await hxl_text(hub)
    for private in PRIVATE:
        assert private not in text


async def geojson(hub: Hub) -> tuple[dict[str, Any], dict[str, int]]:
    out = io.StringIO()
    report = await export_geojson(hub.store, out, AREAS)
    return json.loads(out.getvalue()), report.unplaced


def _valid_feature_collection(doc: dict[str, Any]) -> None:
    assert doc["type"] == "FeatureCollection"
    for feature in doc["features"]:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]  # RFC 7946: longitude first
        assert -180 <= lon <= 180
        assert -90 <= lat <= 90
        assert isinstance(feature["properties"], dict)


async def test_geojson_puts_each_area_at_its_configured_centroid(hub: Hub, tmp_path: Path) -> None:
    riverside = [need("riverside", ref="", note=f"household {i}") for i in range(3)]
    await load(hub, tmp_path, *riverside, need("downtown"))
    doc, _ = await geojson(hub)
    _valid_feature_collection(doc)
    points = {f["id"]: f["geometry"]["coordinates"] for f in doc["features"]}
    assert points == {"riverside": [-74.00611, 40.71234], "downtown": [-74.01002, 40.70001]}
    riverside = next(f for f in doc["features"] if f["id"] == "riverside")
    assert riverside["properties"] == {
        "area": "riverside", "name": "Riverside", "needs": {"water": "1–4"}, "offers": {},
    }  # fmt: skip


async def test_geojson_counts_are_coarsened_so_no_household_is_singled_out(
    hub: Hub, tmp_path: Path
) -> None:
    records = [need("riverside", ref="", note=f"household {i}") for i in range(12)]
    records += [need("downtown", ref="", category="food", kind="offer")]
    await load(hub, tmp_path, *records)
    doc, _ = await geojson(hub)
    shown = {f["id"]: f["properties"] for f in doc["features"]}
    assert shown["riverside"]["needs"] == {"water": "10+"}
    assert shown["downtown"]["offers"] == {"food": "1–4"}
    for props in shown.values():  # only bands, never an exact count
        for count in [*props["needs"].values(), *props["offers"].values()]:
            assert count in ("1–4", "5–9") or count.endswith("0+")


async def test_records_in_areas_without_a_centroid_are_reported_not_dropped(
    hub: Hub, tmp_path: Path
) -> None:
    await load(hub, tmp_path, need("hillside"), need("hillside", ref="", note="another"),
               need("12 Oak Lane", ref=""))  # fmt: skip
    doc, unplaced = await geojson(hub)
    assert unplaced == {"hillside": 2, "*elsewhere": 1}  # exact, for the operator's stderr
    assert [u["area"] for u in doc["unplaced"]] == ["hillside", "*elsewhere"]
    assert doc["unplaced"][0]["needs"] == {"water": "1–4"}


async def test_geojson_counts_open_records_only_and_no_private_field(
    hub: Hub, tmp_path: Path
) -> None:
    await load(hub, tmp_path, need("riverside"), need("downtown", ref=""),
               need("12 Oak Lane", ref=""))  # fmt: skip
    downtown = list(await hub.store.list_records(area="downtown"))
    await hub.set_status(downtown[0].id, Status.FULFILLED, "")
    doc, _ = await geojson(hub)
    text = json.dumps(doc, ensure_ascii=False)
    for private in PRIVATE:
        assert private not in text
    shown = {f["id"]: f["properties"]["needs"] for f in doc["features"]}
    assert shown == {"riverside": {"water": "1–4"}, "downtown": {}}


@pytest.mark.parametrize("fmt", ["hxl", "geojson"])
async def test_both_exports_of_an_empty_hub_are_valid(hub: Hub, fmt: str, tmp_path: Path) -> None:
    out = io.StringIO()
    if fmt == "hxl":
        assert await export_hxl(hub.store, out, AREAS) == 0
        data = io.BytesIO(out.getvalue().encode())
        assert len(list(hxl.data(data))) == 0
    else:
        report = await export_geojson(hub.store, out, AREAS)
        assert report.mapped == 0
        assert len(json.loads(out.getvalue())["features"]) == 2


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
async def test_a_public_export_names_a_typed_area_as_the_board_does(
    hub: Hub, tmp_path: Path, fmt: str
) -> None:
    await load(hub, tmp_path, need("riverside"), need("12 Oak Lane"))
    public, private = io.StringIO(), io.StringIO()
    await export_records(hub.store, public, fmt, public=True, areas=AREAS)
    await export_records(hub.store, private, fmt, areas=AREAS)
    for value in PRIVATE:
        assert value not in public.getvalue()
    assert "*elsewhere" in public.getvalue()
    assert "riverside" in public.getvalue()  # a configured area stays itself
    assert "12 Oak Lane" in private.getvalue()  # the coordinators' own export keeps it
