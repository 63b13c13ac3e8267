"""ClockSkew: what neighbours' clocks say about ours; only a quorum moves our stamps."""

from __future__ import annotations

from fieldkit.core.clock import SKEW_MEMORY_MS, SKEW_TOLERANCE_MS, ClockSkew

NOW = 1_790_000_000_000
MONTH = 30 * 24 * 3600 * 1000


def test_nobody_heard_means_no_offset_and_no_disagreement() -> None:
    skew = ClockSkew()
    assert skew.offset_ms(NOW) == 0
    assert skew.view(NOW) == {
        "offset_ms": 0, "disagrees": False, "neighbour_offset_ms": None, "sources": {}
    }  # fmt: skip


def test_two_neighbours_a_month_ahead_correct_a_hub_that_booted_in_the_past() -> None:
    skew = ClockSkew()
    skew.observe("a", NOW + MONTH, NOW)
    assert skew.disagrees(NOW)
    assert skew.offset_ms(NOW) == 0  # one alone: shown, not believed
    skew.observe("b", NOW + MONTH + 2_000, NOW)
    assert skew.offset_ms(NOW) == MONTH + 1_000


def test_a_minority_or_a_small_difference_moves_nothing() -> None:
    skew = ClockSkew()
    for source, ahead in (("a", MONTH), ("b", 1_000), ("c", -500)):
        skew.observe(source, NOW + ahead, NOW)
    assert skew.offset_ms(NOW) == 0
    assert not skew.disagrees(NOW)
    small = ClockSkew()
    for source in "ab":
        small.observe(source, NOW + SKEW_TOLERANCE_MS // 2, NOW)
    assert small.offset_ms(NOW) == 0


def test_neighbours_behind_us_are_shown_but_never_pull_our_stamps_back() -> None:
    skew = ClockSkew()  # an old op only bounds a clock from below: it cannot prove ours ahead
    for source in "abc":
        skew.observe(source, NOW - MONTH, NOW)
    assert skew.disagrees(NOW)
    assert skew.offset_ms(NOW) == 0


def test_a_source_keeps_its_highest_bound_for_an_hour_then_forgets_it() -> None:
    skew = ClockSkew()
    skew.observe("a", NOW + MONTH, NOW)
    skew.observe("a", NOW + 5, NOW + 10)  # an old op it relayed: a lower bound, ignored
    assert skew.view(NOW + 10)["sources"] == {"a": MONTH}
    later = NOW + SKEW_MEMORY_MS + 1
    assert skew.median_ms(later) is None
    skew.observe("a", later + 7, later)
    assert skew.view(later)["sources"] == {"a": 7}
