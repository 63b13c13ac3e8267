"""Summaries stay within a frame whatever the number of hubs: past ``summary_origins`` a hub
lists a share of its origins in turn (changed ones first), and neighbours learn what it holds
across those partial summaries without mistaking an origin left out for one it lacks."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from fieldkit.mesh import sim_topology
from fieldkit.mesh.gossip_sim import GossipSimulation
from fieldkit.mesh.transport import MAX_PAYLOAD
from fieldkit.sync.engine import SyncEngine, SyncSettings
from fieldkit.sync.replica import MemoryReplica
from fieldkit.wire import frame as codec
from fieldkit.wire.messages import Envelope, Summary
from tests.sync.test_node import FAST, converged, submit

KEY = b"k" * 32
A, B = 0xA0000001, 0xB0000001
SMALL = SyncSettings(summary_origins=6, riding_origins=2)


def vector_of(origins: int, seed: int = 1, top: int = (1 << 24) - 1) -> dict[int, int]:
    rng = random.Random(seed)
    return {0xC0000000 + i: rng.randint(1, top) for i in range(origins)}


def send(engine: SyncEngine, mine: dict[int, int], now: int = 0) -> Summary:
    summary = engine.summary(mine, {})
    engine.sent_summary(now, summary)
    return summary


def test_a_summary_of_any_number_of_hubs_fits_a_frame_and_lists_every_origin_in_turn() -> None:
    mine = vector_of(300)
    engine = SyncEngine(A, SyncSettings(), random.Random(1))
    seen: set[int] = set()
    turns = 0
    while seen != set(mine):
        summary = send(engine, mine)
        frame = codec.encode_envelope(KEY, Envelope(A, turns + 1, summary))
        assert len(frame) <= MAX_PAYLOAD
        assert summary.partial
        assert codec.decode_envelope(KEY, frame).message == summary
        seen |= set(summary.vector)
        turns += 1
    # the first lists 12 changed origins (half the room) and 12 in turn; then 24 a time
    assert turns <= 300 // 12 + 1


def test_a_hub_with_few_origins_still_sends_its_whole_vector_as_before() -> None:
    mine = vector_of(24)
    summary = SyncEngine(A, SyncSettings(), random.Random(1)).summary(mine, {})
    assert not summary.partial
    assert summary == Summary(mine)


def test_origins_that_changed_are_listed_first_our_own_before_others() -> None:
    mine = vector_of(40) | {A: 5}
    engine = SyncEngine(A, SMALL, random.Random(1))
    for _ in range(10):
        send(engine, mine)  # every origin listed at its seq by now
    changed = sorted(mine)[7:9]
    mine = mine | {changed[0]: mine[changed[0]] + 1, changed[1]: mine[changed[1]] + 9, A: 6}
    summary = send(engine, mine)
    listed = set(summary.vector)
    assert {A, *changed} <= listed
    assert engine.listed[A] == 6  # told: no longer "changed" until it changes again


def test_a_partial_summary_says_nothing_of_the_origins_it_leaves_out() -> None:
    theirs = vector_of(10)
    listed = dict(sorted(theirs.items())[:3])
    left_out = sorted(theirs)[5]
    receiver = SyncEngine(B, SMALL, random.Random(1))
    mine = theirs | {left_out: theirs[left_out] + 5, sorted(listed)[0]: listed[min(listed)] + 2}
    receiver.heard_summary(A, Summary(listed, partial=True), mine, now=0)
    will_forward = {origin for origin, _ in receiver.forwarding}
    assert left_out not in will_forward  # A may well hold those: it did not say
    assert min(listed) in will_forward  # A said it lacks these


@settings(max_examples=40, deadline=None)
@given(
    origins=st.integers(7, 60),
    seed=st.integers(0, 10_000),
    order=st.randoms(use_true_random=False),
    extra_copies=st.integers(0, 5),
)
def test_partial_summaries_in_any_order_with_duplicates_teach_exactly_what_a_hub_holds(
    origins: int, seed: int, order: random.Random, extra_copies: int
) -> None:
    truth = vector_of(origins, seed, top=10_000)
    sender = SyncEngine(A, SMALL, random.Random(seed))
    summaries = []
    while set().union(*(s.vector for s in summaries)) != set(truth):
        summaries.append(send(sender, truth))
    arrivals = summaries + [order.choice(summaries) for _ in range(extra_copies)]
    order.shuffle(arrivals)
    receiver = SyncEngine(B, SMALL, random.Random(seed))
    for now, summary in enumerate(arrivals):
        receiver.heard_summary(A, summary, {}, now)
        known = receiver.peers[A].summary.vector
        assert all(known[o] == truth[o] for o in known)  # never more than it holds
    assert receiver.peers[A].summary.vector == truth


async def test_a_network_of_more_hubs_than_a_summary_lists_converges() -> None:
    topo = sim_topology.random_geometric(14, random.Random(3), loss=0.1)
    replicas = [MemoryReplica() for _ in range(topo.n)]
    small_fast = SyncSettings(
        debounce=FAST.debounce, jitter=FAST.jitter, forward=FAST.forward,
        heartbeat_min=FAST.heartbeat_min, summary_origins=5, riding_origins=2,
    )  # fmt: skip
    sim = GossipSimulation(topo, replicas, KEY, seed=3, settings=small_fast)
    for index in range(topo.n):
        submit(sim, index, 2)
    await sim.run(6 * 3600, done=lambda: converged(sim))
    assert converged(sim), f"not converged after {sim.now:.0f} s of radio time"
    assert all(len(r.ops) == 2 * topo.n for r in replicas)
    summaries = [h.node.stats.summaries_out for h in sim.hubs]
    assert max(summaries) > 0
