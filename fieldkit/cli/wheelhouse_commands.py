"""``fieldkit provision wheelhouse``: the wheels to install a hub with no internet."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from fieldkit.cli.common import Parser, Subcommands
from fieldkit.provisioning.wheelhouse import (
    LOCK,
    PI_PLATFORM,
    PI_PYTHONS,
    Target,
    build,
    source_tree,
)


def add_wheelhouse(actions: Subcommands, common: Parser) -> None:
    """``provision wheelhouse`` (``actions``: the ``provision`` command's subparsers)."""
    w = actions.add_parser(
        "wheelhouse",
        parents=[common],
        help="download every wheel a Pi needs, for `install.sh --offline DIR`",
    )
    w.add_argument("dir", metavar="DIR", help="the folder (a USB stick)")
    w.add_argument(
        "--platform", action="append", metavar="TAG",
        help=f"pip platform tag, repeatable (default {PI_PLATFORM}: 64-bit Raspberry Pi OS)",
    )  # fmt: skip
    w.add_argument(
        "--python", action="append", metavar="X.Y",
        help=f"CPython version, repeatable (default {' and '.join(PI_PYTHONS)}: "
        "Bookworm and Trixie)",
    )  # fmt: skip
    w.add_argument("--source", metavar="DIR", help="the fieldkit checkout (default: this one)")
    w.set_defaults(func=cmd_wheelhouse)


async def cmd_wheelhouse(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    out = Path(args.dir)
    source = source_tree(Path(args.source) if args.source else None)
    platforms = tuple(args.platform or (PI_PLATFORM,))
    targets = [Target(platforms, python) for python in args.python or PI_PYTHONS]
    for target in targets:
        print(f"downloading wheels for CPython {target.python} on {', '.join(platforms)} ...")
    wheels = build(out, source, targets)
    print(f"{len(wheels)} wheels and {LOCK} in {out}")
    print(f"next: copy {out} to the Pi, then `sudo ./install.sh --offline {out}` there")
    return 0
