"""``fieldkit init``, ``fieldkit run`` and ``fieldkit status``: setting up a hub, serving it,
seeing its state."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from fieldkit.app.certificate import ensure_certificate, load_certificate
from fieldkit.app.cloud import cloud_status
from fieldkit.app.config import (
    CONFIG_FILE,
    DEFAULT_WEB_PORT,
    Area,
    Config,
    check_radio_url,
    load_config,
    render_config,
)
from fieldkit.app.hub import Hub, create_identity
from fieldkit.app.netkey import ensure_network_key, parse_key
from fieldkit.app.ownership import as_owner_of
from fieldkit.app.passphrase import PASSPHRASE_KEY, set_passphrase
from fieldkit.cli.common import Parser, Subcommands, load, open_hub, open_store
from fieldkit.cli.console_commands import read_passphrase
from fieldkit.core.ops import hub_name
from fieldkit.errors import ConfigError, UsageError

# --- init -------------------------------------------------------------------------------


def add_init(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser(
        "init", parents=[common], help="set up a hub: config file, database, identity"
    )
    p.add_argument("--dir", default=".", help="where to write fieldkit.toml (default: here)")
    p.add_argument("--name", default="Community hub", help="the hub's name residents see")
    p.add_argument(
        "--area",
        action="append",
        default=[],
        metavar="ID=NAME",
        help="an area residents can pick (repeat for more), e.g. riverside=Riverside",
    )
    p.add_argument(
        "--radio", metavar="URL", help="radio: serial://, tcp://HOST:4403, sim://HOST:PORT"
    )
    p.add_argument(
        "--port", type=int, default=DEFAULT_WEB_PORT, help=f"web port (default {DEFAULT_WEB_PORT})"
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing config file")
    p.add_argument(
        "--data-dir", default="data", metavar="DIR",
        help="the database folder, relative to the config file (default: data)",
    )  # fmt: skip
    p.add_argument(
        "--passphrase",
        action="store_true",
        help="set the console passphrase too (typed twice, or one line on stdin)",
    )
    p.add_argument(
        "--network-key",
        metavar="KEY",
        help="join an existing network: its key, from `fieldkit key` on one of its hubs",
    )
    p.set_defaults(func=cmd_init)


async def cmd_init(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    path = Path(args.config) if args.config else Path(args.dir) / CONFIG_FILE
    given = parse_key(args.network_key) if args.network_key else None  # before writing
    if path.exists() and not args.force:
        note = "kept the existing"
    else:
        if args.radio:
            check_radio_url(args.radio, "--radio")
        areas = tuple(_parse_area(a) for a in args.area)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = render_config(
            args.name, areas, args.data_dir, radio_url=args.radio or "", port=args.port
        )
        path.write_text(text, encoding="utf-8")
        note = "wrote"
    config = load_config(path, env)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    passphrase = read_passphrase() if args.passphrase else None
    async with await open_store(config.db_path) as store:
        hub_id = await create_identity(store)
        await ensure_network_key(store, given)
        if passphrase is not None:
            await set_passphrase(store, passphrase)
    with as_owner_of(config.data_dir):
        certificate, _ = ensure_certificate(config)
    print(f"{note} {path}")
    print(f"hub {hub_name(hub_id)} “{config.hub_name}”, database {config.db_path}")
    print(f"console certificate SHA-256 {certificate.fingerprint}")
    if passphrase is not None:
        print("console passphrase set (kept as a scrypt hash)")
    return 0


def _parse_area(text: str) -> Area:
    area_id, _, name = text.partition("=")
    return Area(area_id.strip().lower(), name.strip() or area_id.strip())


# --- run --------------------------------------------------------------------------------


def add_run(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser("run", parents=[common], help="serve the hub's web pages")
    p.add_argument("--host", help="address to listen on (default: web.host)")
    p.add_argument("--port", type=int, help="port to listen on (default: web.port; 0: any free)")
    p.add_argument(
        "--role", choices=("hub", "cloud"), default="hub",
        help="cloud: serve the cloud aggregator of `fieldkit cloud init` (no radio, no portal)",
    )  # fmt: skip
    p.set_defaults(func=cmd_run)


async def cmd_run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from fieldkit.app.serve import serve_hub

    config = load(args, env)
    if args.role == "cloud":
        return await _run_cloud(args, config)
    if config.cloud.database:
        raise UsageError("this config is a cloud aggregator's: run it with --role cloud")
    async with open_hub(config) as hub:
        host = args.host or config.web_host
        port = config.web_port if args.port is None else args.port  # 0: any free port
        await serve_hub(hub, config, host=host, port=port)
    return 0


async def _run_cloud(args: argparse.Namespace, config: Config) -> int:
    from fieldkit.app.cloud import open_cloud_store
    from fieldkit.app.cloud_serve import serve_cloud

    if not config.cloud.database:
        raise ConfigError("cloud.database", "not a cloud: run `fieldkit cloud init` first")
    async with await open_cloud_store(config.cloud) as store:
        hub = await Hub.open(store)
        port = config.cloud.port if args.port is None else args.port
        await serve_cloud(hub, store, config, host=args.host or config.web_host, port=port)
    return 0


# --- status -----------------------------------------------------------------------------


def add_status(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser("status", parents=[common], help="hub id, record counts, version vector")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)


async def cmd_status(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    config = load(args, env)
    async with open_hub(config) as hub:
        status = await hub.status(config.hub_name)
        passphrase_set = await hub.store.meta(PASSPHRASE_KEY) is not None
        status["cloud"] = await cloud_status(hub.store)
        status["database"] = hub.store.location
        status["keys"] = await _keys_status(hub)
    running = await _running_status(config)
    if "keys" in running:  # what the running hub heard of the network's keys
        status["keys"] = running["keys"]
    status["running"] = running.get("url")
    status["radio"] = running.get("radio") if config.radio_url else None
    if "clock" in running:  # what the running hub learned of its neighbours' clocks
        status["clock"] = running["clock"]
    status["console"] = _console(config, passphrase_set)
    if args.json:
        print(json.dumps(status))
        return 0
    _print_status(sys.stdout, config, status)
    _print_radio(sys.stdout, config, status["radio"])
    _print_console(sys.stdout, status["console"])
    _print_cloud(sys.stdout, status["cloud"])
    return 0


async def _keys_status(hub: Hub) -> dict[str, Any]:
    from fieldkit.app.keyring import KeyRing

    return (await KeyRing.open(hub)).status()


def _print_cloud(out: TextIO, cloud: Mapping[str, Any] | None) -> None:
    import time

    if cloud is None:
        print("cloud    none joined", file=out)
        return
    print(f"cloud    {cloud['url']} as “{cloud['name']}”", file=out)
    progress = cloud.get("progress") or {}
    if cloud.get("last_sync_at"):
        ago = time.time() - cloud["last_sync_at"]
        print(f"  last sync {ago:.0f} s ago: sent {progress.get('sent', 0)}, received"
              f" {progress.get('received_new', 0)} new", file=out)  # fmt: skip
    else:
        print("  never synced yet", file=out)
    if cloud.get("state") == "syncing":
        print(f"  syncing now: sent {progress.get('sent', 0)}, {progress.get('left_to_send', '?')}"
              " to go", file=out)  # fmt: skip
    elif cloud.get("state") == "failed":
        print(f"  last attempt failed: {cloud.get('error', '')}", file=out)


def _console(config: Config, passphrase_set: bool) -> dict[str, Any]:
    """Where the coordinator console is, and the certificate fingerprint to check there."""
    host = config.web_host
    if host in ("0.0.0.0", "::"):
        host = str(config.hotspot.network.ip)
    certificate = load_certificate(config)
    return {
        "url": f"https://{host}:{config.console_port}/",
        "fingerprint": certificate.fingerprint if certificate else None,
        "passphrase_set": passphrase_set,
    }


def _print_console(out: TextIO, console: Mapping[str, Any]) -> None:
    print(f"console  {console['url']}", file=out)
    fingerprint = console["fingerprint"] or "none yet (made by `fieldkit run`)"
    print(f"  certificate SHA-256 {fingerprint}", file=out)
    if not console["passphrase_set"]:
        print("  NO PASSPHRASE: nobody can sign in; set one with `fieldkit passphrase`", file=out)


async def _running_status(config: Config) -> dict[str, Any]:
    """The radio's state and what it learned of clocks live in the running hub (``fieldkit
    run``, on whatever port it was started with: it says where in its data folder): ask it,
    briefly. Empty if no hub runs."""
    import httpx

    from fieldkit.app.serve import running_url

    url = running_url(config.data_dir)
    if url is None:
        return {}
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            reply = await client.get(f"{url}/hub/status.json")
        running: dict[str, Any] = reply.json()
    except (httpx.HTTPError, ValueError):
        return {}
    return running | {"url": url} if isinstance(running, dict) else {}


def _print_radio(out: TextIO, config: Config, radio: Mapping[str, Any] | None) -> None:
    if not config.radio_url:
        print("radio    none configured", file=out)
        return
    if radio is None:
        print(f"radio    {config.radio_url} (hub not running: start it with `fieldkit run`)",
              file=out)  # fmt: skip
        return
    state = "connected" if radio["connected"] else "NOT CONNECTED"
    left = radio["duty_cycle_left_ms"]
    budget = "no duty-cycle limit" if left is None else f"budget left {left / 1000:.0f} s"
    print(f"radio    {config.radio_url} {state}, airtime {(radio['airtime_ms'] or 0) / 1000:.1f} s,"
          f" {budget}", file=out)  # fmt: skip
    for peer in radio["peers"]:
        diff = ", ".join(f"{o} {d:+d}" for o, d in peer["ahead_behind"].items()) or "in sync"
        print(f"  peer {peer['hub']}  heard {peer['last_heard_s_ago']:.0f} s ago  {diff}", file=out)
    if radio["rejected"]:
        print(f"  rejected frames: {radio['rejected']}", file=out)


def _print_status(out: TextIO, config: Config, status: Mapping[str, Any]) -> None:
    print(f"hub      {status['hub']}  “{status['name']}”", file=out)
    print(f"database {status.get('database', config.db_path)}", file=out)
    records: Mapping[str, int] = status["records"]
    for kind in ("need", "offer", "notice"):
        parts = [f"{key.partition('.')[2]} {n}" for key, n in records.items()
                 if key.partition(".")[0] == kind]  # fmt: skip
        print(f"{kind + 's':9}{', '.join(parts) or 'none'}", file=out)
    clock = status.get("clock") or {}
    if clock.get("disagrees"):
        offset = clock["neighbour_offset_ms"] / 1000
        fixed = clock["offset_ms"] / 1000
        print(f"clock    DISAGREES with its neighbours' (theirs {offset:+.0f} s from ours;"
              f" our stamps corrected by {fixed:+.0f} s)", file=out)  # fmt: skip
    if clock.get("disagrees_with_trusted"):
        theirs, fixed = clock["trusted_offset_ms"] / 1000, clock["offset_ms"] / 1000
        print(f"clock    DISAGREES with the {clock['trusted_source']}'s ({theirs:+.0f} s from"
              f" ours; our stamps corrected by {fixed:+.0f} s)", file=out)  # fmt: skip
    keys = status.get("keys") or {}
    if keys.get("message"):  # out of date, or this hub was revoked: how to rejoin
        print(f"key      {keys['state'].upper()}: {keys['message']}", file=out)
    elif keys.get("state") == "moving":
        print("key      moving to a new network key: the previous one is still accepted",
              file=out)  # fmt: skip
    if keys.get("revoked"):
        print(f"revoked  {', '.join(keys['revoked'])} ({keys['revoked_ops_refused']} later ops"
              " refused here)", file=out)  # fmt: skip
    print("version vector (ops held, per origin hub):", file=out)
    for origin, seq in status["version_vector"].items():
        mine = "  (this hub)" if origin == status["hub"] else ""
        print(f"  {origin}  {seq}{mine}", file=out)
