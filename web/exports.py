"""Public exports for other tools (pure): HXL-tagged CSV rows and a GeoJSON map of areas.

Both carry the public fields only (kind, category, urgency, quantity, area, status, dates —
never a name, phone, exact location, note or reference code) and name only configured areas:
whatever a resident typed as their area is folded into :data:`~fieldkit.web.public.ELSEWHERE`,
as on the public board (:mod:`fieldkit.web.public`).

**HXL** (the Humanitarian Exchange Language, https://hxlstandard.org): a CSV whose second row
holds a hashtag (with attributes) per column, so HDX, HXL Proxy and ``libhxl`` read it
without a mapping. :data:`HXL_COLUMNS` is the mapping, documented in README.

**GeoJSON** (RFC 7946): one Point feature per configured area with a centroid
(``areas.ID.lat/lon`` in the config), its open needs and offers counted by category and
coarsened as on the public board ("1–4", "5–9", "10+"): a map never singles out a household.
Areas without a centroid (and records in no configured area) are listed, coarsened alike, in
the collection's ``unplaced`` member (and counted exactly for the operator by the CLI), never
dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fieldkit.app.config import Area
from fieldkit.core.fields import Category, Kind, Status
from fieldkit.core.fold import Record
from fieldkit.core.interchange import iso_ms
from fieldkit.core.ops import hub_name
from fieldkit.web.public import ELSEWHERE, coarse_count, public_area

#: The IASC global cluster (``#sector+code``) each category falls under.
SECTORS: dict[Category, str] = {
    Category.WATER: "WSH",
    Category.HYGIENE: "WSH",
    Category.FOOD: "FSC",
    Category.MEDICATION: "HEA",
    Category.MEDICAL_SUPPLIES: "HEA",
    Category.HEALTHCARE: "HEA",
    Category.SHELTER: "SHL",
    Category.CLOTHING_BEDDING: "SHL",
    Category.POWER_FUEL: "SHL",
    Category.REPAIR_CLEANUP: "ERY",
    Category.TRANSPORT: "LOG",
    Category.CHILDCARE: "PRO",
    Category.ELDER_DISABILITY_CARE: "PRO",
    Category.INFORMATION: "ETC",
    Category.SKILLS: "",
    Category.OTHER: "",
}


@dataclass(frozen=True)
class HxlColumn:
    header: str  # the human header row
    tag: str  # the HXL hashtag row


#: The columns of ``fieldkit export --format hxl``, in order: header, then HXL tag.
HXL_COLUMNS: tuple[HxlColumn, ...] = (
    HxlColumn("Record", "#meta+id"),
    HxlColumn("Hub", "#meta+source+code"),
    HxlColumn("Kind", "#meta+type"),
    HxlColumn("Category", "#item+type"),
    HxlColumn("Sector", "#sector+code"),
    HxlColumn("Urgency", "#severity"),
    HxlColumn("Quantity", "#item+num"),
    HxlColumn("Unit", "#item+unit"),
    HxlColumn("Area", "#loc+code"),
    HxlColumn("Area name", "#loc+name"),
    HxlColumn("Latitude", "#geo+lat"),
    HxlColumn("Longitude", "#geo+lon"),
    HxlColumn("Status", "#status"),
    HxlColumn("Reported", "#date+reported"),
)


def _degrees(value: float | None) -> str:
    return "" if value is None else f"{value:.5f}"


def hxl_row(record: Record, areas: Mapping[str, Area]) -> list[str]:
    """One record's public cells, in :data:`HXL_COLUMNS` order."""
    area_id = public_area(record.area, areas)
    area = areas.get(area_id)
    return [
        str(record.id),
        hub_name(record.hub),
        record.kind.value,
        record.category.value,
        SECTORS[record.category],
        record.urgency.value,
        "" if record.quantity is None else str(record.quantity),
        record.quantity_unit.value if record.quantity_unit else "",
        area_id,
        area.name if area else "",
        _degrees(area.lat if area else None),
        _degrees(area.lon if area else None),
        record.status.value,
        iso_ms(record.created_at),
    ]


#: What a map counts: the needs and offers still waiting to be served or to serve.
MAPPED = Status.OPEN
MAPPED_KINDS = (Kind.NEED, Kind.OFFER)


@dataclass
class AreaTally:
    """Exact counts of open records in areas, by kind and category (exact until shown)."""

    counts: dict[str, dict[tuple[Kind, Category], int]] = field(default_factory=dict)

    def add(self, record: Record, areas: Mapping[str, Area]) -> bool:
        """Count ``record`` if it is open; whether it was counted."""
        if record.status is not MAPPED or record.kind not in MAPPED_KINDS:
            return False
        by_kind = self.counts.setdefault(public_area(record.area, areas), {})
        key = (record.kind, record.category)
        by_kind[key] = by_kind.get(key, 0) + 1
        return True

    def total(self, area: str) -> int:
        return sum(self.counts.get(area, {}).values())


def _shown(counts: Mapping[tuple[Kind, Category], int], kind: Kind) -> dict[str, str]:
    found = {c.value: n for (k, c), n in sorted(counts.items()) if k is kind and n > 0}
    return {category: coarse_count(n) for category, n in found.items()}


def _properties(area_id: str, area: Area | None, tally: AreaTally) -> dict[str, Any]:
    counts = tally.counts.get(area_id, {})
    return {
        "area": area_id,
        "name": area.name if area else "",
        "needs": _shown(counts, Kind.NEED),
        "offers": _shown(counts, Kind.OFFER),
    }


def placed(area: Area) -> bool:
    return area.lat is not None and area.lon is not None


def unplaced_areas(tally: AreaTally, areas: Iterable[Area]) -> dict[str, int]:
    """Areas holding counted records but no centroid, with their exact counts (for the
    operator's report, never for the file)."""
    known = {a.id: a for a in areas}
    return {
        area_id: tally.total(area_id)
        for area_id in tally.counts
        if tally.total(area_id) and not (area_id in known and placed(known[area_id]))
    }


def feature_collection(tally: AreaTally, areas: Iterable[Area]) -> dict[str, Any]:
    """The GeoJSON FeatureCollection of ``tally``: a Point per configured area with a centroid
    (also those with nothing open, so a map shows where things are calm), and the areas
    without one under ``unplaced``."""
    listed = tuple(areas)
    known = {a.id: a for a in listed}
    features = [
        {
            "type": "Feature",
            "id": area.id,
            "geometry": {"type": "Point", "coordinates": [area.lon, area.lat]},
            "properties": _properties(area.id, area, tally),
        }
        for area in listed
        if placed(area)
    ]
    order = {a.id: i for i, a in enumerate(listed)}
    missing = sorted(unplaced_areas(tally, listed), key=lambda a: order.get(a, len(order)))
    return {
        "type": "FeatureCollection",
        "features": features,
        "unplaced": [_properties(a, known.get(a), tally) for a in missing],
    }


__all__ = [
    "ELSEWHERE",
    "HXL_COLUMNS",
    "SECTORS",
    "AreaTally",
    "feature_collection",
    "hxl_row",
    "unplaced_areas",
]
