"""Console sessions (pure): signed cookies with expiry, CSRF tokens, and the growing delay
after wrong passphrases. The clock and the key are passed in.

A session cookie is ``payload.tag``: the payload (coordinator's name, expiry, session id) in
base64url JSON, the tag an HMAC-SHA256 of it under the hub's session key. A form's CSRF token
is an HMAC of the session id, so it is worth nothing without the cookie, and the cookie
nothing without it. Before sign-in, a random ``pre`` cookie plays the session id's part.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass

COOKIE = "fk_console"
PRE_COOKIE = "fk_console_pre"
SESSION_S = 8 * 3600  # a shift
NAME_MAX = 40
#: After the n-th wrong passphrase from one address, wait 2**(n-1) s (at most this long).
MAX_DELAY_S = 300.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _tag(key: bytes, purpose: str, data: str) -> str:
    return _b64(hmac.new(key, f"{purpose}|{data}".encode(), hashlib.sha256).digest())


@dataclass(frozen=True)
class Session:
    name: str  # the name the coordinator goes by: the audit trail records it
    expires: int  # unix seconds
    sid: str


def clean_name(text: str) -> str | None:
    """The coordinator's name as typed, or None if it is empty, too long or not plain text."""
    name = " ".join(text.split())
    if not name or len(name) > NAME_MAX or not name.isprintable():
        return None
    return name


def new_session(name: str, now: float, lifetime: int = SESSION_S) -> Session:
    return Session(name, int(now) + lifetime, secrets.token_urlsafe(16))


def seal(key: bytes, session: Session) -> str:
    payload = _b64(json.dumps({"n": session.name, "e": session.expires, "s": session.sid}).encode())
    return f"{payload}.{_tag(key, 'session', payload)}"


def unseal(key: bytes, cookie: str, now: float) -> Session | None:
    """The session a cookie carries, or None if it is forged, malformed or expired."""
    payload, _, tag = cookie.partition(".")
    if not tag or not hmac.compare_digest(tag, _tag(key, "session", payload)):
        return None
    try:
        data = json.loads(_unb64(payload))
        session = Session(str(data["n"]), int(data["e"]), str(data["s"]))
    except (ValueError, KeyError, TypeError):
        return None
    return session if now < session.expires else None


def csrf_token(key: bytes, sid: str) -> str:
    return _tag(key, "csrf", sid)


def csrf_ok(key: bytes, sid: str, token: str) -> bool:
    return bool(sid) and hmac.compare_digest(token, csrf_token(key, sid))


class SignInThrottle:
    """Wrong passphrases from one address make it wait longer each time: 1 s, 2 s, 4 s, …"""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._failures: dict[str, tuple[int, float]] = {}

    def wait(self, address: str) -> float:
        """Seconds before ``address`` may try again (0: now)."""
        failures, last = self._failures.get(address, (0, 0.0))
        if not failures:
            return 0.0
        delay = min(2.0 ** (failures - 1), MAX_DELAY_S)
        return max(last + delay - self.clock(), 0.0)

    def failed(self, address: str) -> None:
        failures, _ = self._failures.get(address, (0, 0.0))
        self._failures[address] = (failures + 1, self.clock())
        if len(self._failures) > 10_000:  # a flood of addresses: forget the oldest
            oldest = min(self._failures, key=lambda a: self._failures[a][1])
            del self._failures[oldest]

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)


class Revoked:
    """Sessions signed out before they expired (until they would have)."""

    def __init__(self) -> None:
        self._until: dict[str, int] = {}

    def add(self, session: Session) -> None:
        self._until[session.sid] = session.expires

    def __contains__(self, session: Session) -> bool:
        return session.sid in self._until

    def forget_expired(self, now: float) -> None:
        for sid in [s for s, until in self._until.items() if until <= now]:
            del self._until[sid]
