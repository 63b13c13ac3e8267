"""Coordinators' personal accounts on the cloud aggregator (``fieldkit cloud user add NAME``).

The cloud faces the internet: each coordinator signs in to its console with a name and a
passphrase of their own, not a shared one, and the audit trail records that name. Accounts are
kept in the database (the store's metadata, one JSON object: every cloud process sees the
same), each passphrase as a scrypt hash (:mod:`fieldkit.app.passphrase`). Setting a new
passphrase, or removing the account, ends that coordinator's sessions: a session is honoured
only while its account exists and was signed in to after the account's passphrase was set.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from fieldkit.app.passphrase import check_passphrase, hash_passphrase, verify_passphrase
from fieldkit.errors import UsageError
from fieldkit.store.port import StorePort
from fieldkit.web.console.session import NAME_MAX, clean_name

ACCOUNTS_KEY = "console_accounts"


@functools.cache
def _nobody() -> str:
    """Checked against when a name has no account, so that a wrong name takes as long as a
    wrong passphrase (nothing tells which names exist)."""
    return hash_passphrase("no such account", salt=bytes(16))


@dataclass(frozen=True)
class Account:
    name: str
    since: int  # unix seconds its passphrase was set: sessions signed in before end


def _parse(text: str | None) -> dict[str, dict[str, object]]:
    return {} if text is None else dict(json.loads(text))


async def _load(store: StorePort) -> dict[str, dict[str, object]]:
    return _parse(await store.meta(ACCOUNTS_KEY))


def account_name(text: str) -> str:
    """The account's name as coordinators type it, or :class:`UsageError`."""
    name = clean_name(text)
    if name is None:
        raise UsageError(f"an account's name is 1 to {NAME_MAX} characters of plain text")
    return name


async def set_account(store: StorePort, name: str, passphrase: str, now: int) -> bool:
    """Add the account ``name`` or give it a new passphrase (its sessions end); True if new."""
    name = account_name(name)
    digest = hash_passphrase(check_passphrase(passphrase))
    was: list[bool] = []

    def change(text: str | None) -> str:  # read and written in one transaction
        accounts = _parse(text)
        was.append(name in accounts)
        accounts[name] = {"hash": digest, "since": now}
        return json.dumps(accounts, sort_keys=True)

    await store.update_meta(ACCOUNTS_KEY, change)
    return not was[-1]


async def remove_account(store: StorePort, name: str) -> bool:
    """Remove the account (its sessions end at once); False if there was none."""
    name = clean_name(name) or ""  # named as when it was added; no account has an empty name
    found: list[bool] = []

    def change(text: str | None) -> str:
        accounts = _parse(text)
        found.append(accounts.pop(name, None) is not None)
        return json.dumps(accounts, sort_keys=True)

    await store.update_meta(ACCOUNTS_KEY, change)
    return found[-1]


async def list_accounts(store: StorePort) -> list[Account]:
    accounts = await _load(store)
    return [Account(name, int(str(a["since"]))) for name, a in sorted(accounts.items())]


async def account(store: StorePort, name: str) -> Account | None:
    found = (await _load(store)).get(name)
    return None if found is None else Account(name, int(str(found["since"])))


async def stored_hash(store: StorePort, name: str) -> str:
    """What ``name``'s passphrase is checked against (a hash nobody's passphrase matches if
    there is no such account): verify it with :func:`check_account` off the event loop."""
    found = (await _load(store)).get(name)
    return _nobody() if found is None else str(found["hash"])


def check_account(passphrase: str, stored: str) -> bool:
    """True if ``passphrase`` is the account's (False always for a name with no account)."""
    return verify_passphrase(passphrase, stored) and stored != _nobody()
