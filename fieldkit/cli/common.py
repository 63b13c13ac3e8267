"""What every command needs: its parser, finding the config, opening the hub.

A command is a pair side by side in its module: ``add_NAME(sub, common)`` declares its
arguments and names its handler, ``async def cmd_NAME(args, env) -> int`` does the work and
returns the exit code. Handlers raise :class:`~fieldkit.errors.FieldkitError` for anything
that goes wrong; :func:`fieldkit.cli.main.main` turns it into one line on stderr.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeAlias

from fieldkit.app.config import CONFIG_FILE, Config, load_config
from fieldkit.app.hub import Hub
from fieldkit.app.ownership import as_owner_of
from fieldkit.errors import ConfigError, UsageError
from fieldkit.store.sqlite import Store

#: What a handler gets: the parsed command line and the environment (``FIELDKIT_*``).
Handler: TypeAlias = Callable[[argparse.Namespace, Mapping[str, str]], Coroutine[Any, Any, int]]
#: ``parser.add_subparsers()``: where a command's ``add_NAME`` registers it.
Subcommands: TypeAlias = "argparse._SubParsersAction[Parser]"

CONFIG_HELP = f"the hub's config file (default: $FIELDKIT_CONFIG or ./{CONFIG_FILE})"


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are :class:`UsageError`s (one line, exit 2)."""

    def error(self, message: str) -> Any:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def config_path(args: argparse.Namespace, env: Mapping[str, str]) -> Path:
    return Path(args.config or env.get("FIELDKIT_CONFIG") or CONFIG_FILE)


def load(args: argparse.Namespace, env: Mapping[str, str]) -> Config:
    return load_config(config_path(args, env), env)


@asynccontextmanager
async def open_hub(config: Config) -> AsyncIterator[Hub]:
    """The hub of ``config``, its store closed when the block ends (however it ends)."""
    if config.cloud.database:  # the cloud aggregator's database (`fieldkit cloud init`)
        from fieldkit.app.cloud import open_cloud_store

        async with await open_cloud_store(config.cloud) as cloud_store:
            yield await Hub.open(cloud_store)
        return
    if not config.db_path.exists():
        raise ConfigError("hub.data_dir", f"no database at {config.db_path}: run `fieldkit init`")
    async with await open_store(config.db_path) as store:
        yield await Hub.open(store)


async def open_store(path: Path) -> Store:
    """The store at ``path``, its files made as the data folder's owner (run as root beside
    the hub's service, a command must not leave it files it cannot open)."""
    with as_owner_of(path.parent):
        return await Store.open(path)
