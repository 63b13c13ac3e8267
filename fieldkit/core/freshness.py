"""What is current (pure core): notices on the board, and needs that may be stale.

- A notice is on residents' boards while it is open (a withdrawn notice is ``cancelled``) and
  its ``expires`` time, if it has one, has not come.
- A need is flagged "still needed?" for a coordinator (never hidden) once it has been open
  longer than a configurable age since the last sign of life: its creation, or the latest
  time its resident said "still needed" with their code.
"""

from __future__ import annotations

from fieldkit.core.fields import Kind, Status
from fieldkit.core.fold import Record

#: The default age after which an open need is flagged "still needed?".
STILL_NEEDED_AFTER_MS = 72 * 3_600_000


def on_board(notice: Record, now_ms: int) -> bool:
    """True while a notice belongs on residents' boards."""
    return (
        notice.kind is Kind.NOTICE
        and notice.status is Status.OPEN
        and (notice.expires is None or notice.expires > now_ms)
    )


def last_sign_of_life(record: Record) -> int:
    return max(record.created_at, record.confirmed)


def still_needed(record: Record, now_ms: int, after_ms: int = STILL_NEEDED_AFTER_MS) -> bool:
    """True when a coordinator should ask whether this open need is still needed."""
    return (
        record.kind is Kind.NEED
        and record.status is Status.OPEN
        and now_ms - last_sign_of_life(record) > after_ms
    )
