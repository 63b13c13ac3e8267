"""The ``fieldkit`` command: a thin layer over the library.

Errors print one line on stderr: exit 1 for a failure, 2 for a wrong command line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tomllib
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from fieldkit import __version__
from fieldkit.app.config import (
    CONFIG_FILE,
    Area,
    Config,
    check_radio_url,
    load_config,
    render_config,
)
from fieldkit.app.hub import create_identity
from fieldkit.app.import_export import FORMATS, export_records, import_file
from fieldkit.app.netkey import ensure_network_key, parse_key
from fieldkit.cli import sync_commands as cli_sync
from fieldkit.cli.common import load, open_hub
from fieldkit.core.interchange import parse_mapping
from fieldkit.core.ops import hub_name
from fieldkit.errors import FieldkitError, ImportFileError, UsageError
from fieldkit.mesh import sim_cli
from fieldkit.store.sqlite import Store

Command = Callable[[argparse.Namespace, Mapping[str, str]], Coroutine[Any, Any, int]]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _parse_area(text: str) -> Area:
    area_id, _, name = text.partition("=")
    return Area(area_id.strip().lower(), name.strip() or area_id.strip())


# --- commands ---------------------------------------------------------------------------


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
        text = render_config(args.name, areas, radio_url=args.radio or "", port=args.port)
        path.write_text(text, encoding="utf-8")
        note = "wrote"
    config = load_config(path, env)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    async with await Store.open(config.db_path) as store:
        hub_id = await create_identity(store)
        await ensure_network_key(store, given)
    print(f"{note} {path}")
    print(f"hub {hub_name(hub_id)} “{config.hub_name}”, database {config.db_path}")
    return 0


async def cmd_run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from fieldkit.app.serve import serve_hub

    config = load(args, env)
    hub = await open_hub(config)
    try:
        await serve_hub(
            hub, config, host=args.host or config.web_host, port=args.port or config.web_port
        )
    finally:
        await hub.store.close()
    return 0


async def cmd_import(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    config = load(args, env)
    mapping = None
    if args.mapping:
        try:
            mapping = parse_mapping(tomllib.loads(Path(args.mapping).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ImportFileError(f"cannot read mapping {args.mapping}: {exc}") from None
    hub = await open_hub(config)

    def progress(line: int) -> None:
        if args.progress:
            print(f"committed through line {line}", file=sys.stderr, flush=True)

    try:
        report = await import_file(
            hub,
            Path(args.file),
            fmt=args.format,
            mapping=mapping,
            areas=config.area_names(),
            progress=progress,
        )
    finally:
        await hub.store.close()
    for error in report.errors:
        print(f"{args.file}: {error}", file=sys.stderr)
    print(f"{report.created} new, {report.existing} already here, {len(report.errors)} with errors")
    return 1 if report.errors else 0


async def cmd_export(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    config = load(args, env)
    hub = await open_hub(config)
    try:
        if args.output and args.output != "-":
            with open(args.output, "w", encoding="utf-8", newline="") as out:
                count = await export_records(hub.store, out, args.format, public=args.public)
        else:
            count = await export_records(hub.store, sys.stdout, args.format, public=args.public)
    finally:
        await hub.store.close()
    if not args.public:
        print(
            f"exported {count} records including residents' private contact details;"
            " use --public for a file to share",
            file=sys.stderr,
        )
    return 0


async def cmd_status(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    config = load(args, env)
    hub = await open_hub(config)
    try:
        status = await hub.status(config.hub_name)
    finally:
        await hub.store.close()
    status["radio"] = await _running_radio(config)
    if args.json:
        print(json.dumps(status))
        return 0
    _print_status(sys.stdout, config, status)
    _print_radio(sys.stdout, config, status["radio"])
    return 0


async def _running_radio(config: Config) -> dict[str, Any] | None:
    """The radio's state lives in the running hub (``fieldkit run``): ask it, briefly."""
    if not config.radio_url:
        return None
    import httpx

    host = "127.0.0.1" if config.web_host in ("0.0.0.0", "::") else config.web_host
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            reply = await client.get(f"http://{host}:{config.web_port}/hub/status.json")
        radio: dict[str, Any] | None = reply.json().get("radio")
        return radio
    except (httpx.HTTPError, ValueError):
        return None


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
    print(f"database {config.db_path}", file=out)
    records: Mapping[str, int] = status["records"]
    for kind in ("need", "offer", "notice"):
        parts = [f"{key.partition('.')[2]} {n}" for key, n in records.items()
                 if key.partition(".")[0] == kind]  # fmt: skip
        print(f"{kind + 's':9}{', '.join(parts) or 'none'}", file=out)
    print("version vector (ops held, per origin hub):", file=out)
    for origin, seq in status["version_vector"].items():
        mine = "  (this hub)" if origin == status["hub"] else ""
        print(f"  {origin}  {seq}{mine}", file=out)


