"""Mixed fleets keep talking: hubs are upgraded one at a time, and the wire version follows.

A hub learns what each neighbour reads from its summaries (and its frames' version byte),
writes at the lowest version any neighbour heard lately reads (radio is broadcast), and holds
back an op that needs more — not sent, not counted as sent — until every neighbour reads it.
An old hub is simulated by capping the version its decoder reads; a newer hub's vocabulary (a
17th category) by the field table of ``tests/wire/test_room_to_grow.py``.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldkit.core.fields import FIELDS, FieldSpec
from fieldkit.core.ops import Create, Op, RecordId
from fieldkit.core.records import Kind
from fieldkit.sync.engine import SyncEngine, SyncSettings, missing
from fieldkit.sync.node import GossipNode, Outgoing
from fieldkit.sync.replica import MemoryReplica
from fieldkit.wire import frame as codec
from fieldkit.wire.messages import Envelope, Summary
from fieldkit.wire.ops_body import op_version
from tests.wire.test_room_to_grow import NEWER

KEY = b"k" * 32
FAST = SyncSettings(debounce=5_000, jitter=1_500, forward=5_000, heartbeat_min=20_000)
A, B, C = 0xA0000001, 0xB0000002, 0xC0000003
HOUR = 3_600_000


def create(hub: int, seq: int, category: str = "water") -> Op:
    fields = {"category": category, "urgency": "today", "area": "riverside"}
    return Op(hub, seq, seq << 16, Create(RecordId(hub, seq), Kind.NEED, seq, fields))


def hub(hub_id: int, reads: int, fields: tuple[FieldSpec, ...] = NEWER, *ops: Op) -> GossipNode:
    replica = MemoryReplica()
    for op in ops:
        replica.add(op)
    engine = SyncEngine(hub_id, FAST, random.Random(hub_id), reads=reads)
    return GossipNode(hub_id, replica, KEY, engine, fields=fields)


def upgraded(node: GossipNode) -> GossipNode:
    """The same hub, its replica kept, restarted with fieldkit that reads version 2."""
    engine = SyncEngine(node.hub, FAST, random.Random(node.hub + 1), reads=2)
    return GossipNode(node.hub, node.replica, KEY, engine, counter=node.counter, fields=NEWER)


def ops_of(node: GossipNode) -> dict[tuple[int, int], Op]:
    assert isinstance(node.replica, MemoryReplica)
    return node.replica.ops


class Air:
    """Hubs all in range of each other on a lossless channel, in simulated milliseconds."""

    def __init__(self, *nodes: GossipNode) -> None:
        self.nodes = list(nodes)
        self.now = 0
        self.frames: list[tuple[int, int]] = []  # (sender, version byte) of every frame

    async def run(self, until: int, done: Callable[[], bool] = lambda: False) -> None:
        while self.now < until and not done():
            wakes, sent = [], False
            for node in self.nodes:
                out = await node.next_payload(self.now)
                if isinstance(out, Outgoing):
                    sent = True
                    self.frames.append((node.hub, out.payload[0]))
                    for other in self.nodes:
                        if other is not node:
                            await other.receive(out.payload, self.now)
                elif out is not None:
                    wakes.append(out)
            if not sent:
                self.now = min([until, *wakes])

    def versions(self, sender: int | None = None) -> set[int]:
        return {v for s, v in self.frames if sender is None or s == sender}


PETS = create(A, 2, category="pets")  # needs version 2: the 17th category
TODAYS = [create(A, 1), create(A, 3)]


def newer_hub_with_a_17th_category() -> GossipNode:
    return hub(A, 2, NEWER, TODAYS[0], PETS, TODAYS[1])


def test_only_an_op_beyond_todays_slots_needs_version_2() -> None:
    assert op_version(PETS, NEWER) == 2
    assert [op_version(op, NEWER) for op in TODAYS] == [1, 1]


async def test_beside_an_old_neighbour_a_hub_writes_version_1_and_holds_back_the_newer_op() -> None:
    newer, old = newer_hub_with_a_17th_category(), hub(B, 1, FIELDS)
    air = Air(newer, old)
    await air.run(2 * HOUR)
    assert air.versions() == {1}
    assert old.stats.rejected["version"] == 0  # it never heard a frame it cannot read
    assert set(ops_of(old)) == {(A, 1), (A, 3)}
    assert (A, 2) in newer.engine.held  # waiting for the neighbour, not dropped
    assert (A, 2) not in newer.engine.pushed  # and never marked as sent
    assert newer.stats.ops_held_back >= 1
    assert newer.engine.peers[B].reads == 1


async def test_a_neighbour_that_reads_version_2_gets_the_newer_op() -> None:
    newer, other = newer_hub_with_a_17th_category(), hub(C, 2)
    air = Air(newer, other)
    await air.run(2 * HOUR, done=lambda: len(ops_of(other)) == 3)
    assert ops_of(other)[(A, 2)] == PETS
    assert 2 in air.versions(A)
    assert newer.engine.peers[C].reads == other.engine.peers[A].reads == 2
    assert not newer.engine.held


async def test_once_the_old_neighbour_upgrades_it_gets_the_op_held_back_for_it() -> None:
    newer, old = newer_hub_with_a_17th_category(), hub(B, 1, FIELDS)
    air = Air(newer, old)
    await air.run(HOUR, done=lambda: len(ops_of(old)) == 2)
    assert (A, 2) in newer.engine.held
    air.nodes[1] = now_new = upgraded(old)
    await air.run(air.now + 2 * HOUR, done=lambda: len(ops_of(now_new)) == 3)
    assert ops_of(now_new)[(A, 2)] == PETS
    assert not newer.engine.held


async def test_one_old_hub_in_range_keeps_every_frame_at_version_1() -> None:
    newer, old, other = newer_hub_with_a_17th_category(), hub(B, 1, FIELDS), hub(C, 2)
    air = Air(newer, old, other)
    await air.run(2 * HOUR)
    assert air.versions() == {1}  # broadcast: the old hub must read every frame
    assert set(ops_of(old)) == set(ops_of(other)) == {(A, 1), (A, 3)}
    assert old.stats.rejected["version"] == 0


async def test_a_hub_with_todays_table_counts_a_newer_op_it_cannot_read() -> None:
    reader = hub(B, 2, FIELDS)
    frame = codec.encode_envelope(KEY, Envelope(A, 1, codec.Ops((TODAYS[0], PETS))), 2, NEWER)
    await reader.receive(frame, 0)
    assert set(ops_of(reader)) == {(A, 1)}
    assert reader.stats.rejected["newer"] == 1


async def test_a_hub_that_reads_version_2_but_not_the_17th_category_stops_asking_for_it() -> None:
    newer, reader = newer_hub_with_a_17th_category(), hub(B, 2, FIELDS)
    air = Air(newer, reader)
    await air.run(2 * HOUR)
    assert set(ops_of(reader)) == {(A, 1), (A, 3)}
    assert reader.engine.unreadable == {(A, 2)}
    assert reader.stats.rejected["newer"] >= 1
    assert reader.stats.wants_out == 0  # the gap is not a loss to repair: asking brings it again


async def test_a_fleet_of_version_1_needs_not_a_byte_to_say_so() -> None:
    a, b = hub(A, 2, FIELDS, *TODAYS), hub(B, 2, FIELDS)
    air = Air(a, b)
    await air.run(HOUR)
    assert not a.engine.announcing
    assert not b.engine.announcing
    assert air.versions() == {1}


def test_an_earlier_release_reads_the_announcement_as_seqs_of_no_origin() -> None:
    """Hub 0 is never an origin: the extras that carry the version change nothing it does."""
    data = codec.encode_envelope(KEY, Envelope(A, 1, Summary({A: 4}, {}, reads=2)))
    assert codec.decode_envelope(KEY, data).message == Summary({A: 4}, {}, reads=2)
    as_earlier_release_reads_it = Summary({A: 4}, {codec.VERSION_HUB: (2,)})
    for mine in ({A: 6}, {A: 6, B: 2}, {}):
        assert missing(mine, as_earlier_release_reads_it) == missing(mine, Summary({A: 4}))
    engine = SyncEngine(B, FAST)
    engine.heard_summary(A, as_earlier_release_reads_it, {}, 0)
    assert engine.lacking_from({}) == {A: {(A, 1), (A, 2), (A, 3), (A, 4)}}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    reads=st.lists(st.sampled_from([1, 2]), min_size=1, max_size=3),
    categories=st.lists(st.sampled_from(["water", "food", "pets"]), min_size=1, max_size=5),
)
async def test_every_hub_gets_every_op_it_can_read_and_only_newer_ops_wait(
    reads: list[int], categories: list[str]
) -> None:
    ops = [create(A, seq, category) for seq, category in enumerate(categories, 1)]
    newer = hub(A, 2, NEWER, *ops)
    others = [hub(0xB0000000 + i, r) for i, r in enumerate(reads)]
    air = Air(newer, *others)
    await air.run(3 * HOUR)
    readable = {(op.origin, op.seq) for op in ops if op_version(op, NEWER) <= min(reads)}
    for node in others:
        assert set(ops_of(node)) == readable
        assert node.stats.rejected["version"] == 0
    assert set(newer.engine.held) == {(op.origin, op.seq) for op in ops} - readable
    assert air.versions() <= set(range(1, min(reads) + 1))


async def test_beside_a_hub_of_the_sealed_release_a_compact_hub_writes_sealed_frames() -> None:
    """Issue 14's compact frames (version 5) beside a hub that reads up to version 4: what the
    newer hub sends once it has heard it is sealed version 4, and both end with every op."""
    table = ("riverside",)
    newer = hub(A, codec.COMPACT_VERSION, FIELDS, create(A, 1), create(A, 2))
    newer.areas = table
    sealed = hub(B, codec.SEALED_VERSION, FIELDS, create(B, 1), create(B, 2))
    sealed.areas = table
    sealed.engine.not_before = 10_000  # the newer hub speaks first, before it has heard it
    air = Air(newer, sealed)
    await air.run(2 * HOUR, lambda: len(ops_of(newer)) == len(ops_of(sealed)) == 4)
    assert set(ops_of(newer)) == set(ops_of(sealed)) == {(A, 1), (A, 2), (B, 1), (B, 2)}
    assert air.versions(B) == {codec.SEALED_VERSION}
    first, *after = [v for s, v in air.frames if s == A]
    assert first == codec.COMPACT_VERSION  # alone, it writes its own version
    assert set(after) == {codec.SEALED_VERSION}
    assert sealed.stats.rejected["version"] == 1  # that frame, told as an older hub's
    assert newer.engine.peers[B].reads == codec.SEALED_VERSION


async def test_a_hub_without_the_networks_area_table_is_sent_areas_by_name_once_it_says_so() -> (
    None
):
    """A hub that joined by key alone (`fieldkit init --network-key`) holds no area table: the
    first frame that codes areas by the table is refused (``areas``), it says so in its
    summary, and from then on its neighbours send areas by name; nothing is lost."""
    with_table = hub(A, codec.COMPACT_VERSION, FIELDS, create(A, 1), create(A, 2))
    with_table.areas = ("riverside",)
    without = hub(B, codec.COMPACT_VERSION, FIELDS)
    air = Air(with_table, without)
    await air.run(2 * HOUR, lambda: len(ops_of(without)) == 2)
    assert set(ops_of(without)) == {(A, 1), (A, 2)}
    assert without.stats.rejected["areas"] >= 1
    assert without.engine.table_differs
    assert not with_table.engine.codes_areas()
