"""Hybrid logical clock: 48-bit milliseconds plus a 16-bit counter in one 64-bit integer.

Pure: the caller passes the wall time in. A Pi without a real-time clock can boot far in the
past or the future, so a remote timestamp is only believed up to ``max_drift_ms`` ahead of our
own wall clock: a hub with a wild clock cannot drag every other hub's clock along with it.
Which edit of a record wins does not rest on clocks alone: see the causal counter in
:mod:`fieldkit.core.fold`. :class:`ClockSkew` tells a hub how far its clock is from its
neighbours', for its status page and to correct its own stamps.
"""

from __future__ import annotations

from dataclasses import dataclass

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


# --- how far our clock is from our neighbours' ------------------------------------------

#: A neighbour whose clock is further from ours than this disagrees with it.
SKEW_TOLERANCE_MS = 2 * 60 * 1000
#: Samples older than this (by our own clock) are forgotten.
SKEW_MEMORY_MS = 60 * 60 * 1000
#: How many neighbours must agree before we correct our own stamps by their offset.
SKEW_QUORUM = 2


@dataclass(frozen=True)
class SkewSample:
    offset_ms: int  # their clock minus ours, as far as we can tell
    at_ms: int  # our wall clock when we learned it


class ClockSkew:
    """What our neighbours' clocks say about ours (pure: the caller passes times in).

    A sample from a source is how far its clock is *at least* ahead of our wall clock: the
    stamp of an op a neighbour made, minus our wall clock when it arrived (a neighbour pushes
    its own new ops at once; an old op only lowers the bound). Per source the highest bound
    of the last hour counts. A hub never sets the system clock: it adds :attr:`offset_ms` to
    its own stamps, the median of those bounds, once at least :data:`SKEW_QUORUM` sources
    and a majority of them say our clock is behind by more than :data:`SKEW_TOLERANCE_MS`
    (a Pi without a real-time clock boots in the past). One neighbour alone cannot move it
    (which of two clocks is wrong?), and bounds cannot prove our clock ahead: both are shown.
    """

    def __init__(self) -> None:
        self.samples: dict[str, SkewSample] = {}

    def observe(self, source: str, remote_ms: int, wall_ms: int) -> None:
        """``source``'s clock read at least ``remote_ms`` when ours read ``wall_ms``."""
        sample = SkewSample(remote_ms - wall_ms, wall_ms)
        old = self.samples.get(source)
        if old is None or wall_ms - old.at_ms > SKEW_MEMORY_MS or sample.offset_ms >= old.offset_ms:
            self.samples[source] = sample

    def _recent(self, wall_ms: int) -> dict[str, int]:
        return {
            source: s.offset_ms
            for source, s in self.samples.items()
            if wall_ms - s.at_ms <= SKEW_MEMORY_MS
        }

    def median_ms(self, wall_ms: int) -> int | None:
        """The median bound of the sources heard in the last hour (None: nobody heard)."""
        offsets = sorted(self._recent(wall_ms).values())
        if not offsets:
            return None
        mid = len(offsets) // 2
        return offsets[mid] if len(offsets) % 2 else (offsets[mid - 1] + offsets[mid]) // 2

    def disagrees(self, wall_ms: int) -> bool:
        median = self.median_ms(wall_ms)
        return median is not None and abs(median) > SKEW_TOLERANCE_MS

    def offset_ms(self, wall_ms: int) -> int:
        """What to add to our wall clock for our own stamps (0 unless a quorum agrees)."""
        recent = list(self._recent(wall_ms).values())
        median = self.median_ms(wall_ms)
        behind = [o for o in recent if o > SKEW_TOLERANCE_MS]
        if median is None or len(behind) < SKEW_QUORUM or 2 * len(behind) <= len(recent):
            return 0
        return max(median, 0)

    def view(self, wall_ms: int) -> dict[str, object]:
        """For the status page: the offset applied, whether neighbours disagree, and theirs."""
        return {
            "offset_ms": self.offset_ms(wall_ms),
            "disagrees": self.disagrees(wall_ms),
            "neighbour_offset_ms": self.median_ms(wall_ms),
            "sources": dict(sorted(self._recent(wall_ms).items())),
        }
