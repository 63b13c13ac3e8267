"""``fieldkit import`` and ``fieldkit export``: records in and out as JSON Lines or CSV."""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from fieldkit.app.config import Area
from fieldkit.app.hub import Hub
from fieldkit.app.import_export import (
    EXPORT_FORMATS,
    FORMATS,
    export_geojson,
    export_hxl,
    export_records,
    import_file,
)
from fieldkit.cli.common import Parser, Subcommands, load, open_hub
from fieldkit.core.interchange import parse_mapping
from fieldkit.errors import FieldkitError, ImportFileError

# --- import -----------------------------------------------------------------------------


def add_import(sub: Subcommands, common: Parser) -> None:
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


async def cmd_import(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    config = load(args, env)
    mapping = None
    if args.mapping:
        try:
            mapping = parse_mapping(tomllib.loads(Path(args.mapping).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ImportFileError(f"cannot read mapping {args.mapping}: {exc}") from None

    def progress(line: int) -> None:
        if args.progress:
            print(f"committed through line {line}", file=sys.stderr, flush=True)

    async with open_hub(config) as hub:
        report = await import_file(
            hub,
            Path(args.file),
            fmt=args.format,
            mapping=mapping,
            areas=config.area_names(),
            progress=progress,
        )
    for error in report.errors:
        print(f"{args.file}: {error}", file=sys.stderr)
    print(f"{report.created} new, {report.existing} already here, {len(report.errors)} with errors")
    return 1 if report.errors else 0


# --- export -----------------------------------------------------------------------------


def add_export(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser("export", parents=[common], help="export records in their public JSON form")
    p.add_argument(
        "--format", choices=EXPORT_FORMATS, default="jsonl",
        help="default jsonl; hxl (HXL-tagged CSV) and geojson (open records per area, counts "
        "coarsened) are always public",
    )  # fmt: skip
    p.add_argument(
        "--public", action="store_true", help="leave out contact details, notes and reference codes"
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.set_defaults(func=cmd_export)


async def _export(hub: Hub, areas: tuple[Area, ...], out: TextIO, fmt: str, public: bool) -> int:
    if fmt == "hxl":
        return await export_hxl(hub.store, out, areas)
    if fmt == "geojson":
        report = await export_geojson(hub.store, out, areas)
        for area, n in report.unplaced.items():
            print(
                f"{n} open records in area {area!r}, which has no centroid in the config "
                '(areas.ID.lat/lon): listed under "unplaced", not on the map',
                file=sys.stderr,
            )
        return report.mapped
    return await export_records(hub.store, out, fmt, public=public, areas=areas)


async def cmd_export(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    config = load(args, env)
    async with open_hub(config) as hub:
        if args.output and args.output != "-":
            try:
                out = open(args.output, "w", encoding="utf-8", newline="")  # noqa: SIM115
            except OSError as exc:
                raise FieldkitError(f"cannot write {args.output}: {exc.strerror}") from None
            with out:
                count = await _export(hub, config.areas, out, args.format, args.public)
        else:
            count = await _export(hub, config.areas, sys.stdout, args.format, args.public)
    if not args.public and args.format in FORMATS:
        print(
            f"exported {count} records including residents' private contact details;"
            " use --public for a file to share",
            file=sys.stderr,
        )
    return 0
