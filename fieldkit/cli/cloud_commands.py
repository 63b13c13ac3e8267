"""``fieldkit cloud init|enroll|revoke|hubs|user`` on the cloud aggregator, ``fieldkit cloud
join`` on a hub (see :mod:`fieldkit.app.cloud`)."""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from fieldkit.app.accounts import account_name, list_accounts, remove_account, set_account
from fieldkit.app.cloud import (
    CODE_VALID_S,
    ENROLLED_KEY,
    enroll,
    join_cloud,
    open_cloud_store,
)
from fieldkit.app.config import (
    CONFIG_FILE,
    DEFAULT_CLOUD_PORT,
    Config,
    load_config,
    render_config,
)
from fieldkit.app.hub import create_identity
from fieldkit.app.netkey import ensure_network_key, format_key, parse_key
from fieldkit.app.network import parse_join_code, save_network
from fieldkit.cli.common import Parser, Subcommands, load, open_hub
from fieldkit.cli.console_commands import read_passphrase
from fieldkit.core.ops import hub_name
from fieldkit.errors import ConfigError, FieldkitError, UsageError
from fieldkit.store.cloud_port import CloudPort


def add_cloud(sub: Subcommands, common: Parser) -> None:
    p = sub.add_parser("cloud", parents=[common], help="the cloud aggregator, and joining it")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=Parser)
    init = actions.add_parser("init", parents=[common], help="set up a cloud aggregator")
    init.add_argument("--dir", default=".", help="where to write fieldkit.toml (default: here)")
    init.add_argument(
        "--database", default="sqlite:///data/cloud.sqlite3", metavar="URL",
        help="sqlite:///PATH (default data/cloud.sqlite3) or postgresql://USER@HOST/DB",
    )  # fmt: skip
    init.add_argument("--schema", default="", help="a PostgreSQL schema of its own")
    init.add_argument("--name", default="Cloud", help="the cloud's name in its console")
    init.add_argument("--hostname", default="localhost", help="the name the cloud answers")
    init.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    init.add_argument("--port", type=int, default=DEFAULT_CLOUD_PORT, help="HTTPS port")
    init.add_argument("--cert", metavar="PEM", help="a CA's certificate for the hostname")
    init.add_argument("--key", metavar="PEM", help="its private key")
    join_or_key = init.add_mutually_exclusive_group()
    join_or_key.add_argument("--join-code", metavar="CODE", help="the network's join code")
    join_or_key.add_argument("--network-key", metavar="KEY", help="the network's key")
    init.add_argument(
        "--user", metavar="NAME", help="a first coordinator's account (passphrase typed twice)"
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing config file")
    init.set_defaults(func=cmd_cloud_init)
    e = actions.add_parser("enroll", parents=[common], help="a one-time code for a hub to join")
    e.add_argument("name", help="the hub's name, as coordinators know it")
    e.set_defaults(func=cmd_cloud_enroll)
    r = actions.add_parser("revoke", parents=[common], help="refuse a hub from now on")
    r.add_argument("name")
    r.set_defaults(func=cmd_cloud_revoke)
    h = actions.add_parser("hubs", parents=[common], help="the enrolled hubs")
    h.add_argument("--json", action="store_true", help="one object per line")
    h.set_defaults(func=cmd_cloud_hubs)
    u = actions.add_parser("user", parents=[common], help="coordinators' console accounts")
    users = u.add_subparsers(dest="user_action", required=True, metavar="ACTION",
                             parser_class=Parser)  # fmt: skip
    ua = users.add_parser(
        "add", parents=[common],
        help="add an account, or give it a new passphrase (typed twice, or one line on stdin; "
        "its sessions end)",
    )  # fmt: skip
    ua.add_argument("name", help="the name the coordinator signs in with (the audit trail's)")
    ua.set_defaults(func=cmd_cloud_user_add)
    ur = users.add_parser("remove", parents=[common], help="remove an account (signs it out)")
    ur.add_argument("name")
    ur.set_defaults(func=cmd_cloud_user_remove)
    ul = users.add_parser("list", parents=[common], help="the accounts")
    ul.set_defaults(func=cmd_cloud_user_list)
    j = actions.add_parser("join", parents=[common], help="on a hub: join a cloud with its code")
    j.add_argument("url", help="the cloud, like https://cloud.example.org:8443")
    j.add_argument("code", help="the code from `fieldkit cloud enroll` (fkcloud1.…)")
    j.add_argument("--ca", metavar="PEM", help="the CA that signed the cloud's certificate")
    j.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")
    j.set_defaults(func=cmd_cloud_join)


def _cloud_toml(args: argparse.Namespace) -> str:
    def q(text: str) -> str:
        return json.dumps(text)

    cert = str(Path(args.cert).resolve()) if args.cert else ""
    key = str(Path(args.key).resolve()) if args.key else ""
    return f"""
[cloud]
# The cloud aggregator's database: sqlite:///PATH (relative to this file) or
# postgresql://USER:PASSWORD@HOST/DB; its own PostgreSQL schema ("" the default).
database = {q(args.database)}
schema = {q(args.schema)}
# The name it answers (other Host headers are refused) and its HTTPS port.
hostname = {q(args.hostname)}
port = {args.port}
# A CA's certificate and key for the hostname ("" : one made here, pinned by the hubs).
cert_file = {q(cert)}
key_file = {q(key)}
"""


async def cmd_cloud_init(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    path = Path(args.config) if args.config else Path(args.dir) / CONFIG_FILE
    network = parse_join_code(args.join_code) if args.join_code else None
    given = parse_key(args.network_key) if args.network_key else None
    if bool(args.cert) != bool(args.key):
        raise UsageError("give --cert and --key both (or neither: a certificate is made here)")
    if path.exists() and not args.force:
        raise UsageError(f"{path} exists: add --force to replace it")
    areas = network.areas if network else ()
    text = render_config(args.name, areas, "data", port=DEFAULT_CLOUD_PORT)
    text = text.replace('host = "127.0.0.1"', f"host = {json.dumps(args.host)}", 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + _cloud_toml(args), encoding="utf-8")
    config = load_config(path, env)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    user = account_name(args.user) if args.user else None
    passphrase = read_passphrase() if user is not None else None
    async with await open_cloud_store(config.cloud) as store:
        cloud_id = await create_identity(store)
        if network is not None:
            await save_network(store, network)
            key = network.key
        else:
            key = await ensure_network_key(store, given)
        await store.set_meta(ENROLLED_KEY, "cloud")
        if user is not None and passphrase is not None:
            await set_account(store, user, passphrase, int(time.time()))
        location = store.location
    from fieldkit.app.cloud_serve import cloud_certificate

    certificate, made = cloud_certificate(config)
    print(f"wrote {path}")
    print(f"cloud {hub_name(cloud_id)} “{config.hub_name}”, database {location}")
    print(f"serves https://{config.cloud.hostname}:{config.cloud.port}/ "
          f"({'self-made certificate' if made else 'certificate ' + str(certificate.cert_path)})"
          f" SHA-256 {certificate.fingerprint}")  # fmt: skip
    if network is None and given is None:
        print(f"new network key (for `fieldkit init --network-key` on hubs): {format_key(key)}")
    if user is not None:
        print(f"console account “{user}” added (its passphrase kept as a scrypt hash)")
    return 0


async def _cloud_store(
    args: argparse.Namespace, env: Mapping[str, str]
) -> tuple[Config, CloudPort]:
    config = load(args, env)
    if not config.cloud.database:
        raise ConfigError("cloud.database", "not a cloud: run `fieldkit cloud init` first")
    return config, await open_cloud_store(config.cloud)


async def cmd_cloud_enroll(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from fieldkit.app.cloud_serve import cloud_certificate

    config, store = await _cloud_store(args, env)
    async with store:
        certificate, self_made = cloud_certificate(config)
        code = await enroll(store, args.name, certificate.fingerprint if self_made else None)
    url = f"https://{config.cloud.hostname}:{config.cloud.port}"
    name = args.name.strip()
    hours = CODE_VALID_S // 3600
    print(f"one-time code for hub “{name}”, valid for {hours} hours"
          f" (on the hub: fieldkit cloud join {url} CODE):")  # fmt: skip
    print(code)
    print("warning: the code lets one hub join this cloud; give it only to that hub's operator",
          file=sys.stderr)  # fmt: skip
    return 0


async def cmd_cloud_revoke(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    _, store = await _cloud_store(args, env)
    async with store:
        if not await store.revoke_hub(args.name.strip(), int(time.time())):
            raise FieldkitError(f"no hub named {args.name!r} is enrolled here")
    print(f"hub “{args.name.strip()}” revoked: this cloud refuses it from now on")
    return 0


async def cmd_cloud_user_add(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    name = account_name(args.name)
    passphrase = read_passphrase()
    _, store = await _cloud_store(args, env)
    async with store:
        new = await set_account(store, name, passphrase, int(time.time()))
    if new:
        print(f"console account “{name}” added (its passphrase kept as a scrypt hash)")
    else:
        print(f"console account “{name}” has a new passphrase; its sessions have ended")
    return 0


async def cmd_cloud_user_remove(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    _, store = await _cloud_store(args, env)
    async with store:
        if not await remove_account(store, args.name):
            raise FieldkitError(f"no console account named {args.name!r}")
    print(f"console account “{' '.join(args.name.split())}” removed; its sessions have ended")
    return 0


async def cmd_cloud_user_list(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    _, store = await _cloud_store(args, env)
    async with store:
        accounts = await list_accounts(store)
    for a in accounts:
        since = datetime.datetime.fromtimestamp(a.since, datetime.UTC).strftime("%Y-%m-%d %H:%M")
        print(f"{a.name:40} passphrase set {since}")
    return 0


async def cmd_cloud_hubs(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    _, store = await _cloud_store(args, env)
    async with store:
        hubs = await store.enrolled_hubs()

    def when(seconds: int | None) -> str:
        if seconds is None:
            return "-"
        return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%d %H:%M")

    for h in hubs:
        if args.json:
            print(json.dumps({"name": h.name, "hub": hub_name(h.hub_id) if h.hub_id else None,
                              "enrolled_at": h.enrolled_at, "joined_at": h.joined_at,
                              "revoked_at": h.revoked_at, "delivered": h.delivered}))  # fmt: skip
            continue
        state = "revoked " + when(h.revoked_at) if h.revoked_at else (
            "joined " + when(h.joined_at) if h.joined_at else "code not used yet")  # fmt: skip
        hub = hub_name(h.hub_id) if h.hub_id else "--------"
        print(f"{h.name:24} {hub}  {state:28} {h.delivered} ops delivered")
    return 0


async def cmd_cloud_join(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    ca_pem = None
    if args.ca:
        try:
            ca_pem = Path(args.ca).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise FieldkitError(f"cannot read {args.ca}: {exc}") from None
    async with open_hub(load(args, env)) as hub:
        link, cloud = await join_cloud(hub, args.url, args.code, ca_pem, args.timeout)
    print(f"joined cloud {link.url} as “{link.name}” (cloud {cloud}); `fieldkit run`"
          " syncs with it whenever it answers, `fieldkit sync cloud` now")  # fmt: skip
    return 0
