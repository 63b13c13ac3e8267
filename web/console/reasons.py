"""A suggestion's reason in words ("same area · covers 4 of 4 people · offered 2 h ago"),
in the coordinator's language (pure: the gettext functions are passed in)."""

from __future__ import annotations

from collections.abc import Callable

from fieldkit.core.fields import Kind, QuantityUnit, Status
from fieldkit.core.matching import Coverage, Nearness, Reason
from fieldkit.web.render import N_

NEARNESS: dict[Nearness, str] = {
    Nearness.SAME_AREA: N_("same area"),
    Nearness.ADJACENT_AREA: N_("adjacent area"),
    Nearness.ELSEWHERE: N_("another area"),
}
UNITS: dict[QuantityUnit, str] = {
    QuantityUnit.PEOPLE: N_("people"),
    QuantityUnit.UNITS: N_("units"),
}
#: The words the console uses for a record's kind and status (``_(kind.value)`` finds them).
KIND_WORDS: dict[Kind, str] = {
    Kind.NEED: N_("need"),
    Kind.OFFER: N_("offer"),
    Kind.NOTICE: N_("notice"),
}
STATUS_WORDS: dict[Status, str] = {
    Status.OPEN: N_("open"),
    Status.MATCHED: N_("matched"),
    Status.CANCELLED: N_("cancelled"),
    Status.FULFILLED: N_("fulfilled"),
}
MINUTE_MS, HOUR_MS, DAY_MS = 60_000, 3_600_000, 86_400_000


def age_text(age_ms: int, gettext: Callable[[str], str]) -> str:
    """A duration as a coordinator reads it: "5 min", "2 h", "3 d"."""
    if age_ms < HOUR_MS:
        return gettext("%(n)s min") % {"n": max(age_ms // MINUTE_MS, 0)}
    if age_ms < 2 * DAY_MS:
        return gettext("%(n)s h") % {"n": age_ms // HOUR_MS}
    return gettext("%(n)s d") % {"n": age_ms // DAY_MS}


def reason_text(reason: Reason, gettext: Callable[[str], str], *, offered: bool = True) -> str:
    """``offered``: the suggestion is an offer (for a need); else a need (for an offer)."""
    parts = [gettext(NEARNESS[reason.nearness])]
    if reason.coverage is Coverage.UNKNOWN:
        parts.append(gettext("quantity to check"))
    else:
        unit = gettext(UNITS[reason.unit]) if reason.unit else ""
        parts.append(
            gettext("covers %(covers)s of %(wanted)s %(unit)s")
            % {"covers": reason.covers, "wanted": reason.wanted, "unit": unit}
        )
    age = age_text(reason.age_ms, gettext)
    parts.append(
        (gettext("offered %(age)s ago") if offered else gettext("asked %(age)s ago")) % {"age": age}
    )
    return " · ".join(parts)
