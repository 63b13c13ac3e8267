"""Convergence benchmark: fieldkit's gossip vs. flooding every record, on the simulated channel.

    python bench/convergence.py [--records M] [--hours H] [--loss 0.1] [--seed S]
    python bench/convergence.py --hubs N --topology line|mesh [--seeds 1,2,3] [--records M]
    python bench/convergence.py --table bench/convergence-city-output.txt   # README's table
    python bench/convergence.py --junk --hubs N --topology line|mesh [--seeds 1,2,3]

Scenarios: a line of 5 hubs, and a random geometric mesh of 10 hubs, 10% loss on every link
(or, with ``--hubs``, N hubs in one topology, once per seed: the city-scale runs).
M new records arrive at random hubs over H hours (as residents submit them). Measured in the
same run, on the same radio model (LongFast, half-duplex, collisions, deterministic):

- gossip: airtime until every hub holds every op (none may be missing);
- flooding, the baseline a volunteer has today: each record sent when it arrives as a JSON
  text message (split at 200 bytes), flooded by the mesh with hop limit 3 — it never repairs
  a loss and never reaches hubs more than 4 hops away: records missing somewhere are counted;
- flooding with our compact codec instead of JSON, to separate what the protocol buys from
  what the encoding buys;
- and what two in-sync hubs with 10,000 records each spend confirming it.

``--junk``: hubs in sync (20 records), then a radio in range of hub 0 and its neighbours puts
junk frames on air back to back for 10 s (offered at 100 frames a second: as many as the
channel carries); hub 0's resident submits a record as it ends. Printed: how long until every
hub holds it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from collections.abc import Callable
from pathlib import Path

from workload import KEY, NETWORK_AREAS, json_text, ops_at_hubs, split_utf8

from fieldkit.core.ops import Op
from fieldkit.mesh import airtime, sim_topology
from fieldkit.mesh.gossip_sim import GossipSimulation
from fieldkit.mesh.sim_radio import AirPacket, Delivery, RadioModel
from fieldkit.mesh.transport import BROADCAST, MAX_PAYLOAD, PRIVATE_APP
from fieldkit.sync.replica import MemoryReplica
from fieldkit.wire import frame as codec

Arrival = tuple[float, int, Op]  # when, at which hub index, the op


def hub_ids(n: int) -> list[int]:
    return [0xB0000000 + i for i in range(n)]


def arrivals(n: int, records: int, hours: float, seed: int) -> list[Arrival]:
    rng = random.Random(seed)
    ids = hub_ids(n)
    by_hub = ops_at_hubs(records, ids)
    out = [(rng.uniform(0, hours * 3600), ids.index(hub), op)
           for hub, ops in by_hub.items() for op in ops]  # fmt: skip
    out.sort(key=lambda a: (a[0], a[2].origin, a[2].seq))
    # a hub's ops are made in seq order: give each hub's arrival times to its ops in order
    times: dict[int, list[float]] = {}
    for t, index, _ in out:
        times.setdefault(index, []).append(t)
    fixed = []
    for index, hub in enumerate(ids):
        fixed += [(t, index, op) for t, op in zip(times.get(index, []), by_hub[hub], strict=True)]
    return sorted(fixed, key=lambda a: a[0])


async def gossip(
    topo: sim_topology.Topology, schedule: list[Arrival], seed: int, limit_s: float = 24 * 3600
) -> dict[str, float]:
    replicas = [MemoryReplica() for _ in range(topo.n)]
    sim = GossipSimulation(
        topo, replicas, KEY, seed=seed, hub_ids=hub_ids(topo.n), areas=NETWORK_AREAS
    )
    for t, index, op in schedule:
        await sim.run(t)
        replicas[index].add(op)
        sim.changed(index)
    total = len(schedule)
    await sim.run(sim.now + limit_s, done=lambda: all(len(r.ops) == total for r in replicas))
    control = sum(h.airtime_control_ms for h in sim.hubs)
    ours = control + sum(h.airtime_data_ms for h in sim.hubs)
    return {
        "largest_control_frame_bytes": max(h.largest_control_bytes for h in sim.hubs),
        "airtime_s": sim.airtime_ms() / 1000,
        "done_after_last_arrival_s": sim.now - schedule[-1][0],
        "ops_missing": sum(total - len(r.ops) for r in replicas),
        "control_share": control / ours if ours else 0.0,
    }


def flooding(
    topo: sim_topology.Topology, schedule: list[Arrival], seed: int,
    packets: Callable[[Op], list[bytes]], portnum: int,
) -> dict[str, float]:  # fmt: skip
    radio = RadioModel(topo, airtime.preset("LONG_FAST"), random.Random(seed))
    pieces: dict[int, tuple[tuple[int, int], int]] = {}  # packet id → (op id, parts)
    got: list[dict[tuple[int, int], int]] = [{} for _ in range(topo.n)]
    packet_id = 0

    def take(events: list[object]) -> None:
        for event in events:
            if isinstance(event, Delivery):
                op_id, _ = pieces[event.packet.packet_id]
                held = got[event.node]
                held[op_id] = held.get(op_id, 0) + 1

    for t, index, op in schedule:
        take(radio.advance(t))
        parts = packets(op)
        got[index][(op.origin, op.seq)] = len(parts)
        for payload in parts:
            packet_id += 1
            pieces[packet_id] = ((op.origin, op.seq), len(parts))
            size = airtime.frame_size(len(payload), portnum)
            packet = AirPacket(origin=radio.node_nums[index], dest=BROADCAST,
                               packet_id=packet_id, portnum=portnum, payload=payload,
                               hop_limit=3, hop_start=3, size=size)  # fmt: skip
            take(radio.submit(index, packet, t))
    take(radio.run_until_idle())
    need = dict(pieces.values())
    missing = sum(1 for held in got for op_id, parts in need.items() if held.get(op_id, 0) < parts)
    not_everywhere = sum(
        1 for op_id, parts in need.items() if any(h.get(op_id, 0) < parts for h in got)
    )
    return {
        "airtime_s": sum(s.airtime_ms for s in radio.stats()) / 1000,
        "ops_missing": missing,
        "records_not_everywhere": not_everywhere,
    }


def as_json_text(op: Op) -> list[bytes]:
    return split_utf8(json_text(op))


def as_codec(op: Op) -> list[bytes]:
    """The record alone in a frame of our codec, as hubs write it (compact, version 5)."""
    frame, _ = codec.pack_frame(
        KEY, op.origin, op.seq, [op], MAX_PAYLOAD, version=codec.COMPACT_VERSION,
        areas=NETWORK_AREAS,
    )  # fmt: skip
    return [frame]


async def in_sync_confirmation(records: int, seed: int) -> dict[str, float]:
    ids = hub_ids(2)
    ops = [op for hub_ops in ops_at_hubs(records, ids).values() for op in hub_ops]
    replicas = [MemoryReplica(), MemoryReplica()]
    for replica in replicas:
        for op in ops:
            replica.add(op)
    sim = GossipSimulation(
        sim_topology.full(2, 0.0), replicas, KEY, seed=seed, hub_ids=ids, areas=NETWORK_AREAS
    )
    await sim.run(20.0)  # each announces itself once; nothing else is owed
    return {
        "frames_each": max(h.node.stats.frames_out for h in sim.hubs),
        "summary_bytes": max(h.node.stats.control_bytes_out for h in sim.hubs),
        "data_bytes": sum(h.node.stats.data_bytes_out for h in sim.hubs),
        "airtime_s": sim.airtime_ms() / 1000,
    }


JUNK_S = 10.0
JUNK_RATE = 100  # frames a second offered; the channel carries far fewer


async def junk_burst(topo: sim_topology.Topology, seed: int, limit_s: float) -> dict[str, float]:
    """A record sent as a junk burst ends: seconds until every hub holds it."""
    ids = hub_ids(topo.n)
    by_hub = ops_at_hubs(21, ids)
    record = by_hub[ids[0]].pop()
    replicas = [MemoryReplica() for _ in range(topo.n)]
    for replica in replicas:
        for ops in by_hub.values():
            for op in ops:
                replica.add(op)
    jammed = sim_topology.Topology(topo.n + 1, dict(topo.links))
    junk = topo.n
    for hub in [0, *topo.hearers(0)]:  # in range of hub 0 and of its neighbours
        jammed.connect(junk, hub)
    sim = GossipSimulation(jammed, replicas, KEY, seed=seed, hub_ids=ids, areas=NETWORK_AREAS)
    await sim.run(1800.0)  # they meet and settle
    sent = await sim.jam(junk, JUNK_S, random.Random(seed), JUNK_RATE)
    replicas[0].add(record)
    sim.changed(0)
    sent_at = sim.now
    op_id = (record.origin, record.seq)
    await sim.run(sim.now + limit_s, done=lambda: all(op_id in r.ops for r in replicas))
    return {
        "junk_frames": sent,
        "record_everywhere_s": sim.now - sent_at,
        "hubs_without_it": sum(op_id not in r.ops for r in replicas),
    }


async def junk(args: argparse.Namespace) -> None:
    seeds = [int(s) for s in args.seeds.split(",") if s] or [args.seed]
    for seed in seeds:
        if args.topology == "line":
            topo = sim_topology.line(args.hubs, args.loss)
        else:
            topo = sim_topology.random_geometric(args.hubs, random.Random(seed), loss=args.loss)
        out = await junk_burst(topo, seed, args.limit_hours * 3600)
        name = f"junk_{args.topology}{args.hubs}_seed{seed}"
        print(f"{name}_junk_frames_on_air: {out['junk_frames']:.0f}")
        print(f"{name}_record_everywhere_s_after_junk: {out['record_everywhere_s']:.0f}")
        print(f"{name}_hubs_without_it: {out['hubs_without_it']:.0f}", flush=True)


def city_table(text: str) -> str:
    """The README's city-scale table from saved ``--hubs`` runs: per scenario, the range over
    its seeds."""
    runs: dict[str, dict[str, list[float]]] = {}
    for line in text.splitlines():
        if ": " not in line:
            continue
        name, value = line.split(": ", 1)
        scenario, _, figure = name.partition("_seed")
        figure = figure.split("_", 1)[1]
        runs.setdefault(scenario, {}).setdefault(figure, []).append(float(value))

    def span(values: list[float], fmt: str = "{:,.0f}") -> str:
        lo, hi = min(values), max(values)
        return fmt.format(lo) if lo == hi else f"{fmt.format(lo)}–{fmt.format(hi)}"

    def order(scenario: str) -> tuple[int, str]:
        return int("".join(c for c in scenario if c.isdigit())), scenario

    lines = [
        "| hubs (seeds) | control share of airtime | largest control frame | converged after "
        "the last record | ops missing |",
        "|---|---|---|---|---|",
    ]
    for scenario in sorted(runs, key=order):
        f = runs[scenario]
        kind = "line" if scenario.startswith("line") else "mesh"
        n = order(scenario)[0]
        lines.append(
            f"| {n}, {kind} ({len(f['ops_missing'])}) "
            f"| {span([100 * v for v in f['gossip_control_share']], '{:.1f}')}% "
            f"| {span(f['largest_control_frame_bytes'])} B "
            f"| {span(f['converged_s_after_last_record'])} s "
            f"| {span(f['ops_missing'])} |"
        )
    return "\n".join(lines)


async def city(args: argparse.Namespace) -> None:
    """N hubs in one topology, once per seed: gossip only (flooding never reaches them all)."""
    seeds = [int(s) for s in args.seeds.split(",") if s] or [args.seed]
    for seed in seeds:
        if args.topology == "line":
            topo = sim_topology.line(args.hubs, args.loss)
        else:
            topo = sim_topology.random_geometric(args.hubs, random.Random(seed), loss=args.loss)
        schedule = arrivals(topo.n, args.records, args.hours, seed)
        ours = await gossip(topo, schedule, seed, args.limit_hours * 3600)
        name = f"{args.topology}{args.hubs}_seed{seed}"
        print(f"{name}_gossip_airtime_s: {ours['airtime_s']:.1f}")
        print(f"{name}_gossip_control_share: {ours['control_share']:.3f}")
        print(f"{name}_largest_control_frame_bytes: {ours['largest_control_frame_bytes']:.0f}")
        print(f"{name}_converged_s_after_last_record: {ours['done_after_last_arrival_s']:.0f}")
        print(f"{name}_ops_missing: {ours['ops_missing']:.0f}", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=200, help="new records (default 200)")
    parser.add_argument("--hours", type=float, default=2.0, help="arrival period (default 2)")
    parser.add_argument("--loss", type=float, default=0.1, help="per-link loss (default 0.1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hubs", type=int, default=0, help="city scale: this many hubs")
    parser.add_argument("--topology", choices=("line", "mesh"), default="mesh")
    parser.add_argument("--seeds", default="", help="with --hubs: seeds to run, e.g. 1,2,3")
    parser.add_argument("--junk", action="store_true", help="with --hubs: the junk burst")
    parser.add_argument("--table", type=Path, help="print the README table of saved --hubs runs")
    parser.add_argument("--limit-hours", type=float, default=24.0,
                        help="give up this long after the last record")  # fmt: skip
    args = parser.parse_args()
    if args.table:
        print(city_table(args.table.read_text()))
        return
    if args.hubs and args.junk:
        await junk(args)
        return
    if args.hubs:
        await city(args)
        return

    scenarios = {
        "line5": sim_topology.line(5, args.loss),
        "mesh10": sim_topology.random_geometric(10, random.Random(args.seed), loss=args.loss),
    }
    for name, topo in scenarios.items():
        schedule = arrivals(topo.n, args.records, args.hours, args.seed)
        ours = await gossip(topo, schedule, args.seed)
        text = flooding(topo, schedule, args.seed, as_json_text, airtime.TEXT_MESSAGE_APP)
        compact = flooding(topo, schedule, args.seed, as_codec, PRIVATE_APP)
        print(f"{name}_hubs: {topo.n}")
        print(f"{name}_records: {args.records}")
        print(f"{name}_gossip_airtime_s: {ours['airtime_s']:.1f}")
        print(f"{name}_gossip_ops_missing: {ours['ops_missing']:.0f}")
        print(f"{name}_gossip_control_share: {ours['control_share']:.3f}")
        print(
            f"{name}_gossip_converged_s_after_last_record: {ours['done_after_last_arrival_s']:.0f}"
        )
        for label, base in (("json_flooding", text), ("codec_flooding", compact)):
            print(f"{name}_{label}_airtime_s: {base['airtime_s']:.1f}")
            print(f"{name}_{label}_ops_missing: {base['ops_missing']:.0f}")
            print(f"{name}_{label}_records_not_everywhere: {base['records_not_everywhere']:.0f}")
        for label, base in (("codec_flooding", compact), ("json_flooding", text)):
            print(f"{name}_airtime_ratio_vs_{label}: {ours['airtime_s'] / base['airtime_s']:.3f}")
    sync = await in_sync_confirmation(10_000, args.seed)
    print("in_sync_records_each: 10000")
    print(f"in_sync_frames_each: {sync['frames_each']:.0f}")
    print(f"in_sync_summary_bytes: {sync['summary_bytes']:.0f}")
    print(f"in_sync_data_bytes: {sync['data_bytes']:.0f}")
    print(f"in_sync_airtime_s: {sync['airtime_s']:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
