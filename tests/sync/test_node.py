"""Gossip over the simulated radio: every hub ends with every op, whatever the network does."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldkit.core.ops import Create, Op, RecordId
from fieldkit.core.records import Kind
from fieldkit.mesh import sim_topology
from fieldkit.mesh.gossip_sim import GossipSimulation
from fieldkit.sync.engine import SyncEngine, SyncSettings
from fieldkit.sync.node import GossipNode, Outgoing, ReplayGuard
from fieldkit.sync.replica import MemoryReplica
from fieldkit.wire.messages import Envelope, Summary

KEY = b"k" * 32
FAST = SyncSettings(debounce=5_000, jitter=1_500, forward=5_000, heartbeat_min=20_000)


def create(hub: int, seq: int, urgency: str = "today", **extra: object) -> Op:
    fields = {"category": "water", "urgency": urgency, "area": "riverside", "note": f"n{seq}"}
    return Op(hub, seq, seq * 1000, Create(RecordId(hub, seq), Kind.NEED, seq, fields | extra))


def simulation(topology: sim_topology.Topology, seed: int) -> GossipSimulation:
    replicas = [MemoryReplica() for _ in range(topology.n)]
    return GossipSimulation(topology, replicas, KEY, seed=seed, settings=FAST)


def converged(sim: GossipSimulation) -> bool:
    replicas = [h.replica for h in sim.hubs]
    assert all(isinstance(r, MemoryReplica) for r in replicas)
    return len({frozenset(r.ops) for r in replicas}) == 1  # type: ignore[attr-defined]


def submit(sim: GossipSimulation, index: int, count: int, urgency: str = "today") -> None:
    hub = sim.hubs[index]
    replica = hub.replica
    assert isinstance(replica, MemoryReplica)
    start = replica.contiguous.get(hub.hub_id, 0)
    for seq in range(start + 1, start + count + 1):
        replica.add(create(hub.hub_id, seq, urgency))
    sim.changed(index)


@st.composite
def networks(draw: st.DrawFn) -> tuple[sim_topology.Topology, int]:
    n = draw(st.integers(2, 6))
    seed = draw(st.integers(0, 10_000))
    kind = draw(st.sampled_from(["line", "grid", "random", "full"]))
    loss = draw(st.sampled_from([0.0, 0.1, 0.3]))
    topo = sim_topology.parse(kind, n, loss, random.Random(seed))
    return topo, seed


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    network=networks(),
    writes=st.lists(st.tuples(st.integers(0, 5), st.integers(1, 6)), min_size=1, max_size=6),
    trouble=st.lists(
        st.tuples(st.sampled_from(["restart", "partition"]), st.integers(0, 5)), max_size=3
    ),
)
async def test_random_networks_with_loss_partitions_and_restarts_converge(
    network: tuple[sim_topology.Topology, int],
    writes: list[tuple[int, int]],
    trouble: list[tuple[str, int]],
) -> None:
    topo, seed = network
    sim = simulation(topo, seed)
    for index, count in writes:
        submit(sim, index % topo.n, count)
    await sim.run(60)  # gossip gets going ...
    cut = []
    for what, index in trouble:  # ... then hubs reboot or drop off the network
        index %= topo.n
        if what == "restart":
            sim.restart(index)
        else:
            sim.set_online(index, False)
            cut.append(index)
    submit(sim, 0 if 0 not in cut else topo.n - 1, 2)
    await sim.run(sim.now + 300)
    for index in cut:  # the partition heals
        sim.set_online(index, True)
    await sim.run(sim.now + 4 * 3600, done=lambda: converged(sim))
    assert converged(sim), f"not converged after {sim.now:.0f} s of radio time"
    hashes = {h.replica.public_hash() for h in sim.hubs}  # type: ignore[attr-defined]
    assert len(hashes) == 1


async def test_a_line_of_hubs_relays_records_end_to_end() -> None:
    sim = simulation(sim_topology.line(5), seed=1)
    submit(sim, 0, 10)
    await sim.run(3600, done=lambda: converged(sim))
    assert converged(sim)
    far = sim.hubs[4].replica
    assert isinstance(far, MemoryReplica)
    assert len(far.ops) == 10


async def test_in_sync_hubs_confirm_it_with_one_summary_each() -> None:
    sim = simulation(sim_topology.full(2), seed=2)
    for hub in sim.hubs:
        replica = hub.replica
        assert isinstance(replica, MemoryReplica)
        for seq in range(1, 51):
            replica.add(create(0xA0000000, seq))
    await sim.run(10)
    assert [h.node.stats.frames_out for h in sim.hubs] == [1, 1]
    assert all(h.node.stats.data_bytes_out == 0 for h in sim.hubs)


async def test_critical_records_cross_first() -> None:
    sim = simulation(sim_topology.full(2), seed=3)
    submit(sim, 0, 30, urgency="flexible")
    submit(sim, 0, 5, urgency="critical")
    far = sim.hubs[1].replica
    assert isinstance(far, MemoryReplica)
    await sim.run(3600, done=lambda: len(far.ops) >= 5)
    arrived = list(far.ops.values())
    assert arrived
    assert {op.body.fields["urgency"] for op in arrived[:5]} == {"critical"}  # type: ignore[union-attr]


async def test_contact_details_travel_only_with_consent() -> None:
    sim = simulation(sim_topology.full(2), seed=4)
    near = sim.hubs[0].replica
    assert isinstance(near, MemoryReplica)
    near.add(create(0xA0000000, 1, contact_name="Ana", share_contact=False))
    near.add(create(0xA0000000, 2, contact_name="Jean", share_contact=True))
    sim.changed(0)
    await sim.run(3600, done=lambda: converged(sim))
    far = sim.hubs[1].replica
    assert isinstance(far, MemoryReplica)
    names = {rid.seq: state.value("contact_name") for rid, state in far.states.items()}
    assert names == {1: "", 2: "Jean"}


async def test_forged_and_replayed_frames_are_counted_and_dropped() -> None:
    from fieldkit.wire import frame as codec

    replica = MemoryReplica()
    node = GossipNode(0xB, replica, KEY, SyncEngine(0xB, FAST))
    genuine = codec.encode_envelope(KEY, Envelope(0xA, 7, Summary({0xA: 3})))
    forged = codec.encode_envelope(b"x" * 32, Envelope(0xA, 8, Summary({0xA: 3})))
    await node.receive(genuine, 0)
    await node.receive(genuine, 1)
    await node.receive(forged, 2)
    await node.receive(b"\x00garbage", 3)
    assert node.stats.rejected["replay"] == 1
    assert node.stats.rejected["auth"] == 1
    assert sum(node.stats.rejected.values()) == 3
    assert 0xA in node.engine.peers


def test_the_replay_guard_accepts_each_counter_once_within_its_window() -> None:
    guard = ReplayGuard()
    assert guard.accept(1, 100)
    assert not guard.accept(1, 100)
    assert guard.accept(1, 99)  # late, but inside the window and new
    assert guard.accept(1, 300)
    assert not guard.accept(1, 200)  # too far behind the newest
    assert guard.accept(2, 100)  # every sender has its own counters


def test_a_restored_replay_guard_accepts_nothing_at_or_below_what_it_kept() -> None:
    guard = ReplayGuard()
    for counter in (5, 9, 7):
        assert guard.accept(1, counter)
    assert guard.tops() == {1: 9}
    restarted = ReplayGuard(guard.tops())
    assert not any(restarted.accept(1, c) for c in (9, 8, 6, 1))  # 8 and 6 were never seen,
    assert restarted.accept(1, 10)  # but which were is forgotten: only newer ones pass
    assert not restarted.accept(1, 10)
    assert restarted.tops() == {1: 10}
    assert restarted.accept(2, 1)


async def test_a_summary_riding_on_ops_counts_as_the_senders_summary() -> None:
    from fieldkit.wire import frame as codec
    from fieldkit.wire.messages import Ops

    replica = MemoryReplica()
    node = GossipNode(0xB, replica, KEY, SyncEngine(0xB, FAST))
    summary = Summary({0xA: 7})
    await node.receive(
        codec.encode_envelope(KEY, Envelope(0xA, 1, Ops((create(0xA, 1),), summary))), 0
    )
    assert len(replica.ops) == 1
    assert node.engine.peers[0xA].summary == summary


async def test_a_gap_that_filled_before_its_summary_costs_no_frame() -> None:
    from fieldkit.wire import frame as codec
    from fieldkit.wire.messages import Ops

    replica = MemoryReplica()
    node = GossipNode(0xB, replica, KEY, SyncEngine(0xB, FAST, random.Random(1)))
    await node.next_payload(0)  # start-up
    frame = codec.encode_envelope(KEY, Envelope(0xA, 1, Ops((create(0xA, 2),))))
    await node.receive(frame, 10_000)  # A 1 lost: we hold A 2 past a gap
    gap_at = node.engine.gap_at
    assert gap_at is not None
    late = codec.encode_envelope(KEY, Envelope(0xA, 2, Ops((create(0xA, 1),))))
    await node.receive(late, 11_000)  # passed on by a neighbour meanwhile: the gap filled
    node.engine.summary_due = node.engine.settle_at = None  # (only the gap's summary pending)
    node.engine.next_heartbeat = gap_at + 3_600_000
    before = node.stats.summaries_out
    out = await node.next_payload(gap_at)
    assert not isinstance(out, Outgoing) or not isinstance(
        codec.decode_envelope(KEY, out.payload).message, Summary
    )
    assert node.stats.summaries_out == before
    assert node.engine.gap_at is None


async def test_a_neighbour_first_heard_with_its_summary_riding_on_ops_is_not_sent_ours() -> None:
    from fieldkit.wire import frame as codec
    from fieldkit.wire.messages import Ops

    node = GossipNode(0xB, MemoryReplica(), KEY, SyncEngine(0xB, FAST, random.Random(1)))
    due = node.engine.next_action({}, 0)  # our start-up summary, at a random moment
    assert isinstance(await node.next_payload(getattr(due, "until", 0)), Outgoing)
    assert node.engine.summary_due is None
    pushed = Ops((create(0xA, 2),), Summary({0xA: 2}))  # it heard ours and pushes, its own riding
    await node.receive(codec.encode_envelope(KEY, Envelope(0xA, 1, pushed)), 1_000)
    assert node.engine.peers[0xA].summary.vector == {0xA: 2}
    # it told us what it holds: no summary for it, only the debounce's for the change
    assert node.engine.summary_due is not None
    assert node.engine.summary_due >= 1_000 + FAST.debounce
