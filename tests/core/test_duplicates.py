"""Likely duplicates and freshness: the rules of fieldkit.core.duplicates and .freshness."""

from __future__ import annotations

from dataclasses import replace

from fieldkit.core.duplicates import PAIRWISE_LIMIT, Why, likely_duplicates, why_alike
from fieldkit.core.fold import Record, fold
from fieldkit.core.freshness import STILL_NEEDED_AFTER_MS, on_board, still_needed
from fieldkit.core.ops import Create, Op, RecordId
from fieldkit.core.records import Kind, Status

HUB = 0xA0000001
NOW = 1_790_000_000_000


def record(seq: int, kind: Kind = Kind.NEED, **fields: object) -> Record:
    base: dict[str, object] = {"category": "water", "urgency": "today", "area": "riverside"}
    rid = RecordId(HUB, seq)
    op = Op(HUB, seq, seq << 16, Create(rid, kind, NOW + seq, base | fields))  # type: ignore[arg-type]
    return fold([op])[rid].view()


def test_the_same_phone_in_another_spelling_is_a_likely_duplicate() -> None:
    a = record(1, contact_phone="555-0100 22")
    b = record(2, contact_phone="(555) 010022")
    assert why_alike(a, b) == (Why.SAME_PHONE,)


def test_the_same_name_whatever_its_case_and_spacing_is_a_likely_duplicate() -> None:
    assert why_alike(record(1, contact_name="Ana  Pérez"), record(2, contact_name="ana pérez")) == (
        Why.SAME_NAME,
    )


def test_near_identical_notes_are_a_likely_duplicate() -> None:
    a = record(1, note="Family of five, no drinking water since Monday.")
    b = record(2, note="family of five - no drinking water since monday")
    c = record(3, note="Family of six, no drinking water since Tuesday!")
    assert why_alike(a, b) == (Why.SIMILAR_NOTE,)
    assert why_alike(a, c) == (Why.SIMILAR_NOTE,)  # near, not identical


def test_short_or_different_notes_are_not_enough() -> None:
    assert why_alike(record(1, note="water"), record(2, note="water")) == ()
    a = record(1, note="Insulin for my father, fridge broke")
    b = record(2, note="Bottled water for the school kitchen")
    assert why_alike(a, b) == ()


def test_another_category_or_area_is_another_need_even_from_the_same_person() -> None:
    a = record(1, contact_phone="5550100")
    assert why_alike(a, record(2, contact_phone="5550100", category="food")) == ()
    assert why_alike(a, record(2, contact_phone="5550100", area="hillside")) == ()


def test_only_live_needs_are_compared() -> None:
    a = record(1, contact_phone="5550100")
    assert why_alike(a, record(2, Kind.OFFER, contact_phone="5550100")) == ()
    closed = replace(record(2, contact_phone="5550100"), status=Status.FULFILLED)
    assert why_alike(a, closed) == ()
    merged = replace(record(2, contact_phone="5550100"), merged_into=(a.id,))
    assert why_alike(a, merged) == ()


def test_the_list_names_the_older_record_first_and_each_pair_once() -> None:
    records = [record(3, contact_phone="5550100"), record(1, contact_phone="5550100"),
               record(2, note="nothing alike at all here")]  # fmt: skip
    (dup,) = likely_duplicates(records)
    assert (dup.first, dup.second) == (RecordId(HUB, 1), RecordId(HUB, 3))


def test_a_large_queue_still_finds_the_same_phone_and_the_same_note() -> None:
    many = [record(i, note=f"request number {i} of many") for i in range(1, PAIRWISE_LIMIT + 5)]
    many.append(record(1000, contact_phone="5550100"))
    many.append(record(1001, contact_phone="555 0100"))
    many.append(record(1002, note="request number 7 of many"))
    found = {(d.first.seq, d.second.seq) for d in likely_duplicates(many)}
    assert found == {(1000, 1001), (7, 1002)}


def test_a_need_older_than_the_age_is_flagged_still_needed_not_hidden() -> None:
    old = record(1)
    assert not still_needed(old, old.created_at + STILL_NEEDED_AFTER_MS)
    assert still_needed(old, old.created_at + STILL_NEEDED_AFTER_MS + 1)
    assert still_needed(old, old.created_at + 10, after_ms=5)  # the age is configurable


def test_a_residents_still_needed_makes_it_fresh_again() -> None:
    old = replace(record(1), confirmed=NOW + 50 * 3_600_000)
    assert not still_needed(old, NOW + STILL_NEEDED_AFTER_MS + 3_600_000)


def test_only_open_needs_are_asked_about() -> None:
    later = NOW + 2 * STILL_NEEDED_AFTER_MS
    assert not still_needed(replace(record(1), status=Status.MATCHED), later)
    assert not still_needed(record(1, Kind.OFFER), later)


def test_a_notice_leaves_the_board_when_it_expires_or_is_withdrawn() -> None:
    notice = record(1, Kind.NOTICE, expires=NOW + 1000)
    assert on_board(notice, NOW)
    assert not on_board(notice, NOW + 1000)
    assert not on_board(replace(notice, status=Status.CANCELLED), NOW)
    assert on_board(record(2, Kind.NOTICE), NOW + 10**9)  # no expiry: until withdrawn
    assert not on_board(record(3), NOW)
