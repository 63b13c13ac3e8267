"""``fieldkit backup`` and ``fieldkit restore``: the hub itself on a stick, for a failed SD card."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from fieldkit.app.backup import Backup, check_backup, restore_backup, write_backup
from fieldkit.app.config import Config
from fieldkit.app.hub import HUB_ID_KEY, Hub
from fieldkit.app.netkey import network_key, parse_key
from fieldkit.app.network import parse_join_code
from fieldkit.cli.common import Parser, Subcommands, load, open_hub, open_store
from fieldkit.core.ops import hub_name
from fieldkit.errors import BackupError, FieldkitError, UsageError

BACKUP_WARNING = (
    "keep the backup off this hub (a USB stick, another machine): it is sealed under the "
    "network key, so whoever has the key or the join code can read it"
)
_SIDE_FILES = ("", "-wal", "-shm")  # a SQLite database and what it may leave beside it


def add_backup(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser(
        "backup", parents=[common], help="save the hub (its id and whole log) to a sealed file"
    )
    p.add_argument("file", metavar="FILE", help="the backup file to write (atomically)")
    p.set_defaults(func=cmd_backup)


def add_restore(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser(
        "restore", parents=[common], help="bring a hub back from its backup (a new SD card)"
    )
    p.add_argument("file", metavar="FILE", help="the backup, from `fieldkit backup`")
    keys = p.add_mutually_exclusive_group()
    keys.add_argument("--join-code", metavar="CODE", help="the network's join code (its key)")
    keys.add_argument("--network-key", metavar="KEY", help="the network key (`fieldkit key`)")
    p.add_argument(
        "--from", dest="peers", action="append", default=[], metavar="URL",
        help="then sync with this hub (repeatable), to learn the ops made after the backup",
    )  # fmt: skip
    p.add_argument(
        "--bundle", dest="bundles", action="append", default=[], metavar="FILE",
        help="then import this bundle from another hub (repeatable), for the same reason",
    )  # fmt: skip
    p.add_argument(
        "--no-sync", action="store_true",
        help="restore without syncing (only if this hub made no ops after the backup)",
    )  # fmt: skip
    p.add_argument(
        "--force", action="store_true",
        help="put the hub in the data folder aside (kept beside it) and restore in its place",
    )  # fmt: skip
    p.set_defaults(func=cmd_restore)


async def cmd_backup(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    path = Path(args.file)
    async with open_hub(load(args, env)) as hub:
        try:
            with tempfile.NamedTemporaryFile(
                dir=path.parent, prefix=f".{path.name}.", delete=False
            ) as tmp:
                try:
                    made = await write_backup(
                        hub.store, tmp.write, made_at_ms=int(time.time() * 1000)
                    )
                    tmp.flush()
                    os.fsync(tmp.fileno())
                except BaseException:
                    Path(tmp.name).unlink(missing_ok=True)
                    raise
            os.chmod(tmp.name, 0o600)
            os.replace(tmp.name, path)
        except OSError as exc:
            raise FieldkitError(f"cannot write {path}: {exc.strerror}") from None
    print(f"backed up hub {hub_name(made.hub)}: {made.ops} ops (its own up to seq "
          f"{made.own_seq}) to {path}")  # fmt: skip
    print(f"note: {BACKUP_WARNING}", file=sys.stderr)
    return 0


async def _existing(db: Path) -> tuple[str | None, bytes | None]:
    """The hub id and network key of the database at ``db``, if there is one."""
    if not db.exists():
        return None, None
    async with await open_store(db) as store:
        hub = await store.meta(HUB_ID_KEY)
        key = await network_key(store) if hub is not None else None
    return hub, key


def _key(args: argparse.Namespace, existing: bytes | None) -> bytes:
    if args.join_code:
        return parse_join_code(args.join_code).key
    if args.network_key:
        return parse_key(args.network_key)
    if existing is not None:
        return existing
    raise UsageError(
        "the backup is sealed under the network key: give --join-code CODE (from `fieldkit "
        "network show --secrets` on any hub of the network) or --network-key KEY"
    )


def _remove(db: Path) -> None:
    for side in _SIDE_FILES:
        Path(f"{db}{side}").unlink(missing_ok=True)


def _move(db: Path, to: Path) -> None:
    for side in _SIDE_FILES:
        if Path(f"{db}{side}").exists():
            os.replace(f"{db}{side}", f"{to}{side}")


async def cmd_restore(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    if not (args.peers or args.bundles or args.no_sync):
        raise UsageError(
            "after a restore the hub must learn the ops it made since the backup before it "
            "takes new records (or their ids would be used twice): add --from URL of another "
            "hub or --bundle FILE from one; --no-sync only if it made none"
        )
    for url in args.peers:
        _check_url(url)  # before anything is written
    config = load(args, env)
    db = config.db_path
    hub_id, existing_key = await _existing(db)
    if hub_id is not None and not args.force:
        raise BackupError(
            f"{config.data_dir} already has hub {hub_id}: stop it, then add --force to put it "
            "aside (it is kept beside the restored one) and restore in its place"
        )
    key = _key(args, existing_key)
    path = Path(args.file)
    try:
        with path.open("rb") as source:
            checked = check_backup(source, key)  # all of it, before anything is written
        config.data_dir.mkdir(parents=True, exist_ok=True)
        staging = db.with_name(f"{db.name}.restoring")
        _remove(staging)
        async with await open_store(staging) as store:
            with path.open("rb") as source:
                restored = await restore_backup(store, source, key)
        if restored != checked:
            raise BackupError(f"{path} changed while it was read: restore again")
        if hub_id is not None:
            aside = db.with_name(f"{db.name}.before-restore-{time.strftime('%Y%m%dT%H%M%S')}")
            _move(db, aside)
            print(f"the hub {hub_id} that was here is kept in {aside}")
        _move(staging, db)
    except OSError as exc:
        raise FieldkitError(f"cannot restore: {exc.strerror} ({exc.filename})") from None
    _report(restored)
    await _catch_up(args, config, key)
    return 0


def _report(restored: Backup) -> None:
    made = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(restored.made_at_ms / 1000))
    print(f"restored hub {hub_name(restored.hub)} from its backup of {made}: "
          f"{restored.ops} ops, its own up to seq {restored.own_seq}")  # fmt: skip


async def _catch_up(args: argparse.Namespace, config: Config, key: bytes) -> None:
    from fieldkit.sync.bundle_file import import_bundle

    async with open_hub(config) as hub:
        for bundle in args.bundles:
            try:
                data = Path(bundle).read_bytes()
            except OSError as exc:
                raise FieldkitError(f"cannot read {bundle}: {exc.strerror}") from None
            new, total = await import_bundle(hub, key, data)
            print(f"{bundle}: {new} new ops ({total} in the bundle)")
        for url in args.peers:
            new = await _sync(hub, key, url)
            print(f"{url}: received {new} new ops")
        own = (await hub.store.version_vector()).get(hub.id, 0)
    if args.no_sync and not (args.peers or args.bundles):
        print("warning: not synced: if this hub made ops after the backup, sync it before it "
              "takes new records", file=sys.stderr)  # fmt: skip
    print(f"its next op is seq {own + 1}; start it: `sudo systemctl start fieldkit`")


def _check_url(url: str) -> str:
    base = url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise UsageError(f"--from: expected a hub address like http://10.0.0.2:8080, got {url!r}")
    return base


async def _sync(hub: Hub, key: bytes, url: str) -> int:
    import httpx

    from fieldkit.sync.http import http_peer, sync_with

    base = _check_url(url)
    async with httpx.AsyncClient(timeout=60.0) as client:
        report = await sync_with(hub, key, http_peer(client, base))
    return report.received_new
