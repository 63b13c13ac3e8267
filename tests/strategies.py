"""Hypothesis strategies for ops: several hubs writing to a handful of shared records."""

from __future__ import annotations

from hypothesis import strategies as st

from fieldkit.core.ops import (
    Body,
    Confirm,
    Create,
    Link,
    Match,
    Merge,
    Op,
    RecordId,
    Redact,
    SetStatus,
    Update,
)
from fieldkit.core.records import Category, Kind, QuantityUnit, Status, Urgency

HUBS = (0x0A0A0A0A, 0x0B0B0B0B, 0x0C0C0C0C)
RECORDS = tuple(RecordId(HUBS[i % 3], i + 1) for i in range(4))

texts = st.text(alphabet="abcé漢ا 0", max_size=8)

field_values = st.fixed_dictionaries(
    {},
    optional={
        "category": st.sampled_from([c.value for c in Category]),
        "urgency": st.sampled_from([u.value for u in Urgency]),
        "quantity": st.one_of(st.none(), st.integers(1, 50)),
        "area": texts,
        "note": texts,
        "share_contact": st.booleans(),
        "contact_name": texts,
        "contact_phone": st.sampled_from(["", "555 0100", "+509 3456"]),
        "expires": st.one_of(st.none(), st.integers(1, 10_000)),
        "local_note": texts,
    },
)


def _full(fields: dict[str, object]) -> dict[str, object]:
    base: dict[str, object] = {"category": "water", "urgency": "today", "area": "north"}
    return base | fields


bodies: st.SearchStrategy[Body] = st.one_of(
    st.builds(
        lambda r, k, t, f, ref, s: Create(r, k, t, _full(f), ref, s),  # type: ignore[arg-type]
        st.sampled_from(RECORDS),
        st.sampled_from(list(Kind)),
        st.integers(0, 10_000),
        field_values,
        st.sampled_from(["", "7KQ-4XD", "AAA-000"]),
        st.sampled_from(list(Status)),
    ),
    st.builds(Update, st.sampled_from(RECORDS), field_values),
    st.builds(
        SetStatus,
        st.sampled_from(RECORDS),
        st.sampled_from(list(Status)),
        st.integers(0, 3),
        texts,
    ),
    st.builds(
        Match,
        st.sampled_from(RECORDS[:2]),
        st.sampled_from(RECORDS[2:]),
        st.integers(0, 3),
        st.integers(0, 3),
        texts,
    ),
    st.builds(
        lambda n, o, ne, oe, m, q: Match(n, o, ne, oe, m, q, QuantityUnit.UNITS if q else None),
        st.sampled_from(RECORDS[:2]),
        st.sampled_from(RECORDS[2:]),
        st.integers(0, 3),
        st.integers(0, 3),
        texts,
        st.one_of(st.none(), st.integers(1, 30)),
    ),
    st.builds(Redact, st.sampled_from(RECORDS)),
    st.builds(Merge, st.sampled_from(RECORDS[:2]), st.sampled_from(RECORDS[2:]), st.integers(0, 3)),
    st.builds(Link, st.sampled_from(RECORDS[:2]), st.sampled_from(RECORDS[2:])),
    st.builds(Confirm, st.sampled_from(RECORDS), st.booleans(), st.integers(0, 3)),
)


@st.composite
def op_logs(draw: st.DrawFn, max_ops: int = 30) -> list[Op]:
    """Ops with unique ids (origin, seq) and per-origin increasing clocks, as real logs have."""
    planned = draw(st.lists(st.tuples(st.sampled_from(HUBS), bodies), max_size=max_ops))
    seqs = dict.fromkeys(HUBS, 0)
    clocks = {hub: draw(st.integers(0, 50)) for hub in HUBS}
    ops = []
    for origin, body in planned:
        seqs[origin] += 1
        clocks[origin] += draw(st.integers(1, 5))
        causal = draw(st.sampled_from((0, 0, 0, 1, 2)))  # mostly none: clocks behave
        actor = "" if isinstance(body, Redact) else draw(st.sampled_from(("", "", "Ana", "Jo")))
        ops.append(Op(origin, seqs[origin], clocks[origin], body, causal, actor))
    return ops
