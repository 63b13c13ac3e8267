"""The ranking rules for matching needs with offers, one test per rule (fieldkit.core.matching)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from fieldkit.core.fields import Category, Kind, QuantityUnit, Status, Urgency
from fieldkit.core.fold import Record
from fieldkit.core.matching import (
    Coverage,
    Nearness,
    adjacency,
    needs_for,
    offers_for,
    remaining,
)
from fieldkit.core.ops import RecordId
from fieldkit.core.records import Contact

HOUR = 3_600_000
NOW = 1_800_000_000_000
NEAR = adjacency({"riverside": ["hillside"], "market": []})

_BASE = Record(
    id=RecordId(1, 1), kind=Kind.OFFER, category=Category.WATER, urgency=Urgency.TODAY,
    quantity=None, quantity_unit=None, area="riverside", note="", contact=Contact(),
    share_contact=False, language="en", refs=(), status=Status.OPEN, status_message="",
    epoch=0, matches=(), created_at=NOW - HOUR, redacted=False, updated=NOW - HOUR,
)  # fmt: skip
_seq = iter(range(2, 10_000))


def offer(**changes: object) -> Record:
    return replace(_BASE, id=RecordId(1, next(_seq)), kind=Kind.OFFER, **changes)  # type: ignore[arg-type]


def need(**changes: object) -> Record:
    return replace(_BASE, id=RecordId(2, next(_seq)), kind=Kind.NEED, **changes)  # type: ignore[arg-type]


def ranked(n: Record, *offers: Record, **kw: object) -> list[Record]:
    return [s.record for s in offers_for(n, offers, near=NEAR, left={}, now_ms=NOW, **kw)]  # type: ignore[arg-type]


def test_only_open_offers_of_the_same_category_are_suggested() -> None:
    water, food = offer(), offer(category=Category.FOOD)
    gone = offer(status=Status.FULFILLED)
    cancelled = offer(status=Status.CANCELLED)
    redacted = offer(redacted=True)
    another_need = need()
    assert ranked(need(), water, food, gone, cancelled, redacted, another_need) == [water]


def test_an_offer_with_nothing_left_is_not_suggested() -> None:
    empty = offer(quantity=10, quantity_unit=QuantityUnit.UNITS)
    left = {empty.id: 0}
    assert offers_for(need(), [empty], near=NEAR, left=left, now_ms=NOW) == []


def test_a_partly_taken_offer_is_still_suggested() -> None:
    partly = offer(status=Status.MATCHED, quantity=40, quantity_unit=QuantityUnit.UNITS)
    (suggestion,) = offers_for(need(), [partly], near=NEAR, left={partly.id: 12}, now_ms=NOW)
    assert suggestion.remaining == 12


def test_same_area_comes_before_an_adjacent_area_before_anywhere_else() -> None:
    elsewhere, adjacent, same = offer(area="market"), offer(area="hillside"), offer()
    assert ranked(need(area="riverside"), elsewhere, adjacent, same) == [same, adjacent, elsewhere]


def test_adjacency_counts_both_ways() -> None:
    assert NEAR["hillside"] == {"riverside"}
    assert ranked(need(area="hillside"), offer(area="riverside"))[0].area == "riverside"
    (s,) = offers_for(need(area="hillside"), [offer()], near=NEAR, left={}, now_ms=NOW)
    assert s.reason.nearness is Nearness.ADJACENT_AREA


def test_within_an_area_an_offer_covering_the_whole_need_comes_first() -> None:
    n = need(quantity=4, quantity_unit=QuantityUnit.PEOPLE)
    unknown = offer()
    part = offer(quantity=2, quantity_unit=QuantityUnit.PEOPLE)
    whole = offer(quantity=6, quantity_unit=QuantityUnit.PEOPLE)
    assert ranked(n, unknown, part, whole) == [whole, part, unknown]


def test_nearness_outranks_coverage() -> None:
    n = need(quantity=4, quantity_unit=QuantityUnit.PEOPLE)
    far_whole = offer(area="market", quantity=9, quantity_unit=QuantityUnit.PEOPLE)
    near_part = offer(quantity=1, quantity_unit=QuantityUnit.PEOPLE)
    assert ranked(n, far_whole, near_part) == [near_part, far_whole]


def test_coverage_is_counted_within_one_unit_only() -> None:
    n = need(quantity=4, quantity_unit=QuantityUnit.PEOPLE)
    bottles = offer(quantity=40, quantity_unit=QuantityUnit.UNITS)
    (s,) = offers_for(n, [bottles], near=NEAR, left={}, now_ms=NOW)
    assert (s.reason.coverage, s.reason.covers) == (Coverage.UNKNOWN, None)


def test_a_fresher_offer_comes_first_when_all_else_is_equal() -> None:
    old, new = offer(created_at=NOW - 9 * HOUR), offer(created_at=NOW - HOUR)
    assert ranked(need(), old, new) == [new, old]


def test_ties_are_broken_by_record_id_so_every_hub_shows_the_same_list() -> None:
    a, b = offer(), offer()
    assert ranked(need(), b, a) == ranked(need(), a, b) == [a, b]


def test_the_reason_says_what_the_page_shows() -> None:
    n = need(quantity=4, quantity_unit=QuantityUnit.PEOPLE)
    o = offer(quantity=4, quantity_unit=QuantityUnit.PEOPLE, created_at=NOW - 2 * HOUR)
    (s,) = offers_for(n, [o], near=NEAR, left={}, now_ms=NOW)
    # "same area · covers 4 of 4 people · offered 2 h ago"
    assert s.reason.nearness is Nearness.SAME_AREA
    assert (s.reason.covers, s.reason.wanted, s.reason.unit) == (4, 4, QuantityUnit.PEOPLE)
    assert s.reason.age_ms == 2 * HOUR


def test_the_limit_keeps_the_best() -> None:
    offers = [offer(created_at=NOW - i * HOUR) for i in range(10)]
    assert ranked(need(), *offers, limit=3) == offers[:3]


def test_remaining_counts_only_needs_still_matched_to_the_offer_in_its_unit() -> None:
    o = offer(quantity=40, quantity_unit=QuantityUnit.UNITS)
    units, people = QuantityUnit.UNITS, QuantityUnit.PEOPLE
    served = [
        need(quantity=12, quantity_unit=units, status=Status.MATCHED, matches=(o.id,)),
        need(quantity=5, quantity_unit=units, status=Status.FULFILLED, matches=(o.id,)),
        need(quantity=9, quantity_unit=units, status=Status.CANCELLED, matches=(o.id,)),
        need(quantity=3, quantity_unit=people, status=Status.MATCHED, matches=(o.id,)),
        need(quantity=7, quantity_unit=units, status=Status.MATCHED, matches=()),
    ]
    assert remaining(o, served) == 40 - 12 - 5
    assert remaining(offer(), served) is None


def test_remaining_never_goes_below_zero() -> None:
    o = offer(quantity=3, quantity_unit=QuantityUnit.UNITS)
    big = need(quantity=9, quantity_unit=QuantityUnit.UNITS, status=Status.MATCHED, matches=(o.id,))
    assert remaining(o, [big]) == 0


def test_for_an_offer_the_most_urgent_open_need_comes_first_then_nearer_then_oldest() -> None:
    o = offer(quantity=10, quantity_unit=QuantityUnit.PEOPLE)
    critical_far = need(urgency=Urgency.CRITICAL, area="market")
    today_near_new = need(urgency=Urgency.TODAY, created_at=NOW - HOUR)
    today_near_old = need(urgency=Urgency.TODAY, created_at=NOW - 5 * HOUR)
    flexible = need(urgency=Urgency.FLEXIBLE)
    matched = need(urgency=Urgency.CRITICAL, status=Status.MATCHED)
    found = needs_for(
        o, [flexible, today_near_new, matched, critical_far, today_near_old],
        near=NEAR, left=10, now_ms=NOW,
    )  # fmt: skip
    assert [s.record for s in found] == [critical_far, today_near_old, today_near_new, flexible]


@given(st.permutations(range(6)))
def test_the_ranking_does_not_depend_on_the_order_offers_arrive_in(order: list[int]) -> None:
    n = need(quantity=3, quantity_unit=QuantityUnit.PEOPLE)
    pool = [
        offer(area="market"), offer(area="hillside", quantity=5, quantity_unit=QuantityUnit.PEOPLE),
        offer(quantity=1, quantity_unit=QuantityUnit.PEOPLE), offer(created_at=NOW - 3 * HOUR),
        offer(), offer(quantity=3, quantity_unit=QuantityUnit.PEOPLE),
    ]  # fmt: skip
    assert ranked(n, *(pool[i] for i in order), limit=6) == ranked(n, *pool, limit=6)


def test_an_offer_the_resident_asked_for_comes_before_every_other() -> None:
    near, asked = offer(), offer(area="market")
    n = need(linked=(asked.id,))
    assert ranked(n, near, asked) == [asked, near]
    assert ranked(need(), near, asked) == [near, asked]


def test_a_partial_match_takes_what_it_claimed_not_the_whole_need() -> None:
    from fieldkit.core.fold import Claim

    o = offer(quantity=40, quantity_unit=QuantityUnit.UNITS)
    n = need(quantity=30, quantity_unit=QuantityUnit.UNITS, status=Status.MATCHED, matches=(o.id,))
    claim = Claim(9, 1, 1, n.id, o.id, 0, 0, 12, QuantityUnit.UNITS)
    assert remaining(replace(o, claims=(claim,)), [n]) == 28
    assert remaining(o, [n]) == 10  # without a claimed quantity, the need's own
