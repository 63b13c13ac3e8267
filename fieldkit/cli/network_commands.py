"""``fieldkit network new|join|show|rotate-key|revoke``: the network of hubs this hub belongs
to."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path

from fieldkit.app.config import add_areas
from fieldkit.app.keyring import KeyRing
from fieldkit.app.netkey import (
    GRACE_DAYS,
    end_grace,
    format_key,
    network_key,
    parse_key,
    previous_keys,
)
from fieldkit.app.network import (
    PRESETS,
    REGIONS,
    SECRET_WARNING,
    channel_url,
    join_code,
    new_network,
    parse_join_code,
    save_network,
    saved_network,
)
from fieldkit.cli.common import Parser, Subcommands, config_path, load, open_hub
from fieldkit.errors import FieldkitError, UsageError


def add_network(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser("network", parents=[common], help="make or join a network of hubs")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=Parser)
    new = actions.add_parser(
        "new", parents=[common], help="make a new network (radio channel, keys, join code)"
    )
    new.add_argument("--channel", default="fieldkit", help="Meshtastic channel name, ≤ 11 bytes")
    new.add_argument(
        "--region",
        required=True,
        choices=REGIONS,
        metavar="REGION",
        help="LoRa region where the hubs are, e.g. US, EU_868, ANZ",
    )
    new.add_argument(
        "--preset",
        default="LONG_FAST",
        choices=PRESETS,
        metavar="PRESET",
        help="modem preset (default LONG_FAST)",
    )
    new.add_argument("--emergency", default="", help='the emergency line, e.g. "Call 911"')
    new.add_argument(
        "--cloud", default="", metavar="URL", help="the cloud aggregator (https://) hubs sync with"
    )
    new.add_argument(
        "--out",
        metavar="DIR",
        help="where to write join.svg, join.png and join.html (default: data dir)",
    )
    new.add_argument("--force", action="store_true", help="leave the network this hub is on")
    new.set_defaults(func=cmd_network_new)
    join = actions.add_parser("join", parents=[common], help="join a network with its join code")
    join.add_argument("code", help="the join code (fkjoin1.…) from `fieldkit network new`")
    join.add_argument("--force", action="store_true", help="leave the network this hub is on")
    join.set_defaults(func=cmd_network_join)
    show = actions.add_parser("show", parents=[common], help="which network this hub is on")
    show.add_argument(
        "--secrets",
        action="store_true",
        help="also print the join code and the radio's channel URL (secrets)",
    )
    show.set_defaults(func=cmd_network_show)
    rotate = actions.add_parser(
        "rotate-key", parents=[common],
        help="move this hub to a new network key (a hub was stolen, a join code leaked)",
    )  # fmt: skip
    rotate.add_argument(
        "--to", metavar="KEY", help="the new key another hub made (fk1.…); without: make one"
    )
    rotate.add_argument(
        "--grace-days", type=float, default=GRACE_DAYS,
        help=f"accept the previous key this long from hubs not yet moved (default {GRACE_DAYS})",
    )  # fmt: skip
    rotate.add_argument(
        "--end-grace", action="store_true",
        help="every hub has the new key: accept the previous one no longer",
    )  # fmt: skip
    rotate.set_defaults(func=cmd_network_rotate_key)
    revoke = actions.add_parser(
        "revoke", parents=[common],
        help="a hub was stolen: refuse its new ops and move the network to a key it never gets",
    )  # fmt: skip
    revoke.add_argument("hub", help="the stolen hub's id (8 hex digits, as `fieldkit status`)")
    revoke.add_argument(
        "--grace-days", type=float, default=GRACE_DAYS,
        help=f"accept the previous key this long from hubs not yet moved (default {GRACE_DAYS})",
    )  # fmt: skip
    revoke.set_defaults(func=cmd_network_revoke)


def _leaving(current_channel: str | None, force: bool) -> None:
    if current_channel is not None and not force:
        raise UsageError(
            f"this hub is on the “{current_channel}” network already; "
            "add --force to leave it (its hubs will no longer hear this one)"
        )


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
        path.chmod(0o600)  # the code is a secret
    except OSError as exc:
        raise FieldkitError(f"cannot write {path}: {exc.strerror}") from None


async def cmd_network_new(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from fieldkit.provisioning import qr
    from fieldkit.provisioning.join_sheet import render_join_sheet

    config = load(args, env)
    async with open_hub(config) as hub:
        current = await saved_network(hub.store)
        _leaving(current.channel if current else None, args.force)
        network = new_network(
            args.channel, args.region, args.preset, areas=config.areas,
            emergency=args.emergency, cloud=_cloud_url(args.cloud),
        )  # fmt: skip
        await save_network(hub.store, network)
    out = Path(args.out) if args.out else config.data_dir
    out.mkdir(parents=True, exist_ok=True)
    code = join_code(network)
    _write(out / "join.svg", qr.svg(code, title="Join code").encode())
    _write(out / "join.png", qr.png(code))
    _write(out / "join.html", render_join_sheet(network, config.hub_name).encode())
    print(f"new network “{network.channel}”: region {network.region}, preset {network.preset}")
    print(f"join code (also in {out}/join.html, .svg and .png):\n{code}")
    print(f"warning: {SECRET_WARNING}", file=sys.stderr)
    return 0


async def cmd_network_join(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    network = parse_join_code(args.code)  # before anything is written
    config = load(args, env)
    async with open_hub(config) as hub:
        current = await saved_network(hub.store)
        if current == network:
            print(f"already on the “{network.channel}” network")
            return 0
        _leaving(current.channel if current else None, args.force)
        await save_network(hub.store, network)
    print(
        f"joined the “{network.channel}” network: region {network.region}, preset {network.preset}"
    )
    if network.areas and not config.areas:  # every hub shows the network's areas
        path = config_path(args, env)
        add_areas(path, network.areas, env)
        names = ", ".join(a.id for a in network.areas)
        print(f"the network's areas ({names}) are now this hub's, in {path}")
    elif network.areas and config.areas != network.areas:
        names = ", ".join(a.id for a in network.areas)
        print(f"note: this hub's config has areas of its own; the network's are {names}: "
              "make the config's [areas] match them, so every hub shows the same")  # fmt: skip
    print("next: set the radio from `fieldkit network show --secrets` (meshtastic --seturl URL)")
    return 0


def _cloud_url(url: str) -> str:
    if url and not url.startswith("https://"):
        raise UsageError(f"--cloud: expected an https:// address, got {url!r}")
    return url.rstrip("/")


async def cmd_network_show(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    async with open_hub(load(args, env)) as hub:
        network = await saved_network(hub.store)
        key = await network_key(hub.store)
    if network is None:
        print("this hub has a network key but no network: run `fieldkit network new` or `join`")
        return 1
    print(f"network “{network.channel}”: region {network.region}, preset {network.preset}")
    if network.key != key:  # `fieldkit init --network-key` changed the key since
        print("warning: the hub's network key is not the network's; join again", file=sys.stderr)
    if args.secrets:
        print(f"join code: {join_code(network)}")
        print(f"radio channel URL: {channel_url(network)}")
        print(f"warning: {SECRET_WARNING}", file=sys.stderr)
    return 0


async def cmd_network_rotate_key(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    if args.grace_days < 0:
        raise UsageError("--grace-days: expected 0 or more days")
    async with open_hub(load(args, env)) as hub:
        if args.end_grace:
            await end_grace(hub.store)
            print("the previous network key is refused from now on")
            return 0
        given = parse_key(args.to, "--to") if args.to else None
        ring = await KeyRing.open(hub)
        key = await ring.rotate(given, args.grace_days)
        _, until = await previous_keys(hub.store, hub.wall())
    print(f"network key: {format_key(key)}")
    if given is None:
        print("the other hubs move to it by themselves as they meet this one or one moved "
              "(radio, `fieldkit sync`, bundles); by hand: "
              f"fieldkit network rotate-key --to {format_key(key)}")  # fmt: skip
    if until is not None:
        days = (until - hub.wall()) / 86_400_000
        print(f"the previous key is still accepted for {days:.1f} days")
    print(f"warning: {SECRET_WARNING}", file=sys.stderr)
    return 0


async def cmd_network_revoke(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    if args.grace_days < 0:
        raise UsageError("--grace-days: expected 0 or more days")
    try:
        revoked = int(args.hub, 16)
    except ValueError:
        revoked = -1
    if not 0 < revoked < 1 << 32 or len(args.hub) != 8:
        raise UsageError(f"HUB: expected a hub id of 8 hex digits, got {args.hub!r}")
    async with open_hub(load(args, env)) as hub:
        if revoked == hub.id:
            raise UsageError("HUB: this is this hub's own id; revoke it from another hub")
        ring = await KeyRing.open(hub)
        key, recipients = await ring.revoke(revoked, args.grace_days)
        kept = hub.revoked[revoked]
    print(f"hub {args.hub} revoked: its ops up to seq {kept} stay, any later are refused")
    print(f"network key: {format_key(key)}")
    if recipients:
        print("the new key goes, sealed for each, to: "
              + ", ".join(f"{h:08x}" for h in recipients))  # fmt: skip
    print("a hub not listed (whose exchange key this hub has not learned) learns of the "
          "revocation but not the key: give it the join code from `fieldkit network show "
          "--secrets` (`fieldkit network join --force CODE`)")  # fmt: skip
    print(f"warning: {SECRET_WARNING}", file=sys.stderr)
    return 0
