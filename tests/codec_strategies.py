"""Hypothesis strategies for the wire codec: every valid op and message, edge values included."""

from __future__ import annotations

from hypothesis import strategies as st

from fieldkit.core.ops import (
    MESSAGE_MAX,
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
from fieldkit.core.records import (
    AREA_MAX,
    LANGUAGE_MAX,
    LOCATION_MAX,
    NAME_MAX,
    NOTE_MAX,
    PHONE_MAX,
    QUANTITY_MAX,
    Category,
    Kind,
    QuantityUnit,
    Status,
    Urgency,
)
from fieldkit.core.refcode import format_code
from fieldkit.wire.messages import Envelope, Message, Ops, Summary, Want

U32 = (1 << 32) - 1
U64 = (1 << 64) - 1
SAMPLE_HUBS = (1, 0x0A0A0A0A, 0x3FA9C2D1, U32)


def _int(lo: int, hi: int, *likely: int) -> st.SearchStrategy[int]:
    """Integers in lo..hi, often at the edges and the ``likely`` values."""
    return st.one_of(st.sampled_from([lo, hi, *likely]), st.integers(lo, hi))


hubs = st.one_of(st.sampled_from(SAMPLE_HUBS), st.integers(1, U32))
seqs = _int(1, U64, 2, 3, 1000)
record_ids = st.builds(
    RecordId,
    st.one_of(st.sampled_from((0, *SAMPLE_HUBS)), st.integers(0, U32)),
    _int(1, 10**12 - 1, 2, 7),
)
hlcs = st.one_of(
    _int(0, U64),
    st.builds(
        lambda ms, counter: ms << 16 | counter,
        _int(1_763_000_000_000, 1_763_500_000_000),
        _int(0, 0xFFFF, 1),
    ),
)


def texts(limit: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just(""),
        st.text(max_size=limit),
        st.text(alphabet="abc ñé漢ا\u200d\x00\n", max_size=limit),
        st.sampled_from(
            ["riverside", "Familia de 6, sin agua potable", "家里五口人，没有饮用水了。"]
        ),
    ).filter(lambda t: len(t) <= limit)


phones = st.one_of(
    texts(PHONE_MAX),
    st.text(alphabet="0123456789 ()./-", max_size=PHONE_MAX - 1).map(lambda t: "+" + t),
    st.text(alphabet="0123456789 ()./-", max_size=PHONE_MAX),
)
refs = st.one_of(
    st.just(""), st.integers(0, (1 << 30) - 1).map(format_code), texts(16), st.just("7kq-4xd")
)

field_values = st.fixed_dictionaries(
    {},
    optional={
        "category": st.sampled_from([c.value for c in Category]),
        "urgency": st.sampled_from([u.value for u in Urgency]),
        "quantity": st.one_of(st.none(), _int(1, QUANTITY_MAX, 4)),
        "quantity_unit": st.sampled_from([None, *(u.value for u in QuantityUnit)]),
        "area": texts(AREA_MAX),
        "note": texts(NOTE_MAX),
        "language": st.one_of(
            st.sampled_from(["en", "es", "ht", "vi", "zh", "ar", "fr", ""]), texts(LANGUAGE_MAX)
        ),
        "share_contact": st.booleans(),
        "contact_name": texts(NAME_MAX),
        "contact_phone": phones,
        "contact_location": texts(LOCATION_MAX),
        "expires": st.one_of(st.none(), _int(1, (1 << 48) - 1, 1_763_500_000_000)),
    },
)
units = st.sampled_from(list(QuantityUnit))
quantities = st.one_of(st.tuples(st.none(), st.none()), st.tuples(_int(1, QUANTITY_MAX, 4), units))
epochs = _int(0, 0xFFFF, 1)
messages_ = texts(MESSAGE_MAX)


@st.composite
def ops(draw: st.DrawFn) -> Op:
    origin, seq = draw(hubs), draw(seqs)
    own = RecordId(origin, seq) if seq < 10**12 else None
    record = draw(st.one_of(record_ids, st.just(own))) if own else draw(record_ids)
    body: Body = draw(
        st.one_of(
            st.builds(
                Create,
                st.just(record),
                st.sampled_from(list(Kind)),
                _int(0, (1 << 48) - 1, 1_763_400_000_000),
                field_values,
                refs,
                st.sampled_from(list(Status)),
                messages_,
            ),
            st.builds(Update, st.just(record), field_values),
            st.builds(SetStatus, st.just(record), st.sampled_from(list(Status)), epochs, messages_),
            st.builds(Match, record_ids, record_ids, epochs, epochs, messages_),
            st.builds(
                lambda n, o, ne, oe, m, q: Match(n, o, ne, oe, m, *q),
                record_ids,
                record_ids,
                epochs,
                epochs,
                messages_,
                quantities,
            ),
            st.builds(Redact, st.just(record)),
            st.builds(Merge, st.just(record), record_ids, epochs).filter(
                lambda b: b.record != b.duplicate
            ),
            st.builds(Link, st.just(record), record_ids).filter(lambda b: b.need != b.offer),
            st.builds(Confirm, st.just(record), st.booleans(), epochs),
        )
    )
    causal = draw(st.one_of(st.just(0), _int(1, 0xFFFF_FFFF, 1, 2)))
    actor = "" if isinstance(body, Redact) else draw(st.one_of(st.just(""), texts(NAME_MAX)))
    return Op(origin, seq, draw(hlcs), body, causal, actor)


summaries = st.builds(
    Summary,
    st.dictionaries(st.integers(0, U32), _int(0, U64, 1), max_size=12),
    # hub 0 is no origin: its extras carry ``reads``, the highest wire version the sender reads
    st.dictionaries(st.integers(1, U32), st.lists(seqs, max_size=6).map(tuple), max_size=4),
    st.integers(1, 5),
)


def _range(pair: tuple[int, int]) -> tuple[int, int]:
    return (min(pair), max(pair))


wants = st.builds(
    Want,
    st.integers(1, U32),
    st.dictionaries(
        st.integers(0, U32),
        st.lists(st.tuples(seqs, seqs).map(_range), max_size=6).map(tuple),
        max_size=8,
    ),
)
messages: st.SearchStrategy[Message] = st.one_of(
    summaries,
    wants,
    st.builds(lambda o, s: Ops(tuple(o), s), st.lists(ops(), max_size=8), st.none() | summaries),
)
envelopes = st.builds(Envelope, st.integers(0, U32), _int(0, U64, 1), messages)


@st.composite
def realistic_ops(draw: st.DrawFn, max_ops: int = 40) -> list[Op]:
    """Creates and status changes as hubs log them: few origins, seqs and clocks increasing."""
    origins = draw(st.lists(st.sampled_from(SAMPLE_HUBS[1:3]), min_size=1, max_size=3))
    seq = dict.fromkeys(origins, draw(st.integers(1, 500)))
    ms = 1_763_448_000_000
    out = []
    for _ in range(draw(st.integers(1, max_ops))):
        origin = draw(st.sampled_from(origins))
        seq[origin] += 1
        ms += draw(st.integers(0, 3_600_000))
        record = RecordId(origin, seq[origin])
        body: Body
        if draw(st.integers(0, 4)):
            fields = {
                "category": draw(st.sampled_from([c.value for c in Category])),
                "urgency": draw(st.sampled_from([u.value for u in Urgency])),
                "quantity": draw(st.one_of(st.none(), st.integers(1, 12))),
                "quantity_unit": "people",
                "area": draw(st.sampled_from(["riverside", "downtown", "port"])),
                "note": draw(st.sampled_from(["", "", "two kids, no water since Tuesday"])),
                "language": draw(st.sampled_from(["en", "es", "ht"])),
                "share_contact": False,
                "contact_name": "",
                "contact_phone": "",
                "contact_location": "",
            }
            ref = format_code(draw(st.integers(0, (1 << 30) - 1)))
            body = Create(record, Kind.NEED, ms, fields, ref)
        else:
            body = SetStatus(RecordId(origin, max(1, seq[origin] - 3)), Status.MATCHED, 0, "")
        out.append(Op(origin, seq[origin], ms << 16, body))
    return out
