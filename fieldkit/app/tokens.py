"""API tokens: what a program shows the hub's JSON API (``Authorization: Bearer TOKEN``).

A token is 32 random bytes from :mod:`secrets` (``fkt_`` + base64url), printed once by
``fieldkit token create NAME`` and never stored: the hub keeps its SHA-256 and its name, which
the audit trail records as the coordinator of every action taken with it. A slow hash (as for
the passphrase) buys nothing here: the token has 256 bits of entropy, nothing to guess.

Where they live: the hub's metadata (key :data:`TOKENS_KEY`, one JSON object), beside the
passphrase's hash and the session key. Both storage adapters already have it, so there is no
migration to number, a cloud with several processes behind one database shares the tokens
(it keeps no state outside the database), ``fieldkit token revoke`` beside ``fieldkit run``
takes effect on the next request (every check reads the store), and no token ever leaves
the hub: metadata is not synced, and backups keep only the hub's identity and keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from fieldkit.errors import FieldkitError, UsageError
from fieldkit.store.port import StorePort

TOKENS_KEY = "api_tokens"
PREFIX = "fkt_"
TOKEN_BYTES = 32
NAME_MAX = 40
#: The longest ``Authorization`` value worth hashing (a token is 47 characters).
TOKEN_MAX = 100


@dataclass(frozen=True)
class TokenInfo:
    """A token as ``fieldkit token list`` shows it: never the token itself."""

    name: str
    created_at: int  # unix seconds


def token_name(text: str) -> str:
    """The token's name as given (the audit trail's coordinator), or :class:`UsageError`."""
    name = " ".join(text.split())
    if not name or len(name) > NAME_MAX or not name.isprintable():
        raise UsageError(f"a token's name is 1 to {NAME_MAX} printable characters")
    return name


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _parse(text: str | None) -> dict[str, dict[str, object]]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        raise FieldkitError(f"the hub's {TOKENS_KEY} metadata is damaged") from None
    return {str(k): dict(v) for k, v in data.items()} if isinstance(data, dict) else {}


async def _load(store: StorePort) -> dict[str, dict[str, object]]:
    return _parse(await store.meta(TOKENS_KEY))


async def _change(store: StorePort, change: Callable[[dict[str, dict[str, object]]], None]) -> None:
    """Apply ``change`` to the tokens in one write transaction: two commands at once (two
    ``fieldkit token create``, or one beside the console) never lose each other's token."""

    def changed(text: str | None) -> str:
        tokens = _parse(text)
        change(tokens)
        return json.dumps(tokens, sort_keys=True, ensure_ascii=False)

    await store.update_meta(TOKENS_KEY, changed)


def new_token(random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    return PREFIX + base64.urlsafe_b64encode(random_bytes(TOKEN_BYTES)).decode().rstrip("=")


async def create_token(
    store: StorePort,
    name: str,
    now: float,
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> str:
    """A new token called ``name`` (refused if one by that name exists); returns the token,
    which only this call ever sees."""
    name = token_name(name)
    token = new_token(random_bytes)

    def add(tokens: dict[str, dict[str, object]]) -> None:
        if name in tokens:
            raise UsageError(
                f"a token called {name!r} exists: revoke it first, or pick another name"
            )
        tokens[name] = {"sha256": _digest(token), "created_at": int(now)}

    await _change(store, add)
    return token


async def list_tokens(store: StorePort) -> list[TokenInfo]:
    tokens = await _load(store)
    return [TokenInfo(n, int(str(t.get("created_at", 0)))) for n, t in sorted(tokens.items())]


async def revoke_token(store: StorePort, name: str) -> bool:
    """Forget the token called ``name``; False if there was none."""
    gone: list[object] = []

    def drop(tokens: dict[str, dict[str, object]]) -> None:
        gone.append(tokens.pop(" ".join(name.split()), None))

    await _change(store, drop)
    return gone[0] is not None


async def token_owner(store: StorePort, token: str) -> str | None:
    """The name of the token ``token``, or None. Every stored digest is compared, each in
    constant time, so the answer's timing says nothing of which one (or how much) matched."""
    if not token.startswith(PREFIX) or len(token) > TOKEN_MAX:
        return None
    given = _digest(token)
    found = None
    for name, stored in (await _load(store)).items():
        if hmac.compare_digest(given, str(stored.get("sha256", ""))):
            found = name
    return found
