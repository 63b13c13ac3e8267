"""The fold: any order, any duplicates, same state."""

from __future__ import annotations

from random import Random

from hypothesis import given
from hypothesis import strategies as st

from fieldkit.core.clock import HybridClock
from fieldkit.core.fold import RecordState, causal_after, fold, state_hash
from fieldkit.core.ops import Create, Match, Op, RecordId, Redact, SetStatus, Update
from fieldkit.core.records import Kind, Status
from tests.strategies import op_logs

R = RecordId(0x0A0A0A0A, 1)
OFFER = RecordId(0x0B0B0B0B, 1)
A, B = 0x0A0A0A0A, 0x0B0B0B0B
BASE = {"category": "water", "urgency": "today", "area": "north", "contact_name": "Ana"}


def create(hlc: int = 1, origin: int = A, seq: int = 1, **fields: object) -> Op:
    return Op(origin, seq, hlc, Create(R, Kind.NEED, 1000, BASE | fields, "7KQ-4XD"))


def state_of(*ops: Op) -> RecordState:
    return fold(ops)[R]


@given(op_logs(), st.randoms(use_true_random=False))
def test_any_permutation_or_duplication_gives_the_same_state(ops: list[Op], rnd) -> None:  # type: ignore[no-untyped-def]
    shuffled = ops + rnd.sample(ops, k=len(ops) // 2)
    rnd.shuffle(shuffled)
    assert state_hash(fold(shuffled).values()) == state_hash(fold(ops).values())


@given(op_logs())
def test_state_survives_a_json_round_trip(ops: list[Op]) -> None:
    states = fold(ops)
    again = [RecordState.from_json(s.to_json()) for s in states.values()]
    assert state_hash(again) == state_hash(states.values())


@given(op_logs())
def test_merging_two_partial_replicas_equals_folding_everything(ops: list[Op]) -> None:
    half = len(ops) // 2
    left, right = fold(ops[:half]), fold(ops[half:])
    for rid, state in right.items():
        target = left.setdefault(rid, RecordState(rid))
        for op in ops[half:]:
            target.apply(op)
        del state
    assert state_hash(left.values()) == state_hash(fold(ops).values())


def test_last_writer_wins_by_clock_then_hub() -> None:
    early = Op(A, 2, 10, Update(R, {"area": "south"}))
    late = Op(B, 1, 11, Update(R, {"area": "east"}))
    tie_low = Op(A, 3, 12, Update(R, {"note": "from a"}))
    tie_high = Op(B, 2, 12, Update(R, {"note": "from b"}))
    view = state_of(late, early, create(), tie_high, tie_low).view()
    assert view.area == "east"
    assert view.note == "from b"


def test_concurrent_losers_stay_visible_to_coordinators() -> None:
    view = state_of(
        create(),
        Op(A, 2, 10, Update(R, {"area": "south"})),
        Op(B, 1, 11, Update(R, {"area": "east"})),
    ).view()
    assert [(c.field, c.value, c.hub) for c in view.conflicts] == [("area", "south", A)]


def test_fulfilled_status_is_never_overridden() -> None:
    view = state_of(
        create(),
        Op(A, 2, 5, SetStatus(R, Status.FULFILLED, 0)),
        Op(B, 1, 9, SetStatus(R, Status.OPEN, 7, "reopened")),
        Op(B, 2, 10, SetStatus(R, Status.CANCELLED, 7)),
    ).view()
    assert view.status is Status.FULFILLED


def test_reopening_bumps_the_epoch_and_beats_a_cancel() -> None:
    view = state_of(
        create(),
        Op(A, 2, 5, SetStatus(R, Status.CANCELLED, 0)),
        Op(B, 1, 3, SetStatus(R, Status.OPEN, 1)),
    ).view()
    assert (view.status, view.epoch) == (Status.OPEN, 1)


def test_cancel_beats_a_concurrent_match_in_the_same_epoch() -> None:
    view = state_of(
        create(),
        Op(A, 2, 9, Match(R, OFFER, 0, 0, "St. Mary's 2-6 pm")),
        Op(B, 1, 5, SetStatus(R, Status.CANCELLED, 0)),
    ).view()
    assert view.status is Status.CANCELLED
    assert [c.value for c in view.conflicts if c.field == "status"] == ["matched"]


def test_a_match_links_both_records_and_carries_the_message() -> None:
    states = fold([create(), Op(B, 1, 9, Match(R, OFFER, 0, 0, "pick up water at St. Mary's"))])
    need = states[R]
    assert need.matches == {OFFER}
    assert states[OFFER].matches == {R}
    assert need.view().status_message == "pick up water at St. Mary's"


def test_redaction_is_absorbing_whatever_arrives_later() -> None:
    late_update = Op(B, 1, 50, Update(R, {"contact_phone": "555 0100", "note": "call me"}))
    for order in ([create(), Op(A, 2, 9, Redact(R)), late_update],
                  [late_update, Op(A, 2, 9, Redact(R)), create()]):  # fmt: skip
        view = state_of(*order).view()
        assert view.redacted
        assert (view.contact.name, view.contact.phone, view.note) == ("", "", "")
        assert not any(c.value for c in view.conflicts if c.field in ("note", "contact_phone"))


def test_an_update_before_its_create_waits_without_crashing() -> None:
    state = state_of(Op(B, 1, 50, Update(R, {"area": "east"})))
    assert not state.complete
    state.apply(create())
    assert state.view().area == "east"


def test_earliest_created_at_and_every_reference_code_are_kept() -> None:
    other = Op(B, 1, 3, Create(R, Kind.NEED, 500, BASE, "AAA-000"))
    view = state_of(create(), other).view()
    assert view.created_at == 500
    assert view.refs == ("7KQ-4XD", "AAA-000")


# --- causal order: clocks decide only between concurrent edits ------------------------------

YEAR_MS = 365 * 24 * 3600 * 1000


def test_an_edit_made_after_seeing_another_wins_whatever_the_clocks() -> None:
    ahead = Op(B, 1, (1_790_000_000_000 + YEAR_MS) << 16, Update(R, {"area": "from the future"}))
    held = state_of(create(1_790_000_000_000 << 16), ahead)
    stamp = (1_790_000_003_000) << 16  # three seconds later, by a clock that is right
    after = Op(A, 2, stamp, Update(R, {"area": "made after"}), causal_after([held.top], stamp))
    assert after.causal == 1
    for order in ((ahead, after), (after, ahead)):
        assert state_of(create(1_790_000_000_000 << 16), *order).view().area == "made after"


def test_the_causal_counter_stays_0_while_clocks_behave() -> None:
    assert causal_after([(0, 100), (0, 250)], 300) == 0
    assert causal_after([], 5) == 0
    assert causal_after([(0, 100), (2, 50)], 300) == 2  # after a counted edit, the stamp will do
    assert causal_after([(0, 300)], 300) == 1  # not later: one more than what was held
    assert causal_after([(1, 400), (3, 10)], 300) == 3


def test_a_causal_counter_orders_status_claims_of_one_epoch_too() -> None:
    first = Op(B, 1, 900 << 16, SetStatus(R, Status.MATCHED, 0, "pick up at 2 pm"))
    held = state_of(create(), first)
    stamp = 500 << 16
    second = Op(A, 2, stamp, SetStatus(R, Status.MATCHED, 0, "at 4 pm"),
                causal_after([held.top], stamp))  # fmt: skip
    assert state_of(second, first, create()).view().status_message == "at 4 pm"


def test_a_state_without_causal_counters_serialises_as_before() -> None:
    data = state_of(create(7), Op(B, 1, 9, Update(R, {"area": "east"}))).to_json()
    assert "top" not in data
    assert data["fields"]["area"] == [[[9, B], "east"], [[7, A], "north"]]
    counted = state_of(create(7), Op(B, 1, 5, Update(R, {"area": "east"}), causal=1))
    again = RecordState.from_json(counted.to_json())
    assert again.top == counted.top == (1, 5)
    assert again.view().area == "east"


@st.composite
def skewed_histories(draw: st.DrawFn) -> tuple[list[Op], list[tuple[Op, Op]]]:
    """Three hubs with clocks up to a year off edit one record, passing ops between them in
    any pattern. Returns every op, and each (op held, edit made after it) pair."""
    hubs = (A, B, 0x0C0C0C0C)
    offsets = {h: draw(st.sampled_from((0, YEAR_MS, -30 * 24 * 3600 * 1000, -5))) for h in hubs}
    held: dict[int, dict[tuple[int, int], Op]] = {h: {} for h in hubs}
    clocks = {h: HybridClock() for h in hubs}
    seqs = dict.fromkeys(hubs, 0)
    first = Op(A, 1, clocks[A].tick(1_790_000_000_000 + offsets[A]), Create(
        R, Kind.NEED, 1000, BASE, "7KQ-4XD"))  # fmt: skip
    seqs[A] = 1
    held[A][(A, 1)] = first
    everything, after = [first], []
    wall = 1_790_000_000_000
    for step in draw(
        st.lists(st.tuples(st.sampled_from(hubs), st.sampled_from(hubs)), max_size=12)
    ):
        wall += draw(st.integers(1, 10_000))
        editor, source = step
        if editor != source:  # the editor first hears everything the source holds
            for op in held[source].values():
                clocks[editor].observe(op.hlc, wall + offsets[editor])
            held[editor] |= held[source]
        seqs[editor] += 1
        stamp = clocks[editor].tick(wall + offsets[editor])
        state = fold(held[editor].values()).get(R)
        causal = causal_after([state.top] if state else [], stamp)
        value = f"{editor:x}-{seqs[editor]}"
        op = Op(editor, seqs[editor], stamp, Update(R, {"area": value}), causal)
        after.extend((seen, op) for seen in held[editor].values())
        held[editor][(editor, op.seq)] = op
        everything.append(op)
    return everything, after


@given(skewed_histories(), st.randoms(use_true_random=False))
def test_with_clocks_a_year_off_every_edit_orders_after_what_its_hub_held(
    history: tuple[list[Op], list[tuple[Op, Op]]], rnd: Random
) -> None:
    ops, after = history
    for seen, op in after:
        assert op.key > seen.key
    shuffled = ops + rnd.choices(ops, k=len(ops))  # duplicates too
    rnd.shuffle(shuffled)
    assert state_hash(fold(shuffled).values()) == state_hash(fold(ops).values())
    last = max(ops, key=lambda op: op.key)  # the edit nothing was made after wins everywhere
    if isinstance(last.body, Update):
        assert fold(shuffled)[R].view().area == last.body.fields["area"]
