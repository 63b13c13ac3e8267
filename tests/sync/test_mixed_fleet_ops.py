"""Mixed fleets and this release's ops: a hub of the previous release skips them safely.

A coordinator's match (with the name and a quantity), a notice with an expiry, a merge…
need wire version 2 and codes the previous release does not know. Beside a hub that reads
only version 1 they are held back, never sent; a hub of the previous release that reads
version 2 steps over each one (``newer``) and keeps every op it knows.
"""

from __future__ import annotations

from fieldkit.core.fields import BASE_FIELD_CODES, FIELDS, QuantityUnit
from fieldkit.core.ops import Create, Match, Merge, Op, RecordId
from fieldkit.core.records import Kind
from tests.sync.test_mixed_fleet import HOUR, Air, create, hub, ops_of

A, B = 0xA0000001, 0xB0000002
PREVIOUS = tuple(spec for spec in FIELDS if spec.wire_code < BASE_FIELD_CODES)
OFFER = Op(A, 2, 2 << 16, Create(RecordId(A, 2), Kind.OFFER, 2, {
    "category": "water", "urgency": "flexible", "area": "riverside", "quantity": 40,
    "quantity_unit": "units"}))  # fmt: skip
MATCH = Op(A, 3, 3 << 16, Match(RecordId(A, 1), RecordId(A, 2), 0, 0, "5 pm", 4,
                                QuantityUnit.UNITS), 0, "Ana")  # fmt: skip
MERGE = Op(A, 4, 4 << 16, Merge(RecordId(A, 1), RecordId(A, 5)), 0, "Ana")
LATER = [create(A, 5), create(A, 6)]


def newer_hub() -> object:
    return hub(A, 3, FIELDS, create(A, 1), OFFER, MATCH, MERGE, *LATER)


async def test_a_previous_release_reading_version_2_keeps_what_it_knows_and_skips_the_rest() -> (
    None
):
    newer, old = newer_hub(), hub(B, 2, PREVIOUS)
    air = Air(newer, old)  # type: ignore[arg-type]
    await air.run(2 * HOUR)
    assert set(ops_of(old)) == {(A, 1), (A, 2), (A, 5), (A, 6)}
    assert old.engine.unreadable >= {(A, 3), (A, 4)}
    assert old.stats.rejected["newer"] >= 2
    assert old.stats.rejected["version"] == 0


async def test_beside_a_hub_that_reads_only_version_1_the_new_ops_wait() -> None:
    newer, old = newer_hub(), hub(B, 1, PREVIOUS)
    air = Air(newer, old)  # type: ignore[arg-type]
    await air.run(2 * HOUR, done=lambda: len(ops_of(old)) == 4)
    assert set(ops_of(old)) == {(A, 1), (A, 2), (A, 5), (A, 6)}
    assert air.versions() == {1}
    assert old.stats.rejected["version"] == 0
    assert {(A, 3), (A, 4)} <= set(newer.engine.held)  # type: ignore[attr-defined]


async def test_hubs_of_this_release_get_every_new_op() -> None:
    newer, other = newer_hub(), hub(B, 3, FIELDS)
    air = Air(newer, other)  # type: ignore[arg-type]
    await air.run(2 * HOUR, done=lambda: len(ops_of(other)) == 6)
    assert ops_of(other)[(A, 3)] == MATCH
    assert ops_of(other)[(A, 3)].actor == "Ana"
