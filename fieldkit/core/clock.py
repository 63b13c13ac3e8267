"""Hybrid logical clock: 48-bit milliseconds plus a 16-bit counter in one 64-bit integer.

Pure: the caller passes the wall time in. A Pi without a real-time clock can boot far in the
past or the future, so a remote timestamp is only believed up to ``max_drift_ms`` ahead of our
own wall clock: a hub with a wild clock cannot drag every other hub's clock along with it.
"""

from __future__ import annotations

COUNTER_BITS = 16
COUNTER_MASK = (1 << COUNTER_BITS) - 1
MS_MASK = (1 << 48) - 1
DEFAULT_MAX_DRIFT_MS = 5 * 60 * 1000


def pack(ms: int, counter: int = 0) -> int:
    return (ms & MS_MASK) << COUNTER_BITS | (counter & COUNTER_MASK)


def physical_ms(hlc: int) -> int:
    return hlc >> COUNTER_BITS


class HybridClock:
    """Issues strictly increasing timestamps that respect causality across hubs."""

    def __init__(self, last: int = 0, max_drift_ms: int = DEFAULT_MAX_DRIFT_MS) -> None:
        self.last = last
        self.max_drift_ms = max_drift_ms

    def tick(self, wall_ms: int) -> int:
        """A timestamp for a local event, later than every one issued or observed before."""
        candidate = pack(wall_ms)
        self.last = candidate if candidate > self.last else self.last + 1
        return self.last

    def catch_up(self, own: int) -> None:
        """Our own origin's latest stamp, perhaps issued by another process writing the same
        database (the CLI beside ``fieldkit run``): never issue one at or below it."""
        self.last = max(self.last, own)

    def observe(self, remote: int, wall_ms: int) -> None:
        """Take a remote timestamp into account, believing it only up to the drift limit."""
        ceiling = pack(wall_ms + self.max_drift_ms)
        self.last = max(self.last, min(remote, ceiling))
