"""The hub's console passphrase: one per hub, kept as a scrypt hash in the hub's metadata.

The passphrase itself is never stored, logged or sent anywhere; :func:`set_passphrase` also
makes a new session key, so setting a new passphrase signs every coordinator out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from fieldkit.errors import UsageError
from fieldkit.store.port import StorePort

PASSPHRASE_KEY = "console_passphrase"
SESSION_KEY = "console_session_key"
MIN_LENGTH = 10
MAX_LENGTH = 200
#: scrypt cost (RFC 7914): 2**15 × 8 × 128 B = 32 MiB, about 0.1 s on a Raspberry Pi 4.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_MAXMEM = 64 * 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_passphrase(passphrase: str) -> str:
    """The passphrase, or :class:`UsageError` saying why it will not do."""
    if len(passphrase) < MIN_LENGTH:
        raise UsageError(f"a passphrase needs at least {MIN_LENGTH} characters")
    if len(passphrase) > MAX_LENGTH:
        raise UsageError(f"a passphrase has at most {MAX_LENGTH} characters")
    return passphrase


def _scrypt(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32
    )


def hash_passphrase(passphrase: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64url): what the hub's metadata keeps."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = _scrypt(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_passphrase(passphrase: str, stored: str) -> bool:
    """True if ``passphrase`` hashes to ``stored`` (compared in constant time)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        given = _scrypt(passphrase[:MAX_LENGTH], _unb64(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(given, _unb64(digest))


async def set_passphrase(store: StorePort, passphrase: str) -> None:
    """Store the passphrase's hash and a new session key (every session ends)."""
    await store.set_meta(PASSPHRASE_KEY, hash_passphrase(check_passphrase(passphrase)))
    await store.set_meta(SESSION_KEY, _b64(secrets.token_bytes(32)))


async def session_key(store: StorePort) -> bytes:
    """The key console session cookies are signed with (made on first use)."""
    text = await store.meta(SESSION_KEY)
    if text is None:
        text = _b64(secrets.token_bytes(32))
        await store.set_meta(SESSION_KEY, text)
    return _unb64(text)
