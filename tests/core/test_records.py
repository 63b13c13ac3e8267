"""Validation of submissions, reference codes and the hybrid clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldkit.core.clock import HybridClock, pack, physical_ms
from fieldkit.core.records import Category, Kind, QuantityUnit, Urgency, parse_draft
from fieldkit.core.refcode import format_code, parse_code
from fieldkit.errors import ValidationError

GOOD = {"kind": "need", "category": "water", "urgency": "critical", "area": "Riverside"}
AREAS = {"riverside": "Riverside", "downtown": "Downtown"}


def errors_of(raw: dict[str, str]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        parse_draft(raw, AREAS)
    return {e.field: e.code for e in caught.value.errors}


def test_a_good_need_becomes_a_draft_with_its_area_canonicalised() -> None:
    draft = parse_draft(GOOD | {"quantity": "4", "note": "  two  kids\r\n\r\n\r\nno water "}, AREAS)
    assert (draft.kind, draft.category, draft.urgency) == (
        Kind.NEED,
        Category.WATER,
        Urgency.CRITICAL,
    )
    assert draft.area == "riverside"
    assert (draft.quantity, draft.quantity_unit) == (4, QuantityUnit.PEOPLE)
    assert draft.note == "two kids\n\nno water"


def test_every_field_error_is_reported_at_once() -> None:
    found = errors_of(
        {"kind": "request", "urgency": "asap", "quantity": "lots", "note": "x" * 281,
         "contact_phone": "call me", "share_contact": "maybe", "language": "<script>"}
    )  # fmt: skip
    assert found == {
        "kind": "unknown_choice", "category": "required", "urgency": "unknown_choice",
        "area": "required", "quantity": "not_a_number", "note": "too_long",
        "contact_phone": "bad_phone", "share_contact": "not_yes_no", "language": "bad_language",
    }  # fmt: skip


def test_errors_carry_their_parameters_for_translation() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_draft(GOOD | {"note": "x" * 300})
    (error,) = caught.value.errors
    assert error.params == {"max": 280, "length": 300}
    assert error.render() == "Please keep this to 280 characters (it has 300)."
    assert (
        error.render(lambda m: m.replace("Please keep this to", "Máximo"))
        == "Máximo 280 characters (it has 300)."
    )


def test_a_need_must_say_how_urgent_but_an_offer_defaults_to_flexible() -> None:
    assert errors_of(GOOD | {"urgency": ""}) == {"urgency": "required"}
    offer = parse_draft(GOOD | {"kind": "offer", "urgency": ""}, AREAS)
    assert offer.urgency is Urgency.FLEXIBLE


def test_free_text_areas_are_allowed_and_kept() -> None:
    assert parse_draft(GOOD | {"area": "Corner of 5th & Elm"}).area == "Corner of 5th & Elm"


def test_quantity_must_be_a_sensible_whole_number() -> None:
    assert errors_of(GOOD | {"quantity": "0"}) == {"quantity": "out_of_range"}
    assert errors_of(GOOD | {"quantity": "2.5"}) == {"quantity": "not_a_number"}


def test_numbers_take_any_scripts_digits_and_a_superscript_is_the_fields_error() -> None:
    # A phone keyboard in Arabic types ٣; "²" looks like a digit to str.isdigit but is none.
    assert parse_draft(GOOD | {"quantity": "٣"}, AREAS).quantity == 3
    assert errors_of(GOOD | {"quantity": "²"}) == {"quantity": "not_a_number"}
    assert errors_of(GOOD | {"expires": "1²"}) == {"expires": "bad_time"}


def test_control_characters_are_dropped_and_scripts_kept_as_plain_text() -> None:
    draft = parse_draft(GOOD | {"note": "a\x00b\x1b[31m <b>hi</b>", "contact_name": "Zoë\u200b"})
    assert draft.note == "ab[31m <b>hi</b>"
    assert draft.contact.name == "Zoë"


@given(st.integers(0, (1 << 30) - 1))
def test_reference_codes_round_trip_through_sloppy_typing(value: int) -> None:
    code = format_code(value)
    assert len(code) == 7
    assert code[3] == "-"
    sloppy = code.lower().replace("0", "o").replace("1", "l").replace("-", " ")
    assert parse_code(sloppy) == code


@pytest.mark.parametrize("typed", ["", "7KQ4X", "7KQ-4XDD", "7KQ-4XU", "7KQ!4XD"])
def test_malformed_reference_codes_are_refused(typed: str) -> None:
    assert parse_code(typed) is None


def test_the_clock_never_goes_backwards_even_when_the_wall_does() -> None:
    clock = HybridClock()
    first = clock.tick(1000)
    second = clock.tick(500)
    assert second > first
    assert physical_ms(second) == 1000


def test_a_remote_clock_far_in_the_future_cannot_drag_ours_along() -> None:
    clock = HybridClock(max_drift_ms=60_000)
    clock.observe(pack(10_000_000_000), wall_ms=1_000_000)
    assert physical_ms(clock.tick(1_000_000)) <= 1_000_000 + 60_000


def test_a_remote_clock_slightly_ahead_is_respected() -> None:
    clock = HybridClock()
    remote = pack(1_005_000, 3)
    clock.observe(remote, wall_ms=1_000_000)
    assert clock.tick(1_000_000) > remote


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 2_000_000)), max_size=50))
def test_ticks_are_strictly_increasing_whatever_happens(events: list[tuple[bool, int]]) -> None:
    clock = HybridClock()
    last = 0
    for is_remote, ms in events:
        if is_remote:
            clock.observe(pack(ms), wall_ms=1_000_000)
        stamp = clock.tick(1_000_000)
        assert stamp > last
        last = stamp
