"""The ``fieldkit`` command: a thin layer over the library.

Each command lives beside its arguments in one of the ``*_commands`` modules; this module puts
them together and turns errors into one line on stderr: exit 1 for a failure, 2 for a wrong
command line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Mapping, Sequence

from fieldkit import __version__
from fieldkit.cli import (
    backup_commands,
    cloud_commands,
    console_commands,
    demo_commands,
    hub_commands,
    network_commands,
    provision_commands,
    record_commands,
    sync_commands,
    token_commands,
)
from fieldkit.cli.common import CONFIG_HELP, Handler, Parser, Subcommands
from fieldkit.errors import FieldkitError

#: Every command, in the order ``fieldkit --help`` lists them.
COMMANDS: tuple[Callable[[Subcommands, Parser], None], ...] = (
    hub_commands.add_init,
    hub_commands.add_run,
    record_commands.add_import,
    record_commands.add_export,
    hub_commands.add_status,
    console_commands.add_passphrase,
    console_commands.add_records,
    console_commands.add_show,
    console_commands.add_match,
    console_commands.add_set_status,
    console_commands.add_redact,
    console_commands.add_notice,
    token_commands.add_token,
    sync_commands.add_key,
    sync_commands.add_sync,
    sync_commands.add_bundle,
    network_commands.add_network,
    cloud_commands.add_cloud,
    provision_commands.add_provision,
    backup_commands.add_backup,
    backup_commands.add_restore,
    demo_commands.add_sim,
    demo_commands.add_demo,
)


def build_parser() -> Parser:
    common = Parser(add_help=False)  # --config after the command, as well as before it
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=CONFIG_HELP)
    parser = Parser(
        prog="fieldkit",
        description="Disaster-response field kit for mutual aid on a local mesh.",
    )
    parser.add_argument("--config", metavar="PATH", help=CONFIG_HELP)
    parser.add_argument("--version", action="version", version=f"fieldkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=Parser)  # fmt: skip
    for add in COMMANDS:
        add(sub, common)
    return parser


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run one command; returns its exit code. ``argv`` and ``env`` default to the process's."""
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as done:  # --help, --version: printed, nothing left to do
            return done.code if isinstance(done.code, int) else 0
        handler: Handler = args.func
        return asyncio.run(handler(args, os.environ if env is None else env))
    except FieldkitError as exc:
        print(f"fieldkit: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `fieldkit export | head`: the reader left, that's fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
