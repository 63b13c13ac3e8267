"""Absolute time from a clock we trust more than our own: the radio's (its GPS), or the cloud's.

The cloud's time is the ``Date`` header of its answers (:func:`http_date_ms`), read only over
the HTTPS link whose certificate the hub pinned when it joined (:mod:`fieldkit.app.cloud`), so
no one on the way can set it; never from another hub's plain HTTP. Whole seconds, and the
answer's round trip: far inside :data:`~fieldkit.core.clock.SKEW_TOLERANCE_MS`.

Neighbours' op stamps only bound their clocks from below (:class:`fieldkit.core.clock.ClockSkew`),
so they can prove our clock behind but never ahead. A radio with a GPS fix stamps every packet
it receives with its own time (``rxTime``): that is the time, not a bound, so it corrects our
stamps either way — a Pi that booted a month in the past, or one a year ahead. As with the
neighbours, the hub never sets the system clock: it keeps an offset for its own stamps.

Pure: the caller passes times in (ms since the epoch).
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass

from fieldkit.core.clock import SKEW_MEMORY_MS, SKEW_TOLERANCE_MS

#: A time before this is a clock that was never set (a radio without GPS counts from 1970).
EARLIEST_MS = 1_672_531_200_000  # 2023-01-01T00:00:00Z


@dataclass
class TimeFix:
    """The latest reading of a trusted clock: ``offset_ms`` from our wall clock, and when."""

    source: str = ""
    offset_ms: int = 0
    at_ms: int | None = None

    def observe(self, source: str, remote_ms: int, wall_ms: int) -> bool:
        """``source``'s clock read ``remote_ms`` when ours read ``wall_ms``; False if it is no
        reading at all (a clock never set)."""
        if remote_ms < EARLIEST_MS:
            return False
        self.source, self.offset_ms, self.at_ms = source, remote_ms - wall_ms, wall_ms
        return True

    def fresh(self, wall_ms: int) -> bool:
        return self.at_ms is not None and abs(wall_ms - self.at_ms) <= SKEW_MEMORY_MS

    def correction_ms(self, wall_ms: int) -> int | None:
        """What to add to our wall clock for our stamps: None without a reading in the last
        hour, 0 while the two agree to within the tolerance (no jitter of a second either
        way), else the whole offset."""
        if not self.fresh(wall_ms):
            return None
        return self.offset_ms if abs(self.offset_ms) > SKEW_TOLERANCE_MS else 0

    def view(self, wall_ms: int) -> dict[str, object]:
        correction = self.correction_ms(wall_ms)
        return {
            "source": self.source if correction is not None else None,
            "offset_ms": self.offset_ms if correction is not None else None,
            "disagrees": bool(correction),
        }


def http_date_ms(text: str | None) -> int | None:
    """An HTTP ``Date`` header (``Wed, 02 Dec 2026 23:30:00 GMT``) in ms since the epoch, at
    the middle of its second; None if there is none or it is not a date."""
    if not text:
        return None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": a time without a zone is not one we can trust
        return None
    return int(when.timestamp() * 1000) + 500
