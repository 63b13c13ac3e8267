"""What a record's folded state puts in the columns and counters every adapter keeps."""

from __future__ import annotations

from typing import Any

from fieldkit.core.fold import RecordState
from fieldkit.core.ops import URGENCY_RANK


def urgency_rank(urgency: Any) -> int | None:
    """The ``urgency_rank`` column: most urgent is 0; None for a record without one yet."""
    return URGENCY_RANK.get(urgency) if isinstance(urgency, str) else None


def counted_as(state: RecordState) -> tuple[str, str, str, str] | None:
    """The (kind, status, category, area) counter a record adds to: complete records only."""
    if state.kind is None or not state.status:
        return None
    category, area = state.value("category"), state.value("area")
    return (
        str(state.kind.value), state.status[0].status.value,
        "" if category is None else str(category), "" if area is None else str(area),
    )  # fmt: skip


def search_text(state: RecordState) -> str:
    """The ``search`` column the console's text filter reads: the note and the reference
    codes, case-folded."""
    note = state.value("note")
    return " ".join([str(note or ""), *sorted(state.refs)]).casefold()
