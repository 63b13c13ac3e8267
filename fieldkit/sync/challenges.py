"""Challenges: what makes an HTTP sync request fresh, whatever the clocks say.

A client asks ``GET /sync/v1/challenge`` for one before each request and seals its request
under it (:mod:`fieldkit.sync.http`); the server takes each challenge once. A request
captured on open Wi-Fi and replayed later names a challenge already taken (or long expired),
so it is refused before its body is read: it gets nothing, readable or not, and changes
nothing. Challenges expire after ``ttl`` seconds of the server's monotonic clock (never the
wall clock, often wrong on a Pi without a real-time clock), and at most ``cap`` are
outstanding (the oldest give way): an outsider asking for many costs the hub bounded memory.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

BYTES = 16
TTL_S = 120.0
CAP = 1024


class Challenges:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
        ttl: float = TTL_S,
        cap: int = CAP,
    ) -> None:
        self._clock = clock
        self._random_bytes = random_bytes
        self._ttl = ttl
        self._cap = cap
        self._issued: OrderedDict[bytes, float] = OrderedDict()  # challenge -> when issued

    def issue(self) -> bytes:
        challenge = self._random_bytes(BYTES)
        self._issued[challenge] = self._clock()
        while len(self._issued) > self._cap:
            self._issued.popitem(last=False)
        return challenge

    def take(self, challenge: bytes) -> bool:
        """Whether ``challenge`` was issued here, not yet taken and not expired; taken now."""
        issued = self._issued.pop(challenge, None)
        return issued is not None and self._clock() - issued <= self._ttl

    def __len__(self) -> int:
        return len(self._issued)
