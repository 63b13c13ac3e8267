"""What the public pages (home, board) may show of the records, and nothing more (pure).

Anyone on the hub's Wi-Fi reads these pages, so they show what cannot single anyone out:

- **Areas:** only the network's configured areas are named. Whatever a resident typed as their
  area ("12 Oak Lane, apt 3") is counted under :data:`ELSEWHERE`, never shown.
- **Counts:** small counts are coarsened into bands (:func:`coarse_count`): "1–4", "5–9", then
  tens ("10+", "20+", …); never an exact small number, never a singleton.

Exact counts stay where they belong: the store, the console and the exports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: The public name of every area that is not a configured one (an id no configured area has:
#: area ids are lower-case letters, digits, ``-`` and ``_``).
ELSEWHERE = "*elsewhere"
#: Below this, a count is shown as a band ("1–4", "5–9"); from it on, rounded down to tens.
EXACT_FROM = 10


def _band(n: int) -> int:
    return 1 if n < 5 else 5 if n < EXACT_FROM else n // 10 * 10


def coarse_count(n: int) -> str:
    """A count as the public may see it: ``1–4``, ``5–9``, ``10+``, ``20+``, …"""
    if n < 1:
        raise ValueError(f"only positive counts are shown: {n}")
    if n < 5:
        return "1–4"
    if n < EXACT_FROM:
        return "5–9"
    return f"{n // 10 * 10}+"


def public_area(area: str, areas: Mapping[str, object]) -> str:
    """The area as a public page may name it: a configured area's id, else :data:`ELSEWHERE`."""
    return area if area in areas else ELSEWHERE


@dataclass(frozen=True)
class PublicCount:
    category: str
    area: str  # a configured area's id, or ELSEWHERE
    shown: str  # the coarsened count: the exact one never leaves this module


def public_counts(
    counts: Mapping[tuple[str, str], int], areas: Mapping[str, str]
) -> list[PublicCount]:
    """Counts by (category, area) folded onto the configured areas (the rest under
    :data:`ELSEWHERE`), coarsened, largest band first, then by category and area (elsewhere
    last)."""
    folded: dict[tuple[str, str], int] = {}
    for (category, area), n in counts.items():
        if n <= 0:
            continue
        key = (category, public_area(area, areas))
        folded[key] = folded.get(key, 0) + n
    order = {area: i for i, area in enumerate(areas)}

    def rank(item: tuple[tuple[str, str], int]) -> tuple[int, str, int]:
        (category, area), n = item  # by band, not by exact count: the order tells no more
        return (-_band(n), category, order.get(area, len(order)))

    return [
        PublicCount(category, area, coarse_count(n))
        for (category, area), n in sorted(folded.items(), key=rank)
    ]
