"""Inline SVG icons for the categories: a few hundred bytes in all, no image requests.

Each is a stroke path on a 24×24 grid, drawn in the text colour (``currentColor``).
"""

from __future__ import annotations

from collections.abc import Mapping

from fieldkit.core.records import Category

ICONS: Mapping[str, str] = {
    Category.WATER: "M12 3C9 8 6 11 6 15a6 6 0 0 0 12 0c0-4-3-7-6-12z",
    Category.FOOD: "M3 11h18a9 9 0 0 1-18 0zM8 4v4M12 3v5M16 4v4",
    Category.MEDICATION: "M4 14L14 4a4 4 0 0 1 6 6L10 20a4 4 0 0 1-6-6zM9 9l6 6",
    Category.MEDICAL_SUPPLIES: "M4 7h16v13H4zM9 7V4h6v3M12 10v7M8.5 13.5h7",
    Category.HEALTHCARE: "M12 20s-8-5-8-11a4 4 0 0 1 8-1 4 4 0 0 1 8 1c0 6-8 11-8 11z",
    Category.SHELTER: "M3 11l9-8 9 8M5 9v11h14V9M10 20v-6h4v6",
    Category.POWER_FUEL: "M13 2L4 14h7l-1 8 9-12h-7z",
    Category.TRANSPORT: "M3 13l2-6h14l2 6v5H3zM3 13h18M7 18v2M17 18v2",
    Category.CHILDCARE: "M9 6a3 3 0 1 0 6 0 3 3 0 1 0-6 0M8 21l1-9h6l1 9M5 13l4-2M19 13l-4-2",
    Category.ELDER_DISABILITY_CARE: "M10 5a2 2 0 1 0 .1 0M10 8v6h6l2 5M10 11h5M7 11a6 6 0 1 0 8 7",
    Category.HYGIENE: "M6 10h12v10H6zM9 10V7h6v3M12 7V3h4",
    Category.CLOTHING_BEDDING: "M8 3L3 7l3 3 2-1v12h8V9l2 1 3-3-5-4c-1 2-2 3-4 3S9 5 8 3z",
    Category.REPAIR_CLEANUP: "M15 4a4 4 0 0 0 5 5l-10 10-3-3L17 6M4 20l3-3",
    Category.SKILLS: "M12 3l2.6 5.6 6 .7-4.5 4.1 1.2 6L12 16.5l-5.3 2.9 1.2-6-4.5-4.1 6-.7z",
    Category.INFORMATION: "M12 2a10 10 0 1 0 .1 0M12 11v6M12 7v.5",
    Category.OTHER: "M5 12h.5M12 12h.5M19 12h.5",
}
