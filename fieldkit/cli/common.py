"""What every command needs: finding the config, opening the hub."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from fieldkit.app.config import CONFIG_FILE, Config, load_config
from fieldkit.app.hub import Hub
from fieldkit.errors import ConfigError
from fieldkit.store.sqlite import Store


def config_path(args: argparse.Namespace, env: Mapping[str, str]) -> Path:
    return Path(args.config or env.get("FIELDKIT_CONFIG") or CONFIG_FILE)


def load(args: argparse.Namespace, env: Mapping[str, str]) -> Config:
    return load_config(config_path(args, env), env)


async def open_hub(config: Config) -> Hub:
    if not config.db_path.exists():
        raise ConfigError("hub.data_dir", f"no database at {config.db_path}: run `fieldkit init`")
    return await Hub.open(await Store.open(config.db_path))
