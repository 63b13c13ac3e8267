"""The public pages (home, board) can single nobody out: only configured areas are named, small
counts are ranges, and no private or typed value of any record ever shows."""

from __future__ import annotations

import html
import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldkit.app.hub import Hub
from fieldkit.core.records import Category, Contact, Draft, Kind, Urgency
from fieldkit.web.public import ELSEWHERE, coarse_count, public_counts

from .conftest import AREAS, ClientFactory

CONFIGURED = {area.id: area.name for area in AREAS}
LANGS = ("en", "es", "ht", "vi", "zh", "ar")
STREETS = ("Oak Lane", "Calle Ñandú", "Rue Kolibri", "Đường Lê Lợi", "梧桐街", "شارع النخيل")
COUNT = re.compile(r'<span class="n">([^<]*)</span>')
BAND = re.compile(r"1–4|5–9|[1-9]\d*0\+")


def generated(rng: random.Random, n: int) -> tuple[list[Draft], set[str]]:
    """``n`` needs and offers, a third of them in a typed area, each with its own private values;
    also the set of every value that must never reach a public page."""
    drafts, private = [], set()
    for i in range(n):
        street = f"{rng.randint(2, 998)} {rng.choice(STREETS)}, apt {i}"
        area = street if i % 3 == 0 else rng.choice(list(CONFIGURED))
        contact = Contact(
            f"Resident{i} {rng.choice(STREETS)}", f"555 {rng.randint(1000, 9999)} {i}",
            f"the {rng.choice(('red', 'blue'))} door {i}",
        )  # fmt: skip
        note = f"note {i}: {rng.choice(STREETS)} insulin {rng.randint(10, 99)}"
        kind = Kind.OFFER if i % 4 == 1 else Kind.NEED
        drafts.append(
            Draft(
                kind, rng.choice(list(Category)), rng.choice(list(Urgency)), area, note=note,
                quantity=rng.randint(1, 50), contact=contact, share_contact=rng.random() < 0.5,
            )
        )  # fmt: skip
        private |= {contact.name, contact.phone, contact.location, note}
        if area == street:
            private.add(street)
    return drafts, private


def leaks(page: str, private: set[str]) -> set[str]:
    return {
        v for v in private if v in page or html.escape(v) in page or html.escape(v, False) in page
    }


@pytest.mark.parametrize("seed", [1, 2])
async def test_no_private_or_typed_value_reaches_a_public_page_in_any_language(
    client_for: ClientFactory, hub: Hub, seed: int
) -> None:
    drafts, private = generated(random.Random(seed), 36)
    for draft in drafts:
        await hub.submit(draft)
    paths = ["/", "/board", "/board?area=Oak+Lane", *(f"/board?area={a}" for a in CONFIGURED)]
    async with client_for() as client:
        for lang in LANGS:
            for path in paths:
                sep = "&" if "?" in path else "?"
                page = (await client.get(f"{path}{sep}lang={lang}")).text
                assert leaks(page, private) == set(), (lang, path)
                shown = COUNT.findall(page)
                assert shown, (lang, path)
                assert [c for c in shown if not BAND.fullmatch(c)] == [], (lang, path)


async def test_typed_areas_are_counted_under_elsewhere_and_a_single_need_is_a_range(
    client_for: ClientFactory, hub: Hub
) -> None:
    await hub.submit(Draft(Kind.NEED, Category.MEDICATION, Urgency.TODAY, "12 Oak Lane, apt 3"))
    await hub.submit(Draft(Kind.NEED, Category.MEDICATION, Urgency.TODAY, "4 Elm St"))
    await hub.submit(Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside"))
    await hub.submit(Draft(Kind.OFFER, Category.FOOD, Urgency.TODAY, "7 Pine Rd", quantity=40))
    async with client_for() as client:
        board = (await client.get("/board")).text
        arabic = (await client.get("/?lang=ar")).text
    for typed in ("Oak Lane", "Elm St", "Pine Rd"):
        assert typed not in board
    assert 'medication · elsewhere: <span class="n">1–4</span>' in board  # two, folded
    assert 'water · Riverside: <span class="n">1–4</span>' in board  # one, never "1"
    assert "food</span> · elsewhere" in board  # the offer's typed area is hidden too
    assert "أماكن أخرى" in arabic


def test_counts_are_bands_below_ten_then_tens() -> None:
    assert [coarse_count(n) for n in (1, 4, 5, 9, 10, 19, 20, 137)] == [
        "1–4", "1–4", "5–9", "5–9", "10+", "10+", "20+", "130+",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="only positive"):
        coarse_count(0)


counts_st = st.dictionaries(
    st.tuples(st.sampled_from([c.value for c in Category]),
              st.sampled_from([*CONFIGURED, "12 Oak Lane", "", "Riverside", ELSEWHERE])),
    st.integers(0, 300), max_size=30,
)  # fmt: skip


@given(counts_st)
def test_public_counts_name_only_configured_areas_and_lose_no_need(
    counts: dict[tuple[str, str], int],
) -> None:
    shown = public_counts(counts, CONFIGURED)
    assert {c.area for c in shown} <= {*CONFIGURED, ELSEWHERE}
    assert all(BAND.fullmatch(c.shown) for c in shown)
    keys = [(c.category, c.area) for c in shown]
    assert len(keys) == len(set(keys))  # one line per category and public area
    expected = {
        (cat, area if area in CONFIGURED else ELSEWHERE) for (cat, area), n in counts.items() if n
    }
    assert set(keys) == expected
