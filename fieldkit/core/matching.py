"""Matching needs with offers (pure core): which offers to suggest for a need, and why.

The rules, in the order they rank a suggestion (each is a named test in
``tests/core/test_matching.py``):

0. **Asked for first.** An offer the resident asked for ("I'd like this", a link between the
   need and the offer) comes before every other suggestion that could serve.
1. **Only what could serve.** An offer is suggested for a need only if it is an open (or
   partly taken) offer of the same category, not redacted, with something left to give.
2. **Nearer first.** Same area before an adjacent area (adjacency from the hub config, taken
   both ways) before anywhere else.
3. **Covering first.** Within one unit: an offer whose remaining quantity covers the whole
   need, then one that covers part of it, then one whose quantity is unknown or counted in
   another unit (a coordinator has to ask).
4. **Fresher first.** A newer offer is likelier still to be there.
5. Ties are broken by record id, so every hub suggests the same list.

For an offer, the needs it could serve are ranked the other way round: the most urgent need
first, then nearer, then covered whole, then the oldest need (it has waited longest).

Reasons are data (:class:`Reason`), so each page can say them in its resident's language
("same area · covers 4 of 4 people · offered 2 h ago").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum

from fieldkit.core.fields import Kind, QuantityUnit, Status
from fieldkit.core.fold import Record
from fieldkit.core.ops import URGENCY_RANK, RecordId

#: Offers a coordinator can still hand out (a matched offer may have quantity left).
SERVING = frozenset({Status.OPEN, Status.MATCHED})


class Nearness(IntEnum):
    SAME_AREA = 0
    ADJACENT_AREA = 1
    ELSEWHERE = 2


class Coverage(IntEnum):
    WHOLE = 0  # the offer's remaining quantity covers the whole need
    PART = 1  # it covers some of it
    UNKNOWN = 2  # no quantity on one side, or counted in different units


@dataclass(frozen=True)
class Reason:
    """Why a suggestion is where it is: what a page shows beside it."""

    nearness: Nearness
    coverage: Coverage
    covers: int | None  # how much of the need the offer covers (same unit), if known
    wanted: int | None  # how much the need asks for
    unit: QuantityUnit | None
    age_ms: int  # how long ago the suggested record was made


@dataclass(frozen=True)
class Suggestion:
    record: Record
    reason: Reason
    remaining: int | None  # what the offer has left to give (None: quantity unknown)


def adjacency(pairs: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    """Adjacency taken both ways: if the config says A borders B, B borders A too."""
    near: dict[str, set[str]] = {}
    for area, neighbours in pairs.items():
        for other in neighbours:
            if other != area:
                near.setdefault(area, set()).add(other)
                near.setdefault(other, set()).add(area)
    return {area: frozenset(others) for area, others in near.items()}


def nearness(a: str, b: str, near: Mapping[str, frozenset[str]]) -> Nearness:
    if a == b:
        return Nearness.SAME_AREA
    if b in near.get(a, frozenset()):
        return Nearness.ADJACENT_AREA
    return Nearness.ELSEWHERE


def remaining(offer: Record, served: Iterable[Record]) -> int | None:
    """What ``offer`` has left once the needs matched to it (``served``) are counted.

    A need takes what its match claimed (a partial match's quantity), else its own
    quantity; needs counted in another unit, or without a quantity, take nothing countable;
    a need that was cancelled or is no longer matched to this offer takes nothing.
    """
    if offer.quantity is None:
        return None
    claimed: dict[RecordId, int] = {}
    for claim in offer.claims:  # the latest claim per need, at the offer's current epoch
        if claim.quantity is not None and claim.unit == offer.quantity_unit:
            claimed[claim.need] = claim.quantity
    taken = 0
    for need in served:
        if offer.id not in need.matches or need.status not in (Status.MATCHED, Status.FULFILLED):
            continue
        if need.id in claimed:
            taken += claimed[need.id]
        elif need.quantity is not None and need.quantity_unit == offer.quantity_unit:
            taken += need.quantity
    return max(offer.quantity - taken, 0)


def _coverage(
    need: Record, left: int | None, unit: QuantityUnit | None
) -> tuple[Coverage, int | None]:
    if need.quantity is None or left is None or need.quantity_unit != unit:
        return Coverage.UNKNOWN, None
    covers = min(left, need.quantity)
    return (Coverage.WHOLE if covers >= need.quantity else Coverage.PART), covers


def _serves(offer: Record, need: Record, left: int | None) -> bool:
    return (
        offer.kind is Kind.OFFER
        and need.kind is Kind.NEED
        and offer.category == need.category
        and offer.status in SERVING
        and not offer.redacted
        and not need.redacted
        and left != 0
    )


def offers_for(
    need: Record,
    offers: Iterable[Record],
    *,
    near: Mapping[str, frozenset[str]],
    left: Mapping[RecordId, int | None],
    now_ms: int,
    limit: int = 5,
) -> list[Suggestion]:
    """The offers to suggest for ``need``, best first (``left``: each offer's remaining)."""
    found: list[tuple[tuple[int, int, int, int, int, int], Suggestion]] = []
    for offer in offers:
        rest = left.get(offer.id, offer.quantity)
        if not _serves(offer, need, rest):
            continue
        coverage, covers = _coverage(need, rest, offer.quantity_unit)
        reason = Reason(
            nearness(need.area, offer.area, near), coverage, covers, need.quantity,
            need.quantity_unit, max(now_ms - offer.created_at, 0),
        )  # fmt: skip
        asked = 0 if offer.id in need.linked else 1
        key = (
            asked,
            reason.nearness,
            reason.coverage,
            -offer.created_at,
            offer.id.hub,
            offer.id.seq,
        )
        found.append((key, Suggestion(offer, reason, rest)))
    found.sort(key=lambda pair: pair[0])
    return [suggestion for _, suggestion in found[:limit]]


def needs_for(
    offer: Record,
    needs: Iterable[Record],
    *,
    near: Mapping[str, frozenset[str]],
    left: int | None,
    now_ms: int,
    limit: int = 5,
) -> list[Suggestion]:
    """The open needs ``offer`` could serve, most urgent first (``left``: its remaining)."""
    found: list[tuple[tuple[int, int, int, int, int, int], Suggestion]] = []
    for need in needs:
        if need.status is not Status.OPEN or not _serves(offer, need, left):
            continue
        coverage, covers = _coverage(need, left, offer.quantity_unit)
        reason = Reason(
            nearness(offer.area, need.area, near), coverage, covers, need.quantity,
            need.quantity_unit, max(now_ms - need.created_at, 0),
        )  # fmt: skip
        key = (
            URGENCY_RANK[need.urgency.value], reason.nearness, reason.coverage,
            need.created_at, need.id.hub, need.id.seq,
        )  # fmt: skip
        found.append((key, Suggestion(need, reason, left)))
    found.sort(key=lambda pair: pair[0])
    return [suggestion for _, suggestion in found[:limit]]
