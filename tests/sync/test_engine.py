"""The sans-I/O sync engine: push what neighbours lack, pull what we lack, stay quiet otherwise."""

from __future__ import annotations

import random
from dataclasses import replace

from fieldkit.sync.engine import (
    SendOps,
    SendSummary,
    SendWant,
    SyncEngine,
    SyncSettings,
    Wait,
    expand,
    missing,
    summary_of,
    to_ranges,
)
from fieldkit.wire.messages import Summary

A, B, C = 0xA, 0xB, 0xC
QUICK = SyncSettings(debounce=10_000, jitter=0, forward=5_000, heartbeat_min=60_000)


def engine(
    hub: int = A, settings: SyncSettings = QUICK, mine: dict[int, int] | None = None
) -> SyncEngine:
    e = SyncEngine(hub, settings, random.Random(1))
    e.next_action(mine or {}, 0)  # ops held at start-up are not "new"
    e.sent_summary(0)  # the start-up summary is out of the way
    e.not_before = 0
    return e


def run_until_action(e: SyncEngine, mine: dict[int, int], now: int, limit: int = 10**7):  # type: ignore[no-untyped-def]
    """Step time forward to the engine's next wake-up until it wants to send something."""
    while now < limit:
        action = e.next_action(mine, now)
        if not isinstance(action, Wait):
            return action, now
        assert action.until is not None
        assert action.until > now
        now = action.until
    raise AssertionError("the engine never acted")


def test_missing_lists_what_the_neighbour_lacks_as_ranges() -> None:
    mine = {A: 5, B: 3}
    assert missing(mine, Summary({A: 2, B: 3})) == {A: [(3, 5)]}
    assert missing(mine, Summary({})) == {A: [(1, 5)], B: [(1, 3)]}
    assert missing(mine, Summary({A: 9, B: 9})) == {}


def test_ops_a_neighbour_holds_past_its_gap_are_not_resent() -> None:
    assert missing({A: 10}, Summary({A: 2}, {A: (4, 5, 9)})) == {A: [(3, 3), (6, 8), (10, 10)]}


def test_summary_caps_the_seqs_held_past_a_gap() -> None:
    assert summary_of({A: 1}, {A: range(3, 100), B: []}).extra == {A: tuple(range(3, 19))}


def test_ranges_and_ids_convert_both_ways() -> None:
    ids = {(A, 1), (A, 2), (A, 5), (B, 7)}
    assert to_ranges(ids) == {A: [(1, 2), (5, 5)], B: [(7, 7)]}
    assert expand(to_ranges(ids)) == ids


def test_in_sync_neighbours_have_nothing_to_send_each_other() -> None:
    a = engine(mine={A: 4, B: 2})
    a.heard_summary(B, Summary({A: 4, B: 2}), {A: 4, B: 2}, now=100)
    a.sent_summary(100)  # (a new neighbour is greeted with our summary)
    action, when = run_until_action(a, {A: 4, B: 2}, 101)
    assert isinstance(action, SendSummary)  # nothing but a heartbeat, much later
    assert when >= 100 + QUICK.heartbeat_min


def test_what_a_neighbour_lacks_is_pushed_after_a_random_wait() -> None:
    a = engine(mine={A: 4})
    a.heard_summary(B, Summary({A: 2}), {A: 4}, now=100)
    a.sent_summary(100)
    action, when = run_until_action(a, {A: 4}, 101)
    assert action == SendOps(frozenset({(A, 3), (A, 4)}))
    assert 100 < when <= 100 + QUICK.forward


def test_ops_overheard_from_another_hub_are_not_pushed_again() -> None:
    a = engine(mine={A: 4})
    a.heard_summary(B, Summary({A: 2}), {A: 4}, now=100)
    a.heard_summary(C, Summary({A: 4}), {A: 4}, now=100)
    a.sent_summary(100)
    a.not_before = 0
    a.heard_ops(C, [(A, 3), (A, 4)], now=101)
    action = a.next_action({A: 4}, 100 + QUICK.forward + 1)
    assert isinstance(action, Wait)


def test_new_ops_are_passed_on_only_if_a_neighbour_besides_the_sender_may_lack_them() -> None:
    middle = engine(hub=B, mine={})  # a line: A — B — C
    middle.heard_summary(A, Summary({}), {}, now=0)
    middle.heard_summary(C, Summary({}), {}, now=0)
    middle.sent_summary(0)
    middle.heard_ops(A, [(A, 1)], now=10, new=[(A, 1)])
    action, _ = run_until_action(middle, {A: 1}, 11)
    assert action == SendOps(frozenset({(A, 1)}))

    end = engine(hub=C, mine={})  # C's only neighbour is B, who sent it
    end.heard_summary(B, Summary({A: 1}), {}, now=0)
    end.sent_summary(0)
    end.heard_ops(B, [(A, 1)], now=10, new=[(A, 1)])
    end.summary_due = None
    assert isinstance(end.next_action({A: 1}, 10 + QUICK.forward + 1), Wait)


