"""Claims across partitions: two coordinators matching the same offer never lose a claim.

Each match op is a claim that both its records keep, in a grow-only set: whatever the order
ops arrive in, whichever hub saw what first, every claim stays and is shown, and when the
claims on one record together take more than it has, the record is flagged for a person.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from fieldkit.core.fold import RecordState, fold, state_hash
from fieldkit.core.ops import Create, Match, Op, RecordId, SetStatus
from fieldkit.core.records import Kind, QuantityUnit, Status
from tests.strategies import op_logs

A, B, C = 0xA0000001, 0xB0000002, 0xC0000003
OFFER, NEED1, NEED2 = RecordId(A, 1), RecordId(A, 2), RecordId(B, 1)
UNITS = QuantityUnit.UNITS


def create(rid: RecordId, kind: Kind, quantity: int | None = None, unit: str = "units") -> Op:
    fields: dict[str, object] = {"category": "water", "urgency": "today", "area": "north"}
    if quantity is not None:
        fields |= {"quantity": quantity, "quantity_unit": unit}
    return Op(rid.hub, rid.seq, rid.seq, Create(rid, kind, 0, fields))  # type: ignore[arg-type]


def match(origin: int, seq: int, hlc: int, need: RecordId, offer: RecordId,
          quantity: int | None = None, actor: str = "") -> Op:  # fmt: skip
    body = Match(need, offer, 0, 0, "", quantity, UNITS if quantity else None)
    return Op(origin, seq, hlc, body, 0, actor)


BASE = [create(OFFER, Kind.OFFER, 40), create(NEED1, Kind.NEED, 30), create(NEED2, Kind.NEED, 20)]


def test_two_coordinators_on_partitioned_hubs_matching_one_offer_are_both_shown_and_flagged() -> (
    None
):
    at_a = match(A, 10, 100, NEED1, OFFER, 30, "Ana")
    at_b = match(B, 10, 100, NEED2, OFFER, 20, "Jean")
    offer = fold([*BASE, at_a, at_b])[OFFER].view()
    assert {(c.need, c.actor) for c in offer.claims} == {(NEED1, "Ana"), (NEED2, "Jean")}
    assert offer.claim_conflict
    assert {c.value for c in offer.conflicts if c.field == "claim"} == {str(NEED1), str(NEED2)}
    assert offer.remaining == 0


def test_partial_matches_within_the_offer_keep_the_remaining_quantity_and_no_flag() -> None:
    ops = [*BASE, match(A, 10, 100, NEED1, OFFER, 25), match(B, 10, 100, NEED2, OFFER, 10)]
    offer = fold(ops)[OFFER].view()
    assert offer.remaining == 5
    assert not offer.claim_conflict
    assert len(offer.claims) == 2


def test_a_whole_offer_match_beside_another_claim_is_flagged() -> None:
    ops = [*BASE, match(A, 10, 100, NEED1, OFFER), match(B, 10, 100, NEED2, OFFER, 5)]
    assert fold(ops)[OFFER].view().claim_conflict


def test_one_need_matched_to_two_offers_at_once_is_flagged_on_the_need() -> None:
    other = RecordId(C, 1)
    ops = [*BASE, create(other, Kind.OFFER, 40),
           match(A, 10, 100, NEED1, OFFER, 30), match(C, 10, 100, NEED1, other, 30)]  # fmt: skip
    states = fold(ops)
    need = states[NEED1].view()
    assert need.claim_conflict
    assert {c.offer for c in need.claims} == {OFFER, other}
    assert not states[OFFER].view().claim_conflict  # each offer alone has enough


def test_the_same_pair_matched_twice_is_one_claim_not_a_conflict() -> None:
    ops = [*BASE, match(A, 10, 100, NEED1, OFFER, 30), match(B, 10, 101, NEED1, OFFER, 30)]
    offer = fold(ops)[OFFER].view()
    assert not offer.claim_conflict
    assert offer.remaining == 10


def test_reopening_the_offer_starts_afresh_and_clears_the_flag() -> None:
    ops = [*BASE, match(A, 10, 100, NEED1, OFFER, 30), match(B, 10, 100, NEED2, OFFER, 20)]
    reopen = Op(A, 11, 200, SetStatus(OFFER, Status.OPEN, 1, "sorted out"))
    state = fold([*ops, reopen])[OFFER]
    assert not state.view().claim_conflict
    assert state.view().remaining == 40
    assert len(state.claims) == 2  # history keeps both


def test_a_fulfilled_record_is_not_flagged_any_more() -> None:
    ops = [*BASE, match(A, 10, 100, NEED1, OFFER, 30), match(B, 10, 100, NEED2, OFFER, 20)]
    done = Op(A, 11, 200, SetStatus(OFFER, Status.FULFILLED, 0))
    assert not fold([*ops, done])[OFFER].view().claim_conflict


# --- random partitions and merge orders ----------------------------------------------------


@st.composite
def partitioned_histories(draw: st.DrawFn) -> list[Op]:
    """Three hubs each matching needs to the offer from what they have heard: between rounds,
    a random subset of hubs exchange everything (a partition heals for some, not others)."""
    rnd = random.Random(draw(st.integers(0, 2**32)))
    needs = [RecordId(C, 10 + i) for i in range(4)]
    base = [create(OFFER, Kind.OFFER, draw(st.integers(1, 60)))]
    base += [create(n, Kind.NEED, draw(st.integers(1, 30))) for n in needs]
    held: dict[int, dict[tuple[int, int], Op]] = {
        hub: {(o.origin, o.seq): o for o in base} for hub in (A, B, C)
    }
    seqs = {A: 100, B: 100, C: 100}
    made: list[Op] = []
    for _ in range(draw(st.integers(1, 8))):
        hub = rnd.choice((A, B, C))
        if fold(held[hub].values())[OFFER].view().remaining == 0:
            continue  # this coordinator sees nothing left (unless partitioned from the claim)
        seqs[hub] += 1
        hlc = max(o.hlc for o in held[hub].values()) + rnd.randint(1, 3)
        quantity = rnd.choice((None, rnd.randint(1, 30)))
        op = match(hub, seqs[hub], hlc, rnd.choice(needs), OFFER, quantity, f"coord-{hub:x}")
        held[hub][(op.origin, op.seq)] = op
        made.append(op)
        group = [h for h in (A, B, C) if rnd.random() < 0.5]  # these hubs meet
        union: dict[tuple[int, int], Op] = {}
        for h in group:
            union |= held[h]
        for h in group:
            held[h] |= union
    return base + made


@settings(max_examples=150, deadline=None)
@given(partitioned_histories(), st.randoms(use_true_random=False))
def test_after_any_partitions_and_merge_orders_every_claim_is_kept_and_flagged(
    ops: list[Op], rnd: random.Random
) -> None:
    replicas = []
    for _ in range(3):  # three hubs that got everything in a different order, with repeats
        order = ops + rnd.sample(ops, k=len(ops) // 3)
        rnd.shuffle(order)
        replicas.append(fold(order))
    hashes = {state_hash(r.values()) for r in replicas}
    assert len(hashes) == 1
    views = [r[OFFER].view() for r in replicas]
    assert all(v == views[0] for v in views)
    matches = [op for op in ops if isinstance(op.body, Match)]
    offer: RecordState = replicas[0][OFFER]
    assert {(c.origin, c.seq) for c in offer.claims} == {(m.origin, m.seq) for m in matches}
    shown = views[0].claims  # no re-opening here: every claim is at the current epoch
    assert {(c.origin, c.seq) for c in shown} == {(m.origin, m.seq) for m in matches}
    latest: dict[RecordId, Match] = {}
    for m in sorted(matches, key=lambda o: (o.hlc, o.origin, o.seq)):
        assert isinstance(m.body, Match)
        latest[m.body.need] = m.body
    quantity = offer.value("quantity")
    assert isinstance(quantity, int)
    over = len(latest) > 1 and (
        any(b.quantity is None for b in latest.values())
        or sum(b.quantity or 0 for b in latest.values()) > quantity
    )
    assert views[0].claim_conflict == over


@given(op_logs(), st.randoms(use_true_random=False))
def test_views_of_any_log_are_the_same_in_any_order_with_duplicates(ops: list[Op], rnd) -> None:  # type: ignore[no-untyped-def]
    shuffled = ops + rnd.sample(ops, k=len(ops) // 2)
    rnd.shuffle(shuffled)
    a, b = fold(ops), fold(shuffled)
    for rid, state in a.items():
        if state.complete:
            assert state.view() == b[rid].view()


@given(op_logs())
def test_a_lost_op_received_later_gives_the_same_state(ops: list[Op]) -> None:
    if not ops:
        return
    lost, rest = ops[len(ops) // 2], ops[: len(ops) // 2] + ops[len(ops) // 2 + 1 :]
    late = fold(rest)
    for rid in lost.records():
        late.setdefault(rid, RecordState(rid)).apply(lost)
    assert state_hash(late.values()) == state_hash(fold(ops).values())
