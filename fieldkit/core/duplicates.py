"""Likely duplicates (pure core): needs a coordinator may want to merge.

The rules (each a named test in ``tests/core/test_duplicates.py``):

1. **Only needs, and only live ones.** Two needs are compared only if both are open or
   matched, neither is redacted, and neither is already merged into another record.
2. **Same category and same area**, always: a need for water and one for food are two needs.
3. **And the same person or the same words**: the same phone number (digits only, so
   ``555-0100`` is ``(555) 0100``), or the same name (case and spacing aside), or notes that
   are near-identical (case, punctuation and spacing aside, at least :data:`SIMILAR` alike,
   and long enough to say something: :data:`MIN_NOTE` characters).

A flag is a suggestion, never an action: only a coordinator merges, and a merge keeps both
records and both histories.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from enum import StrEnum

from fieldkit.core.fields import Kind, Status
from fieldkit.core.fold import Record
from fieldkit.core.ops import RecordId

SIMILAR = 0.85
MIN_NOTE = 12
#: Past this many needs of one category and area, notes are compared only when identical
#: (after normalising), so a large queue stays fast.
PAIRWISE_LIMIT = 300
LIVE = frozenset({Status.OPEN, Status.MATCHED})


class Why(StrEnum):
    SAME_PHONE = "same_phone"
    SAME_NAME = "same_name"
    SIMILAR_NOTE = "similar_note"


@dataclass(frozen=True)
class LikelyDuplicate:
    """Two needs that look like one request; ``first`` is the older (the one to keep)."""

    first: RecordId
    second: RecordId
    why: tuple[Why, ...]


def normal_note(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    words = re.sub(r"[\W_]+", " ", folded)
    return " ".join(words.split())


def _phone(text: str) -> str:
    digits = "".join(ch for ch in text if ch.isdigit())
    return digits if len(digits) >= 5 else ""


def _name(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _note(record: Record) -> str:
    return normal_note(" ".join(t for t in (record.note, record.local_note) if t))


def _live(record: Record) -> bool:
    return (
        record.kind is Kind.NEED
        and record.status in LIVE
        and not record.redacted
        and not record.merged_into
    )


def why_alike(a: Record, b: Record, *, compare_notes: bool = True) -> tuple[Why, ...]:
    """Why ``a`` and ``b`` look like one request (empty: they don't)."""
    if not (_live(a) and _live(b)) or a.id == b.id:
        return ()
    if a.category != b.category or a.area.casefold() != b.area.casefold():
        return ()
    out: list[Why] = []
    phone = _phone(a.contact.phone)
    if phone and phone == _phone(b.contact.phone):
        out.append(Why.SAME_PHONE)
    name = _name(a.contact.name)
    if name and name == _name(b.contact.name):
        out.append(Why.SAME_NAME)
    na, nb = _note(a), _note(b)
    long_enough = len(na) >= MIN_NOTE and len(nb) >= MIN_NOTE
    if long_enough and (
        na == nb or (compare_notes and SequenceMatcher(None, na, nb).ratio() >= SIMILAR)
    ):
        out.append(Why.SIMILAR_NOTE)
    return tuple(out)


def likely_duplicates(records: Iterable[Record]) -> list[LikelyDuplicate]:
    """Every pair of live needs that look like one request, oldest pair first."""
    groups: dict[tuple[str, str], list[Record]] = {}
    for record in records:
        if _live(record):
            groups.setdefault((record.category.value, record.area.casefold()), []).append(record)
    found: list[LikelyDuplicate] = []
    for group in groups.values():
        group.sort(key=lambda r: (r.created_at, r.id))
        pairwise = len(group) <= PAIRWISE_LIMIT
        candidates = _candidates(group) if not pairwise else None
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if candidates is not None and (a.id, b.id) not in candidates:
                    continue
                why = why_alike(a, b, compare_notes=pairwise)
                if why:
                    found.append(LikelyDuplicate(a.id, b.id, why))
    found.sort(key=lambda d: (d.first, d.second))
    return found


def _candidates(group: list[Record]) -> set[tuple[RecordId, RecordId]]:
    """In a large group, the pairs sharing a phone, a name or a whole normalised note."""
    index: dict[tuple[str, str], list[Record]] = {}
    for record in group:
        note = _note(record)
        keys: list[tuple[str, str]] = [
            ("phone", _phone(record.contact.phone)),
            ("name", _name(record.contact.name)),
            ("note", note if len(note) >= MIN_NOTE else ""),
        ]
        for key in keys:
            if key[1]:
                index.setdefault(key, []).append(record)
    pairs: set[tuple[RecordId, RecordId]] = set()
    for same in index.values():
        for i, a in enumerate(same):
            for b in same[i + 1 :]:
                pairs.add((a.id, b.id))
    return pairs


def duplicates_of(record: Record, others: Iterable[Record]) -> list[LikelyDuplicate]:
    """The likely duplicates of one record among ``others`` (the record detail page)."""
    out = []
    for other in others:
        why = why_alike(record, other)
        if why:
            first, second = sorted((record, other), key=lambda r: (r.created_at, r.id))
            out.append(LikelyDuplicate(first.id, second.id, why))
    return out