def test_what_we_lack_is_asked_of_one_neighbour_after_pushes_had_time_to_arrive() -> None:
    a = engine(mine={})
    a.heard_summary(B, Summary({B: 3}), {}, now=100)
    a.heard_summary(C, Summary({B: 1}), {}, now=100)
    a.sent_summary(100)
    action, when = run_until_action(a, {}, 101)
    assert action == SendWant(B, {B: [(1, 3)]})  # the one that can give the most
    assert when >= 100 + QUICK.forward


def test_a_want_for_another_hub_is_ignored_and_one_for_us_is_served() -> None:
    b = engine(hub=B, mine={B: 3})
    b.heard_want(C, A, {B: [(1, 3)]}, {B: 3}, now=50)
    b.summary_due = None
    assert isinstance(b.next_action({B: 3}, 51), Wait)
    b.heard_want(C, B, {B: [(2, 3)]}, {B: 3}, now=60)
    action, _ = run_until_action(b, {B: 3}, 61)
    assert action == SendOps(frozenset({(B, 2), (B, 3)}))


def test_a_provider_that_does_not_answer_is_passed_over_next_time() -> None:
    a = engine(mine={})
    a.heard_summary(B, Summary({B: 3}), {}, now=0)
    a.heard_summary(C, Summary({B: 2}), {}, now=0)
    a.sent_summary(0)
    first, when = run_until_action(a, {}, 1)
    assert isinstance(first, SendWant)
    assert first.provider == B
    a.sent_want(B, expand(first.ranges), when)
    second, _ = run_until_action(a, {}, when + 1)  # B stayed silent
    assert isinstance(second, SendWant)
    assert second.provider == C


def test_own_new_ops_are_pushed_once_when_someone_is_in_range() -> None:
    alone = engine(mine={A: 5})
    assert not isinstance(alone.next_action({A: 6}, 10), SendOps)  # nobody to hear it
    a = engine(mine={A: 5})
    a.heard_summary(B, Summary({A: 5}), {A: 5}, now=0)
    a.sent_summary(0)
    action, when = run_until_action(a, {A: 6}, 1)
    assert action == SendOps(frozenset({(A, 6)}))  # not the five it already had
    a.sent_ops([(A, 6)], when)
    a.not_before = 0
    assert isinstance(a.next_action({A: 6}, when + 1), Wait)


def test_someone_new_in_range_hears_our_summary_soon() -> None:
    a = engine(mine={A: 2})
    a.heard_ops(B, [], now=1000)
    action, when = run_until_action(a, {A: 2}, 1001)
    assert isinstance(action, SendSummary)
    assert when <= 1000 + QUICK.frame + QUICK.jitter + 1  # alone with it: a frame's wait


def test_someone_new_that_pushes_us_what_we_lack_needs_no_introduction() -> None:
    a = engine(mine={A: 2})
    a.heard_ops(B, [(B, 1)], now=1_000, new=[(B, 1)])  # it answers our summary: it knows us
    assert a.introduce == {}
    c = engine(mine={A: 2})
    c.heard_ops(C, [(A, 1)], now=1_000)  # nothing we lacked: it may not know us
    assert set(c.introduce) == {C}
    c.heard_ops(C, [(C, 1)], now=3_000, new=[(C, 1)])  # now it pushes: no introduction due
    assert c.introduce == {}


def test_a_change_is_summarised_within_the_debounce_however_many_follow() -> None:
    a = engine()
    a.changed(now=1000)
    a.changed(now=8000)
    assert isinstance(a.next_action({A: 1}, 8000), Wait)
    assert isinstance(a.next_action({A: 1}, 1000 + QUICK.debounce), SendSummary)


def test_heartbeats_back_off_and_are_spread_so_hubs_fall_out_of_step() -> None:
    a = engine()
    a.heard_summary(B, Summary({}), {}, now=0)
    a.changed(now=0)
    a.sent_summary(QUICK.debounce)
    first = a.heartbeat
    assert first <= a.next_heartbeat - QUICK.debounce <= first * 5 // 4
    a.sent_summary(a.next_heartbeat)
    assert a.heartbeat == 2 * first


