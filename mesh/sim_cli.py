"""``fieldkit sim``: run a simulated LoRa mesh of Meshtastic radios until SIGINT/SIGTERM.

Node ``i`` listens on ``--port + i`` (``--port 0``: ephemeral ports, printed at start), so the
real library, the ``meshtastic`` CLI and ``MeshtasticTransport("sim://127.0.0.1:P")`` can attach.
Per-node statistics are printed on exit (and every ``--stats-every`` seconds if given). The
radios broadcast their NodeInfo at start, as at boot (``--no-nodeinfo``: they do not).

Standalone: ``python -m fieldkit.mesh.sim_cli --nodes 3 --port 4403``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys

from fieldkit.mesh import airtime
from fieldkit.mesh.radio_address import DEFAULT_TCP_PORT
from fieldkit.mesh.simulator import Simulator, format_stats, stats_dict


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the simulator's options to ``parser``."""
    parser.add_argument("--nodes", type=int, default=2, help="number of radios (default 2)")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_TCP_PORT,  # where meshtasticd listens
        help="TCP port of node 0; node i gets port+i (0 = ephemeral)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--topology", default="full", help="line, grid, full, random, or a JSON file (default full)"
    )
    parser.add_argument(
        "--preset",
        default="LONG_FAST",
        type=str.upper,
        choices=sorted(airtime.PRESETS),
        metavar="PRESET",
        help="modem preset (default LONG_FAST)",
    )
    parser.add_argument(
        "--region",
        default="US",
        type=str.upper,
        help="LoRa region: US (no duty cycle), EU_868 (10%%/h), ...",
    )
    parser.add_argument("--loss", type=float, default=0.0, help="per-link loss rate 0..1")
    parser.add_argument(
        "--hop-limit",
        type=int,
        default=3,
        help="hop limit the radios report in their LoRa config (default 3)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="simulated time runs this many times faster (default 1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--duty-cycle-budget",
        type=float,
        default=None,
        metavar="SECONDS",
        help="override the region's airtime budget per rolling hour",
    )
    parser.add_argument(
        "--serial", action="store_true", help="also expose every radio as a serial device (a pty)"
    )
    parser.add_argument(
        "--stats-every",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="print statistics periodically (wall-clock seconds)",
    )
    parser.add_argument(
        "--no-nodeinfo",
        action="store_true",
        help="radios do not broadcast their NodeInfo at start (they do, as at boot, by default)",
    )
    parser.add_argument("--json", action="store_true", help="print final statistics as JSON")


def _validate(args: argparse.Namespace) -> str | None:
    from meshtastic.protobuf import config_pb2

    if args.nodes < 1:
        return "--nodes must be at least 1"
    if not 0.0 <= args.loss <= 1.0:
        return "--loss must be within 0..1"
    if args.time_scale <= 0:
        return "--time-scale must be positive"
    try:
        config_pb2.Config.LoRaConfig.RegionCode.Value(args.region)
    except ValueError:
        return f"unknown region {args.region}"
    return None


async def serve(args: argparse.Namespace, stop: asyncio.Event | None = None) -> int:
    """Run the simulator until ``stop`` is set or SIGINT/SIGTERM arrives."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    sim = Simulator(
        args.nodes,
        topology=args.topology,
        preset=args.preset,
        region=args.region,
        hop_limit=args.hop_limit,
        loss=args.loss,
        time_scale=args.time_scale,
        seed=args.seed,
        host=args.host,
        port=args.port,
        duty_cycle_budget_s=args.duty_cycle_budget,
    )
    async with sim:
        if not args.no_nodeinfo:
            sim.announce()  # as radios do at boot: each learns the others' names
        print(
            f"fieldkit sim: {sim.nodes} radios, {args.preset}, region {args.region}, "
            f"topology {args.topology}, time x{args.time_scale:g}, seed {args.seed}"
        )
        for i in range(sim.nodes):
            line = f"node {i} !{sim.node_num(i):08x} tcp://{args.host}:{sim.port(i)}"
            if args.serial:
                line += f" serial://{await sim.open_serial(i)}"
            print(line)
        print(
            f"try: meshtastic --host {args.host}:{sim.port(0)} --info   (Ctrl-C to stop)",
            flush=True,
        )
        while not stop.is_set():
            timeout = args.stats_every if args.stats_every > 0 else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout)
            if not stop.is_set():
                print(format_stats(sim.stats()), flush=True)
        final = sim.stats()
    if args.json:
        print(json.dumps(stats_dict(final), indent=2))
    else:
        print(format_stats(final))
    sys.stdout.flush()
    return 0


def run(args: argparse.Namespace) -> int:
    """Entry point for ``python -m fieldkit.mesh.sim_cli``; returns the exit code."""
    return asyncio.run(simulate(args))


async def simulate(args: argparse.Namespace) -> int:
    """``fieldkit sim``: check the options, serve, and say what went wrong in one line."""
    problem = _validate(args)
    if problem:
        print(f"fieldkit sim: {problem}", file=sys.stderr)
        return 2
    try:
        return await serve(args)
    except OSError as exc:  # port in use, pty unavailable
        print(f"fieldkit sim: {exc}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError) as exc:  # bad topology file
        print(f"fieldkit sim: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fieldkit sim", description=__doc__)
    configure(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
