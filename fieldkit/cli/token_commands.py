"""``fieldkit token create|list|revoke``: the JSON API's tokens (see :mod:`fieldkit.app.tokens`).

Run on the hub itself, like the console's other commands: whoever can run them can read the
database anyway. A token is printed once, by ``create``; the hub keeps only its hash."""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping

from fieldkit.app.tokens import create_token, list_tokens, revoke_token
from fieldkit.cli.common import Parser, Subcommands, load, open_hub
from fieldkit.core.interchange import iso_ms
from fieldkit.errors import NotFound


def add_token(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser("token", parents=[common], help="tokens for the JSON API (/api/v1/)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION",
                               parser_class=type(p))  # fmt: skip
    c = actions.add_parser(
        "create", parents=[common],
        help="make a token called NAME (the audit trail's name for what it does); printed once",
    )  # fmt: skip
    c.add_argument("name")
    c.set_defaults(func=cmd_token_create)
    ls = actions.add_parser("list", parents=[common], help="the tokens' names (never the tokens)")
    ls.set_defaults(func=cmd_token_list)
    r = actions.add_parser("revoke", parents=[common], help="revoke the token called NAME")
    r.add_argument("name")
    r.set_defaults(func=cmd_token_revoke)


async def cmd_token_create(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    async with open_hub(load(args, env)) as hub:
        token = await create_token(hub.store, args.name, time.time())
    print(token)
    print(
        "this is the only time the token is shown: keep it like a password"
        " (`fieldkit token revoke NAME` ends it)",
    )
    return 0


async def cmd_token_list(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    async with open_hub(load(args, env)) as hub:
        tokens = await list_tokens(hub.store)
    for info in tokens:
        print(f"{info.name:40} created {iso_ms(info.created_at * 1000)}")
    if not tokens:
        print("no API tokens (`fieldkit token create NAME` makes one)")
    return 0


async def cmd_token_revoke(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    async with open_hub(load(args, env)) as hub:
        if not await revoke_token(hub.store, args.name):
            raise NotFound(f"no API token called {args.name!r}")
    print(f"token {args.name!r} revoked: it is refused from the next request on")
    return 0
