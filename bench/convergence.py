"""Convergence benchmark: gossip vs. flooding every record, on the simulated LoRa channel.

    python bench/convergence.py [--records M] [--loss 0.1] [--seed S]

Scenarios: a line of 5 hubs, and a random geometric mesh of 10 hubs; M new records spread
across the hubs; 10% link loss. For each: the radio airtime until every hub holds every op
with fieldkit's gossip, beside the baseline of flooding each record as its own packet with
hop limit 3 (Meshtastic's managed flooding, which never reaches hubs more than 3 hops away:
those losses are counted). Then: what two in-sync hubs with 10,000 records each spend
confirming it. Everything runs in simulated time on the same radio model (deterministic).
"""

from __future__ import annotations

import argparse
import asyncio
import random

from workload import KEY, ops_at_hubs

from fieldkit import codec
from fieldkit.mesh import airtime, sim_topology
from fieldkit.mesh.gossip_sim import BROADCAST, GossipSimulation
from fieldkit.mesh.sim_radio import AirPacket, Delivery, RadioModel
from fieldkit.ops import Op
from fieldkit.replica import MemoryReplica

HOURS = 3600.0


def hub_ids(n: int) -> list[int]:
    return [0xB0000000 + i for i in range(n)]


async def gossip(
    topo: sim_topology.Topology, ops: dict[int, list[Op]], seed: int
) -> dict[str, float]:
    replicas = [MemoryReplica() for _ in range(topo.n)]
    sim = GossipSimulation(topo, replicas, KEY, seed=seed, hub_ids=list(ops))
    for i, hub_ops in enumerate(ops.values()):
        for op in hub_ops:
            replicas[i].add(op)
        sim.changed(i)
    total = sum(len(v) for v in ops.values())

    def done() -> bool:
        return all(len(r.ops) == total for r in replicas)

    await sim.run(24 * HOURS, done=done)
    control = sum(h.airtime_control_ms for h in sim.hubs)
    ours = control + sum(h.airtime_data_ms for h in sim.hubs)
    missing = sum(total - len(r.ops) for r in replicas)
    return {"airtime_s": sim.airtime_ms() / 1000, "time_s": sim.now, "ops_missing": missing,
            "control_share": control / ours if ours else 0.0}  # fmt: skip


def flooding(topo: sim_topology.Topology, ops: dict[int, list[Op]], seed: int) -> dict[str, float]:
    modem = airtime.preset("LONG_FAST")
    radio = RadioModel(topo, modem, random.Random(seed))
    ids: dict[int, tuple[int, int]] = {}
    packet_id = 0
    for index, hub_ops in enumerate(ops.values()):
        for op in hub_ops:  # each record as its own packet, flooded up to 3 hops
            payload, _ = codec.pack_ops(KEY, op.origin, op.seq, [op])
            packet_id += 1
            ids[packet_id] = (op.origin, op.seq)
            packet = AirPacket(
                origin=radio.node_nums[index], dest=BROADCAST, packet_id=packet_id,
                portnum=airtime.PRIVATE_APP, payload=payload, hop_limit=3, hop_start=3,
                size=airtime.frame_size(len(payload)),
            )  # fmt: skip
            radio.submit(index, packet, 0.0)
    held = [set() for _ in range(topo.n)]
    for index, hub_ops in enumerate(ops.values()):
        held[index] |= {(op.origin, op.seq) for op in hub_ops}
    for event in radio.run_until_idle():
        if isinstance(event, Delivery):
            held[event.node].add(ids[event.packet.packet_id])
    total = sum(len(v) for v in ops.values())
    missing = sum(total - len(h) for h in held)
    never = sum(1 for op_id in ids.values() if not all(op_id in h for h in held))
    return {"airtime_s": sum(s.airtime_ms for s in radio.stats()) / 1000, "ops_missing": missing,
            "records_not_everywhere": never}  # fmt: skip


async def in_sync_confirmation(records: int, seed: int) -> dict[str, float]:
    ids = hub_ids(2)
    ops = [op for hub_ops in ops_at_hubs(records, ids).values() for op in hub_ops]
    replicas = [MemoryReplica(), MemoryReplica()]
    for replica in replicas:
        for op in ops:
            replica.add(op)
    sim = GossipSimulation(sim_topology.full(2, 0.0), replicas, KEY, seed=seed, hub_ids=ids)
    await sim.run(20.0)  # each announces itself once; nothing else is owed
    frames = [h.node.stats.frames_out for h in sim.hubs]
    summary_bytes = max(h.node.stats.control_bytes_out for h in sim.hubs)
    data = sum(h.node.stats.data_bytes_out for h in sim.hubs)
    return {"frames_each": max(frames), "summary_bytes": summary_bytes, "data_bytes": data,
            "airtime_s": sim.airtime_ms() / 1000}  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=200, help="new records (default 200)")
    parser.add_argument("--loss", type=float, default=0.1, help="per-link loss (default 0.1)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    scenarios = {
        "line5": sim_topology.line(5, args.loss),
        "mesh10": sim_topology.random_geometric(10, random.Random(args.seed), loss=args.loss),
    }
    for name, topo in scenarios.items():
        ops = ops_at_hubs(args.records, hub_ids(topo.n))
        ours = await gossip(topo, ops, args.seed)
        base = flooding(topo, ops, args.seed)
        print(f"{name}_hubs: {topo.n}")
        print(f"{name}_records: {args.records}")
        print(f"{name}_gossip_airtime_s: {ours['airtime_s']:.1f}")
        print(f"{name}_gossip_converged_after_s: {ours['time_s']:.0f}")
        print(f"{name}_gossip_ops_missing: {ours['ops_missing']:.0f}")
        print(f"{name}_gossip_control_share: {ours['control_share']:.3f}")
        print(f"{name}_flooding_airtime_s: {base['airtime_s']:.1f}")
        print(f"{name}_flooding_ops_missing: {base['ops_missing']:.0f}")
        print(f"{name}_flooding_records_not_everywhere: {base['records_not_everywhere']:.0f}")
        print(f"{name}_airtime_ratio_vs_flooding: {ours['airtime_s'] / base['airtime_s']:.3f}")
    sync = await in_sync_confirmation(10_000, args.seed)
    print("in_sync_records_each: 10000")
    print(f"in_sync_frames_each: {sync['frames_each']:.0f}")
    print(f"in_sync_summary_bytes: {sync['summary_bytes']:.0f}")
    print(f"in_sync_data_bytes: {sync['data_bytes']:.0f}")
    print(f"in_sync_airtime_s: {sync['airtime_s']:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