def test_frames_are_paced_only_when_two_neighbours_could_collide() -> None:
    one = engine(mine={A: 1})
    one.heard_summary(B, Summary({}), {A: 1}, now=0)
    one.sent_ops([(A, 1)], 0)
    assert one.not_before == QUICK.frame
    two = engine(mine={A: 1})
    two.heard_summary(B, Summary({}), {A: 1}, now=0)
    two.heard_summary(C, Summary({}), {A: 1}, now=0)
    gaps = set()
    for _ in range(20):
        two.sent_ops([(A, 1)], 0)
        gaps.add(two.not_before - QUICK.frame)
    assert max(gaps) > 0
    assert min(gaps) >= 0


def test_a_hub_that_knows_a_frames_airtime_paces_by_it_not_by_a_full_frame() -> None:
    one = engine(mine={A: 1})
    one.heard_summary(B, Summary({}), {A: 1}, now=0)
    one.sent_ops([(A, 1)], 0, airtime=1_400)
    assert one.not_before == 1_400  # the next frame may go once this one is off the air
    one.sent_summary(5_000, airtime=600)
    assert one.not_before == 5_600


def test_no_want_goes_to_a_neighbour_while_it_is_pushing_us_what_we_lack() -> None:
    a = engine(mine={})
    a.heard_summary(B, Summary({B: 40}), {}, now=0)
    mine: dict[int, int] = {}
    for frame in range(9):  # its push, frame by frame, most urgent first: not in seq order
        t = 1_000 + frame * QUICK.frame
        got = [(B, seq) for seq in range(40 - 4 * frame, 36 - 4 * frame, -1)]
        a.heard_ops(B, got, t, got)
        assert not isinstance(a.next_action(mine, t), SendWant)
        last = t
    # its frames stopped with B 1..4 still lacking: asked for once it had time to send more
    action, when = run_until_action(a, mine, last + 1)
    assert isinstance(action, SendWant)
    assert when >= last + 3 * QUICK.frame


def test_a_gap_among_ops_a_neighbour_is_pushing_is_told_after_the_push_within_a_debounce() -> None:
    a = in_sync_with_b()
    a.heard_summary(B, Summary({A: 1, B: 30}), {A: 1}, now=0)
    a.gaps({A: 1}, {B: [30]}, now=0)  # its push starts with B 30: B 1..29 look lost
    assert a.gap_at is not None
    for t in range(2_000, SETTLED.debounce + 100_000, SETTLED.frame):
        a.heard_ops(B, [(B, 1)], t, [(B, 1)])  # a push that goes on and on
        a.gaps({A: 1}, {B: [30]}, now=t)
        assert a.gap_at >= min(t, SETTLED.debounce)  # postponed, but not forever
    assert a.gap_at == SETTLED.debounce


def test_a_hub_that_hears_nobody_announces_itself_every_couple_of_minutes() -> None:
    alone = engine()
    for _ in range(5):
        alone.sent_summary(alone.next_heartbeat)
    assert alone.heartbeat == QUICK.heartbeat_alone
    neighbour = engine()
    neighbour.heard_summary(B, Summary({}), {}, now=0)
    for _ in range(5):
        neighbour.sent_summary(neighbour.next_heartbeat)
    assert neighbour.heartbeat == QUICK.heartbeat_max


SETTLED = SyncSettings(
    debounce=20 * 60_000, jitter=0, forward=5_000, heartbeat_min=60_000, settle=60_000
)


def in_sync_with_b(settings: SyncSettings = SETTLED) -> SyncEngine:
    a = engine(settings=settings, mine={A: 1})
    a.heard_summary(B, Summary({A: 1}), {A: 1}, now=0)
    return a


def test_the_last_change_of_a_busy_spell_is_summarised_a_settle_after_it() -> None:
    a = in_sync_with_b()
    for t in range(1_000, 40_001, 13_000):  # a busy spell: no summary while it lasts
        a.changed(now=t)
        assert isinstance(a.next_action({A: 1}, t), Wait)
    action, when = run_until_action(a, {A: 1}, 40_001)
    assert isinstance(action, SendSummary)
    last = 40_000 - 40_000 % 13_000 + 1_000
    assert last + SETTLED.settle // 2 <= when <= last + 3 * SETTLED.settle // 2  # not 20 min


def test_a_gap_is_summarised_within_about_a_settle_however_busy_the_hour() -> None:
    a = in_sync_with_b()
    a.gaps({A: 1, B: 3}, {B: [5]}, now=0)  # B 4 lost: we hold B 5 past it
    first = None
    for t in range(0, 200_000, 10_000):
        a.changed(now=t)  # changes every 10 s keep the settle from coming
        if isinstance(a.next_action({A: 1, B: 3}, t), SendSummary):
            first = t
            break
    assert first is not None
    assert first <= 3 * SETTLED.settle // 2 + 10_000


