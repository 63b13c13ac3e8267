"""A stricter, growing limit on failed code lookups: per client and across the hub.

A reference code is the key to a request (its coordinators' message, cancelling it), so
guessing codes must be slow. Only a lookup that *fails* (a well-formed code no record has)
counts; a typo caught by the check symbol tells nothing and costs nothing.

- **Per client:** the first :attr:`free` failures are free; after that each failure doubles
  the wait before the next lookup (2 s, 4 s, 8 s … up to :attr:`max_wait` s). One failure is
  forgiven every :attr:`forgive_after` s.
- **Across the hub:** failures refill at :attr:`hub_per_second`, up to :attr:`hub_burst`. When
  they run out, only clients that have failed recently must wait: a resident whose lookups
  have all matched is never locked out by someone else's guessing.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Client:
    failures: float
    at: float
    blocked_until: float = 0.0


class FailedLookups:
    def __init__(
        self,
        *,
        free: int = 5,
        first_wait: float = 2.0,
        max_wait: float = 900.0,
        forgive_after: float = 600.0,
        hub_burst: int = 60,
        hub_per_second: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.free = free
        self.first_wait = first_wait
        self.max_wait = max_wait
        self.forgive_after = forgive_after
        self.hub_burst = hub_burst
        self.hub_per_second = hub_per_second
        self._clock = clock
        self._max_clients = max_clients
        self._clients: OrderedDict[str, _Client] = OrderedDict()
        self._hub_tokens = float(hub_burst)
        self._hub_at = clock()

    def _client(self, key: str, now: float) -> _Client | None:
        client = self._clients.get(key)
        if client is not None:
            forgiven = (now - client.at) / self.forgive_after
            client.failures = max(0.0, client.failures - forgiven)
            client.at = now
        return client

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._hub_at)
        self._hub_tokens = min(
            float(self.hub_burst), self._hub_tokens + elapsed * self.hub_per_second
        )
        self._hub_at = now

    def wait(self, key: str) -> int:
        """Whole seconds ``key`` must wait before its next lookup; 0 when it may look up now."""
        now = self._clock()
        client = self._client(key, now)
        if client is None:
            return 0
        own = max(0.0, client.blocked_until - now)
        self._refill(now)
        hub = 0.0
        if client.failures >= 1 and self._hub_tokens < 1:
            hub = (1 - self._hub_tokens) / self.hub_per_second
        seconds = max(own, hub)
        return int(seconds + 0.999) if seconds > 0 else 0

    def failed(self, key: str) -> None:
        """A lookup by ``key`` found nothing."""
        now = self._clock()
        client = self._client(key, now)
        if client is None:
            client = self._clients[key] = _Client(0.0, now)
            while len(self._clients) > self._max_clients:
                self._clients.popitem(last=False)
        self._clients.move_to_end(key)
        client.failures += 1
        beyond = client.failures - self.free
        if beyond > 0:
            wait = min(self.max_wait, self.first_wait * 2 ** (beyond - 1))
            client.blocked_until = now + wait
        self._refill(now)
        self._hub_tokens = max(0.0, self._hub_tokens - 1)
