"""The network key: every hub of one network shares it; frames and bundles carry its MAC.

32 random bytes, made by ``fieldkit init`` (or given to it with ``--network-key`` to join an
existing network) and kept in the hub's database. Shown as base64url text; treat it as a
secret — whoever has it can speak for the network.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable

from fieldkit.errors import ConfigError, StoreError
from fieldkit.store.port import StorePort

KEY_BYTES = 32
META_KEY = "network_key"
#: Keys are shown as ``fk1.`` + base64url: recognisable, versioned, and never starting with a
#: dash that a command line would take for an option.
PREFIX = "fk1."


def format_key(key: bytes) -> str:
    return PREFIX + base64.urlsafe_b64encode(key).decode().rstrip("=")


def parse_key(text: str, source: str = "--network-key") -> bytes:
    cleaned = "".join(text.split()).removeprefix(PREFIX)
    try:
        key = base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise ConfigError(source, f"not a network key (expected {KEY_BYTES} bytes in base64url)")
    return key


async def network_key(store: StorePort) -> bytes:
    text = await store.meta(META_KEY)
    if text is None:
        raise StoreError(f"{store.location} has no network key: run `fieldkit init`")
    return parse_key(text, "database network key")


async def ensure_network_key(
    store: StorePort,
    given: bytes | None = None,
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> bytes:
    """The hub's key: ``given`` replaces it (joining a network); otherwise kept or created."""
    if given is None:
        existing = await store.meta(META_KEY)
        if existing is not None:
            return parse_key(existing, "database network key")
        given = random_bytes(KEY_BYTES)
    await store.set_meta(META_KEY, format_key(given))
    return given


# --- rotating the key (a hub was stolen, a join code leaked) ------------------------------

#: The key before the last rotation, still accepted from hubs that have not rotated yet.
PREVIOUS_META_KEY = "network_key_previous"
#: Until when (ms since the epoch, this hub's wall clock) the previous key is accepted.
PREVIOUS_UNTIL_META_KEY = "network_key_previous_until"
GRACE_DAYS = 7


async def rotate_network_key(
    store: StorePort,
    now_ms: int,
    new: bytes | None = None,
    *,
    grace_days: float = GRACE_DAYS,
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> bytes:
    """Move this hub to ``new`` (a fresh random key if None: the first hub to rotate), keeping
    the current key as the previous one, accepted for ``grace_days`` more. Rotating again to
    the key already current changes nothing (the same command run twice)."""
    current = await network_key(store)
    new = new if new is not None else random_bytes(KEY_BYTES)
    if new == current:
        return current
    await store.set_meta(PREVIOUS_META_KEY, format_key(current))
    await store.set_meta(PREVIOUS_UNTIL_META_KEY, str(int(now_ms + grace_days * 86_400_000)))
    await store.set_meta(META_KEY, format_key(new))
    return new


async def previous_keys(store: StorePort, now_ms: int) -> tuple[tuple[bytes, ...], int | None]:
    """The keys still accepted beside the current one, and until when (ms; None: none)."""
    text, until = await store.meta(PREVIOUS_META_KEY), await store.meta(PREVIOUS_UNTIL_META_KEY)
    if text is None or until is None or int(until) <= now_ms:
        return (), None
    return (parse_key(text, "database previous network key"),), int(until)


async def end_grace(store: StorePort) -> None:
    """Accept the previous key no longer (every hub has the new one)."""
    await store.set_meta(PREVIOUS_UNTIL_META_KEY, "0")
