"""Issue 14: city-sized networks (up to 20 hubs in the suite; 40 and 100 in bench/convergence.py)
converge to one state whatever befalls them: loss, partitions, restarts and junk on air."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fieldkit.mesh import sim_topology
from fieldkit.mesh.gossip_sim import GossipSimulation
from fieldkit.sync.replica import MemoryReplica
from tests.sync.test_node import FAST, KEY, converged, submit

AREAS = ("riverside",)  # the network's area table: compact frames code it by index
HOUR = 3600.0


@st.composite
def cities(draw: st.DrawFn) -> tuple[sim_topology.Topology, int]:
    n = draw(st.integers(2, 20))
    seed = draw(st.integers(0, 10_000))
    loss = draw(st.sampled_from([0.0, 0.1, 0.3]))
    if draw(st.booleans()):
        topo = sim_topology.random_geometric(n, random.Random(seed), loss=loss)
    else:
        topo = sim_topology.line(n, loss)
    return topo, seed


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    city=cities(),
    writes=st.lists(st.tuples(st.integers(0, 19), st.integers(1, 5)), min_size=1, max_size=8),
    trouble=st.lists(
        st.tuples(st.sampled_from(["restart", "partition", "junk"]), st.integers(0, 19)),
        max_size=3,
    ),
)
async def test_cities_with_loss_partitions_restarts_and_junk_on_air_converge(
    city: tuple[sim_topology.Topology, int],
    writes: list[tuple[int, int]],
    trouble: list[tuple[str, int]],
) -> None:
    topo, seed = city
    event(f"{topo.n // 5 * 5}+ hubs")
    jammed = sim_topology.Topology(topo.n + 1, dict(topo.links))  # one more radio: no hub
    junk = topo.n
    near = seed % topo.n
    for hub in [near, *topo.hearers(near)]:
        jammed.connect(junk, hub)
    replicas = [MemoryReplica() for _ in range(topo.n)]
    sim = GossipSimulation(jammed, replicas, KEY, seed=seed, settings=FAST, areas=AREAS)
    for index, count in writes:
        submit(sim, index % topo.n, count)
    await sim.run(60)
    cut = []
    for what, index in trouble:
        index %= topo.n
        if what == "restart":
            sim.restart(index)
        elif what == "partition":
            sim.set_online(index, False)
            cut.append(index)
        else:  # 10 s of junk frames back to back beside a hub, while records are under way
            assert await sim.jam(junk, 10.0, random.Random(seed)) > 0
    survivor = next(i for i in range(topo.n) if i not in cut) if len(cut) < topo.n else None
    if survivor is not None:
        submit(sim, survivor, 2)  # a record sent amid the trouble
    await sim.run(sim.now + 300)
    for index in cut:  # the partition heals
        sim.set_online(index, True)
    await sim.run(sim.now + 6 * HOUR, done=lambda: converged(sim))
    assert converged(sim), f"{topo.n} hubs not converged after {sim.now:.0f} s of radio time"
    assert len({r.public_hash() for r in replicas}) == 1