def test_a_gap_already_told_is_told_again_only_a_heartbeat_later() -> None:
    a = in_sync_with_b()
    a.gaps({A: 1, B: 3}, {B: [5]}, now=0)
    assert a.gap_at is not None
    a.sent_summary(20_000)
    a.gaps({A: 1, B: 3}, {B: [5, 6]}, now=30_000)
    assert a.gap_at is None  # the same loss, told 30 s ago: neighbours are on it
    a.gaps({A: 1, B: 3}, {B: [5, 6]}, now=SETTLED.heartbeat_min + 1)
    assert a.gap_at is not None  # still lacking it a heartbeat later: tell again


def test_a_gap_that_is_a_newer_vocabulary_is_no_loss() -> None:
    a = in_sync_with_b()
    a.unreadable.add((B, 4))
    a.gaps({A: 1, B: 3}, {B: [5]}, now=0)
    assert a.gap_at is None


def test_frames_we_cannot_read_bring_a_summary_within_a_window() -> None:
    a = in_sync_with_b()
    a.heard_noise(now=5_000)  # a junk burst: what we sent meanwhile may be lost
    action, when = run_until_action(a, {A: 1}, 5_001)
    assert isinstance(action, SendSummary)
    assert when <= 5_000 + SETTLED.frame + SETTLED.jitter + 1  # one neighbour: a frame's wait


def test_a_summary_of_a_share_of_the_origins_ends_the_settle_unless_it_rode_on_data() -> None:
    many = {0x100 + i: 1 for i in range(40)}  # more origins than a summary lists
    for riding, settle_left in ((False, False), (True, True)):
        a = in_sync_with_b()
        a.changed(now=1_000)
        summary = a.summary(many, {}, riding=riding)
        assert summary.partial
        a.sent_summary(2_000, summary, riding=riding)
        assert (a.settle_at is not None) is settle_left


def settle_summary_sent(echoes: dict[int, dict[int, int]], mine: dict[int, int]) -> bool:
    """Whether A's settle summary goes, after a change at 1 s and then these neighbours'
    summaries (hub → vector) heard at 2 s."""
    a = engine(settings=SETTLED, mine=mine)
    a.changed(now=1_000)
    for hub, vector in echoes.items():
        a.heard_summary(hub, Summary(vector), mine, now=2_000)
    now = 2_001
    while True:  # ops a neighbour lacks go first
        action, now = run_until_action(a, mine, now)
        if not isinstance(action, SendOps):
            return isinstance(action, SendSummary) and now <= 1_000 + 3 * SETTLED.settle // 2
        a.sent_ops(action.ids, now)


#: As many neighbours as it takes to say what we hold for us (``settle_echoes``).
ECHOES = [0xE0 + i for i in range(SETTLED.settle_echoes)]


def test_no_settle_summary_once_enough_neighbours_said_just_what_we_hold() -> None:
    mine = {A: 3, B: 2}
    assert not settle_summary_sent(dict.fromkeys(ECHOES, mine), mine)
    assert settle_summary_sent(dict.fromkeys(ECHOES[1:], mine), mine)  # one fewer: it goes
    unlike = {**dict.fromkeys(ECHOES[1:], mine), C: {A: 3, B: 1}}
    assert settle_summary_sent(unlike, mine)  # C lacks one: an echo less (pushed, then told)


def test_the_settle_summary_of_a_share_of_the_origins_goes_whatever_neighbours_said() -> None:
    many = {0x100 + i: 1 for i in range(SETTLED.summary_origins + 1)}
    assert settle_summary_sent(dict.fromkeys(ECHOES, many), many)  # it lists its share in turn


def test_a_neighbour_heard_before_our_last_change_is_no_echo() -> None:
    a = engine(settings=SETTLED, mine={A: 3})
    for hub in ECHOES:
        a.heard_summary(hub, Summary({A: 3}), {A: 3}, now=500)
    a.changed(now=1_000)
    action, _ = run_until_action(a, {A: 3}, 1_001)
    assert isinstance(action, SendSummary)


def test_echoes_are_a_setting_and_zero_always_settles() -> None:
    a = SyncEngine(A, replace(SETTLED, settle_echoes=0), random.Random(1))
    a.next_action({A: 3}, 0)
    a.sent_summary(0)
    a.not_before = 0
    a.changed(now=1_000)
    for hub in ECHOES:
        a.heard_summary(hub, Summary({A: 3}), {A: 3}, now=2_000)
    action, _ = run_until_action(a, {A: 3}, 2_001)
    assert isinstance(action, SendSummary)
