"""``fieldkit provision render|apply|check``: the Pi's hotspot, DNS, firewall and service."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import httpx

from fieldkit.app.config import Config
from fieldkit.cli.common import Parser, Subcommands, load
from fieldkit.cli.poster_commands import add_poster
from fieldkit.cli.wheelhouse_commands import add_wheelhouse
from fieldkit.errors import FieldkitError, UsageError
from fieldkit.provisioning.apply import Action, activation, install, plan
from fieldkit.provisioning.check import Check, Outcome, failed, validate_tree
from fieldkit.provisioning.render import WIFI_STACKS, Layout, RenderedFile, render

HEALTH_TIMEOUT_S = 5.0


def add_provision(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser("provision", parents=[common], help="turn a Pi into a hub (hotspot, …)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=Parser)
    stack = Parser(add_help=False)
    stack.add_argument(
        "--wifi",
        choices=WIFI_STACKS,
        default="networkmanager",
        help="NetworkManager (default, Raspberry Pi OS) or hostapd + dnsmasq",
    )
    stack.add_argument(
        "--prefix",
        default=str(Layout().prefix),
        help="where fieldkit is installed (default /opt/fieldkit)",
    )
    r = actions.add_parser(
        "render",
        parents=[common, stack],
        help="write the system files into a folder, to read or copy",
    )
    r.add_argument("--out", required=True, metavar="DIR", help="the folder (mirrors /)")
    r.set_defaults(func=cmd_render)
    a = actions.add_parser(
        "apply",
        parents=[common, stack],
        help="install the system files on this Pi (as root) and start them",
    )
    a.add_argument("--dry-run", action="store_true", help="only show what would change")
    a.add_argument(
        "--root", default="/", metavar="DIR",
        help="install into a mounted SD card image at DIR instead (nothing is started)",
    )  # fmt: skip
    a.set_defaults(func=cmd_apply)
    c = actions.add_parser(
        "check", parents=[common, stack], help="check the installed files, and that the hub answers"
    )
    c.add_argument("--root", default="/", metavar="DIR", help="check a mounted image at DIR")
    c.set_defaults(func=cmd_check)
    add_wheelhouse(actions, common)
    add_poster(actions, common)


def _files(args: argparse.Namespace, config: Config) -> dict[PurePosixPath, RenderedFile]:
    return render(config, wifi=args.wifi, layout=Layout(prefix=PurePosixPath(args.prefix)))


async def cmd_render(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    out = Path(args.out)
    for change in _install(out, _files(args, load(args, env))):
        print(change.line(out))
    print(f"next: read them, then `sudo fieldkit provision apply --wifi {args.wifi}` on the Pi")
    return 0


def _install(root: Path, files: Mapping[PurePosixPath, RenderedFile]) -> list:  # type: ignore[type-arg]
    try:
        return install(root, files)
    except OSError as exc:
        raise FieldkitError(f"cannot write under {root}: {exc.strerror} ({exc.filename})") from None


async def cmd_apply(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    root = Path(args.root)
    files = _files(args, load(args, env))
    steps = activation(args.wifi)  # refuses a stack apply cannot set up, before any change
    if args.dry_run:
        for change in plan(root, files):
            print(change.line(root))
        print("dry run: nothing changed")
        return 0
    if root == Path("/") and os.geteuid() != 0:
        raise UsageError(
            "apply installs system files: run it as root (sudo fieldkit provision apply)"
        )
    changes = _install(root, files)
    for change in changes:
        print(change.line(root))
    if root != Path("/"):
        print(f"installed under {root}; nothing started (not the live system)")
        return 0
    if all(c.action is Action.UNCHANGED for c in changes):
        print("nothing changed")
    for step in steps:
        proc = await asyncio.create_subprocess_exec(
            *step, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        _, stderr = await proc.communicate()
        print(f"{'✓' if proc.returncode == 0 else '✗'} {' '.join(step)}")
        if proc.returncode != 0:
            why = stderr.decode(errors="replace").strip() or f"exit {proc.returncode}"
            raise FieldkitError(f"`{' '.join(step)}` failed: {why}")
    return 0


def _drift(root: Path, files: Mapping[PurePosixPath, RenderedFile]) -> list[Check]:
    out = []
    for change in plan(root, files):
        label = f"{change.path} is as rendered"
        if change.action is Action.UNCHANGED:
            out.append(Check(label, Outcome.PASSED))
        else:
            detail = "missing" if change.action is Action.CREATE else "differs from the hub config"
            out.append(Check(label, Outcome.FAILED, detail, "run `sudo fieldkit provision apply`"))
    return out


def _app_answers(config: Config) -> Check:
    url = f"http://127.0.0.1:{config.web_port}/healthz"
    label = f"the hub answers at {url}"
    try:
        reply = httpx.get(url, timeout=HEALTH_TIMEOUT_S)
    except httpx.HTTPError as exc:
        return Check(
            label,
            Outcome.FAILED,
            type(exc).__name__,
            "start it: `sudo systemctl start fieldkit`; see `journalctl -u fieldkit`",
        )
    if reply.status_code != 200:
        return Check(
            label, Outcome.FAILED, f"HTTP {reply.status_code}", "see `journalctl -u fieldkit`"
        )
    return Check(label, Outcome.PASSED)


async def cmd_check(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    config = load(args, env)
    root = Path(args.root)
    files = _files(args, config)
    checks = _drift(root, files)
    present = [p for p in files if (root / p).is_file()]
    checks += validate_tree(root, present)
    checks.append(_app_answers(config))
    checks.append(
        Check(
            "the radio has the network's region, channel and key",
            Outcome.SKIPPED,
            "not checked by this version of fieldkit",
            "check with `meshtastic --info`",
        )
    )
    for check in checks:
        print(check.line())
    bad = sum(c.outcome is Outcome.FAILED for c in checks)
    print(f"{len(checks) - bad} of {len(checks)} checks passed" if bad else "all checks passed")
    return 1 if failed(checks) else 0
