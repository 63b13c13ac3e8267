"""``fieldkit sim`` and ``fieldkit demo``: trying fieldkit without hardware."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from fieldkit.app.config import DEFAULT_WEB_PORT
from fieldkit.cli.common import Parser, Subcommands
from fieldkit.mesh import sim_cli

# --- sim --------------------------------------------------------------------------------


def add_sim(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser("sim", help="run a simulated LoRa mesh of Meshtastic radios")
    sim_cli.configure(p)
    p.set_defaults(func=cmd_sim)


async def cmd_sim(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    return await sim_cli.simulate(args)  # prints its own errors, as `fieldkit sim: …`


# --- demo -------------------------------------------------------------------------------


def add_demo(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser("demo", help="start the local demo (sample records, web pages)")
    p.add_argument("--dir", default="demo-data", help="where the demo hubs live")
    p.add_argument(
        "--port",
        type=int,
        default=DEFAULT_WEB_PORT,
        help="hub 1's web port; hub i gets PORT+i-1, its radio PORT+100+i-1, its console"
        " (HTTPS) PORT+200+i-1"
        f" (default {DEFAULT_WEB_PORT})",
    )
    p.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="run radio time this many times faster (default 1)",
    )
    p.set_defaults(func=cmd_demo)


async def cmd_demo(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from fieldkit.app.demo import run_demo

    return await run_demo(Path(args.dir), args.port, time_scale=args.time_scale)
