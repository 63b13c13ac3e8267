"""The sans-I/O sync engine: who lacks what, suppression, summaries."""

from __future__ import annotations

import random

from fieldkit.messages import Summary
from fieldkit.sync import (
    SendOps,
    SendSummary,
    SyncEngine,
    SyncSettings,
    Wait,
    expand,
    missing,
    summary_of,
)

A, B, C = 0xA, 0xB, 0xC
QUICK = SyncSettings(debounce=1000, jitter=0, suppress=10_000, heartbeat_min=60_000)


def engine(hub: int = A, settings: SyncSettings = QUICK) -> SyncEngine:
    e = SyncEngine(hub, settings, random.Random(1))
    e.sent_summary(0)  # the start-up summary is out of the way
    return e


def test_missing_lists_what_the_neighbour_lacks_as_ranges() -> None:
    mine = {A: 5, B: 3}
    assert missing(mine, Summary({A: 2, B: 3})) == {A: [(3, 5)]}
    assert missing(mine, Summary({})) == {A: [(1, 5)], B: [(1, 3)]}
    assert missing(mine, Summary({A: 9, B: 9})) == {}


def test_ops_a_neighbour_holds_past_its_gap_are_not_resent() -> None:
    assert missing({A: 10}, Summary({A: 2}, {A: (4, 5, 9)})) == {A: [(3, 3), (6, 8), (10, 10)]}


def test_summary_caps_the_seqs_held_past_a_gap() -> None:
    summary = summary_of({A: 1}, {A: range(3, 100), B: []})
    assert summary.extra == {A: tuple(range(3, 19))}


def test_in_sync_neighbours_have_nothing_to_send_each_other() -> None:
    a = engine()
    a.heard_summary(B, Summary({A: 4, B: 2}), {A: 4, B: 2}, now=100)
    assert isinstance(a.next_action({A: 4, B: 2}, 200), Wait)


def test_only_what_a_neighbour_lacks_is_offered() -> None:
    a = engine()
    a.heard_summary(B, Summary({A: 2}), {A: 4}, now=100)
    action = a.next_action({A: 4}, 100)
    assert action == SendOps(frozenset({(A, 3), (A, 4)}))


def test_ops_overheard_from_another_hub_are_not_offered_again_for_a_while() -> None:
    a = engine()
    a.heard_summary(B, Summary({A: 2}), {A: 4}, now=100)
    a.heard_ops(C, [(A, 3), (A, 4)], now=150)
    assert isinstance(a.next_action({A: 4}, 200), Wait)
    assert isinstance(a.next_action({A: 4}, 150 + QUICK.suppress - 1), Wait)
    # still lacking after the (partly random) suppression window: offered again
    later = 150 + QUICK.suppress * 3 // 2
    assert a.next_action({A: 4}, later) == SendOps(frozenset({(A, 3), (A, 4)}))


def test_a_neighbour_that_has_more_gets_our_summary_soon() -> None:
    a = engine()
    a.heard_summary(B, Summary({B: 7}), {A: 1}, now=100)
    assert isinstance(a.next_action({A: 1}, 100), SendSummary)


def test_a_change_is_summarised_after_the_debounce_and_heartbeats_back_off() -> None:
    a = engine()
    a.changed(now=1000)
    assert isinstance(a.next_action({A: 1}, 1500), Wait)
    assert isinstance(a.next_action({A: 1}, 2000), SendSummary)
    a.sent_summary(2000)
    first = a.heartbeat
    assert first <= a.next_heartbeat - 2000 <= first * 5 // 4  # spread, so hubs fall out of step
    a.sent_summary(a.next_heartbeat)
    assert a.heartbeat == 2 * first


def test_answers_to_a_summary_wait_a_random_jitter_so_others_can_be_overheard() -> None:
    a = SyncEngine(A, SyncSettings(jitter=5000), random.Random(3))
    a.sent_summary(0)
    a.heard_summary(B, Summary({}), {A: 1}, now=0)
    peer = a.peers[B]
    assert 0 <= peer.offer_at <= 5000
    before = a.next_action({A: 1}, peer.offer_at - 1) if peer.offer_at else None
    assert before is None or not isinstance(before, SendOps)
    assert a.next_action({A: 1}, peer.offer_at) == SendOps(frozenset({(A, 1)}))


def test_expand_lists_every_op_id_in_the_ranges() -> None:
    assert expand({A: [(1, 2), (5, 5)]}) == {(A, 1), (A, 2), (A, 5)}
