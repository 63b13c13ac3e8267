"""Runner benchmark: what crosses in a short contact between two hubs.

    python bench/runner.py [--ops 500] [--contact 60] [--seed S] [--profile fixed|runner|mains]

Two hubs come into radio range (LongFast, no loss) for ``--contact`` seconds; one holds
``--ops`` ops the other lacks. Printed: how many ops (and how many ``critical`` ones) crossed,
beside the ideal for that airtime — the contact time divided by the airtime per op when ops
are packed into full frames — measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio

from workload import KEY, NETWORK_AREAS, frames_of, ops_at_hubs, urgency_of

from fieldkit.mesh import airtime, sim_topology
from fieldkit.mesh.gossip_sim import GossipSimulation
from fieldkit.mesh.transport import MAX_PAYLOAD
from fieldkit.sync.engine import SYNC_PROFILES
from fieldkit.sync.replica import MemoryReplica

A, B = 0xC0000001, 0xC0000002


def airtime_per_op(ops: list, modem: airtime.ModemPreset) -> float:  # type: ignore[type-arg]
    """Seconds of airtime per op when packed into full frames (the physical best)."""
    frames = frames_of(ops, MAX_PAYLOAD, A, 1, counter_step=0)
    return sum(airtime.packet_airtime_s(len(frame), modem) for frame, _ in frames) / len(ops)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ops", type=int, default=500)
    parser.add_argument("--contact", type=float, default=60.0, help="seconds in range")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", choices=SYNC_PROFILES, default="fixed", help="sync timings")
    args = parser.parse_args()

    ops = ops_at_hubs(args.ops, [A])[A]
    carrier, other = MemoryReplica(), MemoryReplica()
    for op in ops:
        carrier.add(op)
    sim = GossipSimulation(sim_topology.full(2), [carrier, other], KEY, seed=args.seed,
                           hub_ids=[A, B], settings=SYNC_PROFILES[args.profile],
                           areas=NETWORK_AREAS)  # fmt: skip
    await sim.run(args.contact)

    crossed = list(other.ops.values())
    critical = [op for op in ops if urgency_of(op) == "critical"]
    critical_crossed = [op for op in crossed if urgency_of(op) == "critical"]
    modem = airtime.preset("LONG_FAST")
    ideal = args.contact / airtime_per_op(ops, modem)
    print(f"# sync profile {args.profile}")
    print(f"contact_s: {args.contact:g}")
    print(f"ops_difference: {args.ops}")
    print(f"critical_ops: {len(critical)}")
    print(f"ops_crossed: {len(crossed)}")
    print(f"critical_crossed: {len(critical_crossed)}")
    print(f"airtime_per_op_ms_full_frames: {1000 * args.contact / ideal:.1f}")
    print(f"ideal_ops_in_contact: {ideal:.0f}")
    control = sum(h.node.stats.summaries_out + h.node.stats.wants_out for h in sim.hubs)
    print(f"control_frames: {control}")
    print(f"ops_crossed_over_ideal: {len(crossed) / ideal:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
