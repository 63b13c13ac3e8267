"""``fieldkit provision poster``: the page to tape to the wall (Wi-Fi, QR code, emergency line)."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from fieldkit.app.network import saved_network
from fieldkit.cli.common import Parser, Subcommands, load, open_hub
from fieldkit.errors import FieldkitError, UsageError
from fieldkit.provisioning.poster import render_poster
from fieldkit.web.i18n import load_languages

POSTER_FILE = "poster.html"


def add_poster(actions: Subcommands, common: Parser) -> None:
    """``provision poster`` (``actions``: the ``provision`` command's subparsers)."""
    p = actions.add_parser(
        "poster",
        parents=[common],
        help="write a one-page poster: the Wi-Fi, its QR code, the emergency line",
    )
    p.add_argument(
        "--out", metavar="FILE", help=f"where to write it (default: the data dir's {POSTER_FILE})"
    )
    p.add_argument(
        "--no-emergency", action="store_true",
        help="print it without an emergency line (this hub's network has none)",
    )  # fmt: skip
    p.set_defaults(func=cmd_poster)


async def cmd_poster(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    config = load(args, env)
    async with open_hub(config) as hub:
        network = await saved_network(hub.store)
    emergency = network.emergency if network is not None else ""
    if not emergency and not args.no_emergency:
        where = "this hub is on no network" if network is None else "its network has none"
        raise UsageError(
            f"the poster shows the emergency line, and {where}: make the network with "
            "`fieldkit network new --emergency TEXT` (or join one that has it), or add "
            "--no-emergency"
        )
    languages = load_languages(config.languages)
    html = render_poster(config.hub_name, config.ssid, emergency, languages)
    out = Path(args.out) if args.out else config.data_dir / POSTER_FILE
    _write(out, html)
    print(f"wrote {out}: Wi-Fi “{config.ssid}”, in {', '.join(languages)}")
    print("print it on one A4 page (the browser's Print, or `chromium --headless --print-to-pdf`)")
    return 0


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temp, 0o644)  # nothing secret: the Wi-Fi is open
        os.replace(temp, path)
    except OSError as exc:
        raise FieldkitError(f"cannot write {path}: {exc.strerror}") from None
