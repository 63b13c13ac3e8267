"""``fieldkit key``, ``fieldkit sync`` and ``fieldkit bundle``: moving ops between hubs."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

from fieldkit.app.keyring import REJOIN_HINT, KeyRing
from fieldkit.app.netkey import format_key, network_key
from fieldkit.app.runner_bundle import take_bundle, write_bundle
from fieldkit.app.safe_file import write_whole
from fieldkit.cli.common import Parser, Subcommands, load, open_hub
from fieldkit.core.interchange import parse_iso
from fieldkit.errors import FieldkitError, UsageError
from fieldkit.sync.http import http_peer, sync_with, trade_notices

# --- key --------------------------------------------------------------------------------


def add_key(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser("key", parents=[common], help="print this network's key (to join hubs)")
    p.set_defaults(func=cmd_key)


async def cmd_key(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    async with open_hub(load(args, env)) as hub:
        print(format_key(await network_key(hub.store)))
    return 0


# --- sync -------------------------------------------------------------------------------


def add_sync(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser("sync", parents=[common], help="sync with another hub, or the cloud")
    p.add_argument("url", help="the other hub, like http://10.0.0.2:8080; or `cloud`")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds (default 60)")
    p.set_defaults(func=cmd_sync)


async def cmd_sync(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    import httpx

    if args.url == "cloud":
        return await _sync_cloud(args, env)
    url = args.url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"expected a hub address like http://10.0.0.2:8080, got {args.url!r}")
    async with open_hub(load(args, env)) as hub, httpx.AsyncClient(timeout=args.timeout) as client:
        ring = await KeyRing.open(hub)
        traded = await trade_notices(client, url, ring)  # a key rotation travels first
        keys = ring.accepted()
        for tried, key in enumerate(keys, 1):
            try:
                report = await sync_with(hub, key, http_peer(client, url))
                break
            except FieldkitError as exc:  # a hub not yet moved to our new key refuses it:
                if tried < len(keys) and " refused:" in str(exc):  # the previous key
                    continue
                if " refused:" in str(exc) and "authentication" in str(exc):
                    raise FieldkitError(f"{exc}; {REJOIN_HINT}") from None
                raise
        _say_keys(traded, ring)
    print(f"received {report.received_new} new ops ({report.received} sent to us), "
          f"sent {report.sent}")  # fmt: skip
    return 0


def _say_keys(outcomes: Mapping[str, int], ring: KeyRing) -> None:
    """What key notices from the other hub (or a bundle) did here."""
    if outcomes.get("moved"):
        print(f"moved to the network's new key {format_key(ring.keys.current)[:10]}…",
              file=sys.stderr)  # fmt: skip
    if ring.stats["revocations learned"]:
        revoked = ", ".join(f"{h:08x}" for h in sorted(ring.hub.revoked))
        print(f"revoked hubs: {revoked} (their new ops are refused)", file=sys.stderr)
    if ring.hub.refused_revoked:
        print(f"refused {ring.hub.refused_revoked} ops of revoked hubs", file=sys.stderr)


async def _sync_cloud(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """`fieldkit sync cloud`: the cloud this hub joined, with a progress bar on stderr."""
    from fieldkit.app.cloud import saved_link, sync_now
    from fieldkit.sync.cloud import CloudReport

    def bar(report: CloudReport) -> None:
        done, left = report.sent, report.left_to_send
        width, share = 30, done / (done + left) if done + left else 1.0
        fill = "#" * round(width * share)
        print(f"\rcloud [{fill:{width}}] sent {done}, {left} to go, received"
              f" {report.received_new} new ({report.requests} requests)", end="",
              file=sys.stderr, flush=True)  # fmt: skip

    async with open_hub(load(args, env)) as hub:
        link = await saved_link(hub.store)
        if link is None:
            raise FieldkitError("this hub joined no cloud: `fieldkit cloud join URL CODE` first")
        try:
            report = await sync_now(hub, link, args.timeout, progress=bar)
        finally:
            print(file=sys.stderr)
    print(f"cloud {link.url}: received {report.received_new} new ops ({report.received} sent"
          f" to us), sent {report.sent} in {report.requests} requests")  # fmt: skip
    return 0


# --- bundle -----------------------------------------------------------------------------


def add_bundle(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser("bundle", parents=[common], help="carry ops between hubs in a file")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION",
                               parser_class=type(p))  # fmt: skip
    e = actions.add_parser("export", parents=[common], help="write this hub's ops to FILE")
    e.add_argument("--since", metavar="DATE", help="only ops from this date on (ISO 8601)")
    e.add_argument("file")
    e.set_defaults(func=cmd_bundle_export)
    i = actions.add_parser("import", parents=[common], help="take the ops in FILE")
    i.add_argument("file")
    i.set_defaults(func=cmd_bundle_import)


async def cmd_bundle_export(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    path = Path(args.file)
    async with open_hub(load(args, env)) as hub:
        since = _since(args.since)
        count, size = await write_whole(path, lambda sink: write_bundle(hub, sink, since))
    print(f"wrote {count} ops to {path} ({size} bytes)")
    return 0


async def cmd_bundle_import(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    path = Path(args.file)
    async with open_hub(load(args, env)) as hub:
        try:  # non-blocking: opening a FIFO must not wait for a writer
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            raise FieldkitError(f"cannot read {path}: {exc.strerror}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise FieldkitError(f"cannot read {path}: not a regular file")
        with os.fdopen(fd, "rb") as file:
            taken = await take_bundle(hub, file)
        _say_keys(taken.notices, taken.ring)
    print(f"{taken.new} new ops ({taken.total} in the bundle)")
    return 0


def _since(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return parse_iso(text)
    except ValueError:
        raise UsageError(
            f"--since: expected a date like 2026-11-20 or 2026-11-20T14:00, got {text!r}"
        ) from None
