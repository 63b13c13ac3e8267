"""``fieldkit provision render|apply|check|radio``: the Pi's hotspot, DNS, firewall, service and
its radio's settings."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import httpx

from fieldkit.app.config import Config
from fieldkit.app.network import Network, saved_network
from fieldkit.cli.common import Parser, Subcommands, load, open_store
from fieldkit.cli.poster_commands import add_poster
from fieldkit.cli.wheelhouse_commands import add_wheelhouse
from fieldkit.errors import FieldkitError, UsageError
from fieldkit.provisioning import radio
from fieldkit.provisioning.apply import Action, activation, install, plan
from fieldkit.provisioning.check import Check, Outcome, failed, validate_tree
from fieldkit.provisioning.render import WIFI_STACKS, Layout, RenderedFile, render

HEALTH_TIMEOUT_S = 5.0


def add_provision(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser("provision", parents=[common], help="turn a Pi into a hub (hotspot, …)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=Parser)
    _add_radio(actions, common)
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


def _files(
    args: argparse.Namespace, config: Config, network: Network | None = None
) -> dict[PurePosixPath, RenderedFile]:
    layout = Layout(prefix=PurePosixPath(args.prefix))
    return render(config, wifi=args.wifi, layout=layout, network=network)


async def cmd_render(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    out = Path(args.out)
    config = load(args, env)
    for change in _install(out, _files(args, config, await _network_of(config))):
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
    config = load(args, env)
    files = _files(args, config, await _network_of(config))
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
    network = await _network_of(config)
    files = _files(args, config, network)
    checks = _drift(root, files)
    present = [p for p in files if (root / p).is_file()]
    checks += validate_tree(root, present)
    checks.append(_app_answers(config))
    checks.append(await _radio_check(config, network))
    for check in checks:
        print(check.line())
    bad = sum(c.outcome is Outcome.FAILED for c in checks)
    print(f"{len(checks) - bad} of {len(checks)} checks passed" if bad else "all checks passed")
    return 1 if failed(checks) else 0


# --- the radio: ``fieldkit provision radio`` and its check ----------------------------------

RADIO_CHECK = "the radio has the network's region, preset, channel and key"
STOP_THE_HUB = "stop it first (`sudo systemctl stop fieldkit`, or Ctrl-C on `fieldkit run`)"


def _add_radio(actions: Subcommands, common: Parser) -> None:
    r = actions.add_parser(
        "radio",
        parents=[common],
        help="set the radio's region, preset, channel, key and owner from the network",
    )
    r.add_argument(
        "--radio", metavar="URL", help="the radio (default: radio.url), e.g. serial://, tcp://HOST"
    )
    r.set_defaults(func=cmd_radio)


async def _network_of(config: Config) -> Network | None:
    """The network this hub is on (None before `fieldkit init` or `network new|join`)."""
    if not config.db_path.exists():
        return None
    async with await open_store(config.db_path) as store:
        return await saved_network(store)


async def _hub_holds_radio(config: Config) -> bool:
    """Whether a running ``fieldkit run`` of this hub has the radio (one client at a time)."""
    host = "127.0.0.1" if config.web_host in ("0.0.0.0", "::") else config.web_host
    try:
        async with httpx.AsyncClient(timeout=HEALTH_TIMEOUT_S) as client:
            reply = await client.get(f"http://{host}:{config.web_port}/hub/status.json")
        return reply.json().get("radio") is not None
    except (httpx.HTTPError, ValueError, AttributeError):
        return False


async def cmd_radio(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    config = load(args, env)
    url = args.radio or config.radio_url
    if not url:
        raise UsageError("no radio: set radio.url in the hub config, or give --radio URL")
    network = await _network_of(config)
    if network is None:
        raise UsageError(
            "this hub is on no network yet: `fieldkit network new` or `fieldkit network join CODE`"
        )
    if await _hub_holds_radio(config):
        raise FieldkitError(
            f"`fieldkit run` is using the radio: {STOP_THE_HUB}, then run this again"
        )
    want = radio.wanted(network, config.hub_name)
    print(
        f"setting the radio at {url}: region {want.region}, preset {want.preset}, channel "
        f"“{want.channel}” with the network's key, owner “{want.long_name}” ({want.short_name})",
        flush=True,
    )
    got = await asyncio.to_thread(radio.provision, url, want, network)
    wrong = radio.differences(want, got)
    if wrong:
        print(f"✗ the radio reads back {'; '.join(wrong)}")
        return 1
    print(
        f"✓ the radio reads back region {got.region}, preset {got.preset}, channel "
        f"“{got.channel}” with the network's key, owner “{got.long_name}” ({got.short_name})"
    )
    return 0


async def _radio_check(config: Config, network: Network | None) -> Check:
    if not config.radio_url:
        return Check(RADIO_CHECK, Outcome.SKIPPED, "no radio configured (radio.url)",
                     "set radio.url in the hub config, e.g. serial:// for a USB radio")  # fmt: skip
    if network is None:
        return Check(RADIO_CHECK, Outcome.FAILED, "this hub is on no network",
                     "`fieldkit network join CODE` (or `fieldkit network new`)")  # fmt: skip
    if await _hub_holds_radio(config):
        return Check(RADIO_CHECK, Outcome.SKIPPED, "`fieldkit run` is using the radio",
                     f"to check it, {STOP_THE_HUB}, check again, then start it")  # fmt: skip
    try:
        got = await asyncio.to_thread(radio.read, config.radio_url)
    except FieldkitError as exc:
        return Check(RADIO_CHECK, Outcome.FAILED, str(exc),
                     "plug the radio in (or start meshtasticd) and check radio.url")  # fmt: skip
    wrong = radio.differences(radio.wanted(network, config.hub_name), got, owner=False)
    if wrong:
        return Check(
            RADIO_CHECK, Outcome.FAILED, "; ".join(wrong), "run `fieldkit provision radio`"
        )
    return Check(RADIO_CHECK, Outcome.PASSED, f"{got.region}, {got.preset}, “{got.channel}”")
