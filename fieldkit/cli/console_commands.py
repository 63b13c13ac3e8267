"""The coordinator console's actions on the command line: ``fieldkit passphrase``, ``records``,
``show``, ``match``, ``set-status``, ``redact`` and ``notice``. They run on the hub itself (beside
``fieldkit run``), so they need no sign-in: whoever can run them can read the database anyway.
``--by NAME`` records the coordinator's name in the audit trail (default: the login name)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from fieldkit.app.coordinator import post_notice, record_with_history
from fieldkit.app.hub import Hub
from fieldkit.app.passphrase import check_passphrase, set_passphrase
from fieldkit.cli.common import Parser, Subcommands, load, open_hub
from fieldkit.core.fields import Category, Kind, Status
from fieldkit.core.interchange import to_public
from fieldkit.core.ops import MESSAGE_MAX, RecordId, hub_name
from fieldkit.errors import UsageError


def read_passphrase(stdin: TextIO | None = None) -> str:
    """A new passphrase: typed twice at a terminal, or the first line of piped input."""
    stdin = stdin or sys.stdin
    if stdin.isatty():
        first = getpass.getpass("new console passphrase: ")
        if getpass.getpass("again: ") != first:
            raise UsageError("the two passphrases differ")
        return check_passphrase(first)
    return check_passphrase(stdin.readline().rstrip("\r\n"))


def _record_id(text: str) -> RecordId:
    try:
        return RecordId.parse(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _by(args: argparse.Namespace, env: Mapping[str, str]) -> str:
    name = args.by or env.get("USER") or env.get("LOGNAME") or "cli"
    return " ".join(str(name).split())[:40]


def _add_by(p: Parser) -> None:
    p.add_argument("--by", metavar="NAME", help="your name for the audit trail (default: $USER)")


# --- passphrase -----------------------------------------------------------------------------


def add_passphrase(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser(
        "passphrase", parents=[common],
        help="set the console passphrase (typed twice, or one line on stdin); signs everyone out",
    )  # fmt: skip
    p.set_defaults(func=cmd_passphrase)


async def cmd_passphrase(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    config = load(args, env)
    if config.cloud.database:
        raise UsageError(
            "the cloud's console has personal accounts, not a shared passphrase: "
            "`fieldkit cloud user add NAME`"
        )
    passphrase = read_passphrase()
    async with open_hub(config) as hub:
        await set_passphrase(hub.store, passphrase)
    print("console passphrase set (kept as a scrypt hash); every console session has ended")
    return 0


# --- records ---------------------------------------------------------------------------------


def add_records(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser(
        "records", parents=[common], help="list records, most urgent then oldest first"
    )
    p.add_argument("--kind", choices=[k.value for k in Kind])
    p.add_argument("--status", choices=[s.value for s in Status])
    p.add_argument("--category", choices=[c.value for c in Category])
    p.add_argument("--area")
    p.add_argument("--text", help="a piece of the note or reference code")
    p.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_records)


async def cmd_records(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    async with open_hub(load(args, env)) as hub:
        records = await hub.store.list_records(
            kind=Kind(args.kind) if args.kind else None,
            status=Status(args.status) if args.status else None,
            category=Category(args.category) if args.category else None,
            area=args.area, text=args.text, limit=max(args.limit, 1),
        )  # fmt: skip
    for r in records:
        if args.json:
            print(json.dumps({"id": str(r.id), **to_public(r)}, ensure_ascii=False))
        else:
            quantity = f"{r.quantity} {r.quantity_unit or ''}".strip() if r.quantity else "-"
            print(f"{r.id!s:20} {r.kind:6} {r.status:9} {r.urgency:9} {r.category:16} "
                  f"{quantity:10} {r.area:12} {r.ref}")  # fmt: skip
    return 0


# --- show ------------------------------------------------------------------------------------


def add_show(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser("show", parents=[common], help="one record with its full history")
    p.add_argument("id", help="the record id, like 3fa9c2d1-42")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_show)


async def _show(hub: Hub, rid: RecordId) -> dict[str, Any]:
    return await record_with_history(hub, rid)


async def cmd_show(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    async with open_hub(load(args, env)) as hub:
        shown = await _show(hub, _record_id(args.id))
    if args.json:
        print(json.dumps(shown, ensure_ascii=False))
        return 0
    for key, value in shown.items():
        if key != "history":
            text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value
            print(f"{key:16} {text}")
    print("history:")
    for h in shown["history"]:
        extra = " ".join(f"{k}={h[k]}" for k in ("status", "need", "offer") if k in h)
        message = f" “{h['message']}”" if "message" in h else ""
        by = f" by {h['by']}" if h["by"] else ""
        print(f"  {h['time']}  {h['hub']}-{h['seq']}  {h['op']} {extra}{by}{message}".rstrip())
    return 0


# --- match and set-status ----------------------------------------------------------------------


def add_match(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser(
        "match", parents=[common], help="match a need with an offer; the resident sees --message"
    )
    p.add_argument("need", help="the need's record id")
    p.add_argument("offer", help="the offer's record id")
    p.add_argument("--message", default="", help="what the resident's status page shows")
    _add_by(p)
    p.set_defaults(func=cmd_match)


async def cmd_match(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    need, offer = _record_id(args.need), _record_id(args.offer)
    _check_message(args.message)
    async with open_hub(load(args, env)) as hub:
        op = await hub.match(need, offer, args.message, by=_by(args, env))
    print(f"matched {need} with {offer} (op {hub_name(op.origin)}-{op.seq})")
    return 0


def add_set_status(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser(
        "set-status", parents=[common], help="mark a record fulfilled or cancelled, or reopen it"
    )
    p.add_argument("id", help="the record id")
    p.add_argument("status", choices=["open", "matched", "fulfilled", "cancelled"])
    p.add_argument("--message", default="", help="what the resident's status page shows")
    _add_by(p)
    p.set_defaults(func=cmd_set_status)


async def cmd_set_status(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    rid = _record_id(args.id)
    _check_message(args.message)
    async with open_hub(load(args, env)) as hub:
        op = await hub.set_status(rid, Status(args.status), args.message, by=_by(args, env))
        record = await hub.store.get(rid)
    assert record is not None
    print(f"{rid} is {record.status} (op {hub_name(op.origin)}-{op.seq})")
    return 0


def add_redact(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser(
        "redact", parents=[common],
        help="erase a resident's name, phone, location and note at every hub (cannot be undone)",
    )  # fmt: skip
    p.add_argument("id", help="the record id")
    _add_by(p)
    p.set_defaults(func=cmd_redact)


async def cmd_redact(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    rid = _record_id(args.id)
    async with open_hub(load(args, env)) as hub:
        op = await hub.redact(rid, by=_by(args, env))
    print(f"{rid}: personal data redacted; the redaction travels to every hub "
          f"(op {hub_name(op.origin)}-{op.seq})")  # fmt: skip
    return 0


def _check_message(message: str) -> None:
    if len(message) > MESSAGE_MAX:
        raise UsageError(f"--message: at most {MESSAGE_MAX} characters")


# --- notice ------------------------------------------------------------------------------------


def add_notice(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser(
        "notice", parents=[common],
        help="post a notice (a distribution point, a shelter, a boil-water order) for an area",
    )  # fmt: skip
    p.add_argument("--category", required=True, choices=[c.value for c in Category])
    p.add_argument("--area", required=True, help="the area's id or name")
    p.add_argument("text", help="what residents read on the board")
    _add_by(p)
    p.set_defaults(func=cmd_notice)


async def cmd_notice(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    config = load(args, env)
    areas = {area.id: area.name for area in config.areas}
    async with open_hub(config) as hub:
        record = await post_notice(
            hub, args.category, args.area, args.text, by=_by(args, env), areas=areas
        )
    print(f"posted notice {record.id} for {record.area} ({record.category})")
    return 0