async def cmd_demo(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from fieldkit.app.demo import run_demo

    return await run_demo(Path(args.dir), args.port, time_scale=args.time_scale)


# --- the parser -------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    config_help = f"the hub's config file (default: $FIELDKIT_CONFIG or ./{CONFIG_FILE})"
    common = _Parser(add_help=False)  # --config after the command, as well as before it
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=config_help)
    parser = _Parser(
        prog="fieldkit",
        description="Disaster-response field kit for mutual aid on a local mesh.",
    )
    parser.add_argument("--config", metavar="PATH", help=config_help)
    parser.add_argument("--version", action="version", version=f"fieldkit {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

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
    p.add_argument("--port", type=int, default=8080, help="web port (default 8080)")
    p.add_argument("--force", action="store_true", help="overwrite an existing config file")
    p.add_argument(
        "--network-key",
        metavar="KEY",
        help="join an existing network: its key, from `fieldkit key` on one of its hubs",
    )
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("run", parents=[common], help="serve the hub's web pages")
    p.add_argument("--host", help="address to listen on (default: web.host)")
    p.add_argument("--port", type=int, help="port to listen on (default: web.port)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("import", parents=[common], help="import records (JSON Lines or CSV)")
    p.add_argument("file", help="the file to import")
    p.add_argument("--format", choices=FORMATS, help="default: from the file name or content")
    p.add_argument(
        "--mapping",
        metavar="TOML",
        help="column mapping for a Google Forms/Sheets CSV (see README)",
    )
    p.add_argument("--progress", action="store_true", help="report each committed batch")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", parents=[common], help="export records in their public JSON form")
    p.add_argument("--format", choices=FORMATS, default="jsonl", help="default jsonl")
    p.add_argument(
        "--public", action="store_true", help="leave out contact details, notes and reference codes"
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("status", parents=[common], help="hub id, record counts, version vector")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)

    cli_sync.add_parsers(sub, common)

    p = sub.add_parser("sim", help="run a simulated LoRa mesh of Meshtastic radios")
    sim_cli.configure(p)
    p.set_defaults(func=None)

    p = sub.add_parser("demo", help="start the local demo (sample records, web pages)")
    p.add_argument("--dir", default="demo-data", help="where the demo hubs live")
    p.add_argument(
        "--port",
        type=int,
        default=8080,
        help="hub 1's web port; hub i gets PORT+i-1, its radio PORT+100+i-1 (default 8080)",
    )
    p.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="run radio time this many times faster (default 1)",
    )
    p.set_defaults(func=cmd_demo)
    return parser  # fmt: skip


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "sim":  # runs its own event loop and prints its own errors
            return sim_cli.run(args)
        command: Command = args.func
        return asyncio.run(command(args, os.environ if env is None else env))
    except FieldkitError as exc:
        print(f"fieldkit: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `fieldkit export | head`: the reader left, that's fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
