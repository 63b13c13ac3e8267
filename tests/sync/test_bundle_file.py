"""Bundle files for runners: every op, refused whole when altered, contacts only with consent."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from fieldkit.app.hub import Hub
from fieldkit.app.import_export import import_file
from fieldkit.core.ops import Create, Op, RecordId
from fieldkit.core.records import Category, Contact, Draft, Kind, Urgency
from fieldkit.sync.batches import BATCH
from fieldkit.sync.bundle_file import export_bundle, import_bundle, stream_bundle
from fieldkit.wire.bundle_format import BundleError, read_bundle
from fieldkit.wire.messages import Ops
from tests.sync.without_key import readable_without_key
from tests.wire.test_bundle_format import OLD_BUNDLE

SAMPLE = Path(__file__).parents[2] / "fieldkit" / "data" / "sample.jsonl"
KEY = b"n" * 32


async def hashes(*hubs: Hub) -> set[str]:
    return {await h.store.state_hash(public=True) for h in hubs}


async def test_a_bundle_carries_every_op_and_importing_it_twice_changes_nothing(
    hub: Hub, hub2: Hub
) -> None:
    await import_file(hub, SAMPLE)
    data, count = await export_bundle(hub, KEY)
    assert count == 28
    assert await import_bundle(hub2, KEY, data) == (28, 28)
    assert await import_bundle(hub2, KEY, data) == (0, 28)
    assert len(await hashes(hub, hub2)) == 1


@pytest.mark.parametrize("where", [0, 20, -40, -1])
async def test_a_tampered_bundle_is_refused_whole(hub: Hub, hub2: Hub, where: int) -> None:
    await import_file(hub, SAMPLE)
    data = bytearray((await export_bundle(hub, KEY))[0])
    data[where] ^= 0x01
    with pytest.raises(BundleError):
        await import_bundle(hub2, KEY, bytes(data))
    assert await hub2.store.counts() == {}


async def test_a_cut_short_or_foreign_bundle_is_refused(hub: Hub, hub2: Hub) -> None:
    await import_file(hub, SAMPLE)
    data, _ = await export_bundle(hub, KEY)
    with pytest.raises(BundleError):
        await import_bundle(hub2, KEY, data[: len(data) // 2])
    with pytest.raises(BundleError, match="authentication"):
        await import_bundle(hub2, b"other network key.............xx", data)
    with pytest.raises(BundleError, match="not a fieldkit bundle"):
        await import_bundle(hub2, KEY, b"PK\x03\x04 a zip file")


async def test_bundles_carry_contact_details_only_with_consent(hub: Hub) -> None:
    for name, share in (("Ana", False), ("Jean", True)):
        draft = Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside",
                      contact=Contact(name, "555 0100"), share_contact=share)  # fmt: skip
        await hub.submit(draft)
    data, _ = await export_bundle(hub, KEY)
    ops = [
        op
        for env in read_bundle(KEY, data)
        if isinstance(env.message, Ops)
        for op in env.message.ops
    ]
    names = sorted(op.body.fields["contact_name"] for op in ops)  # type: ignore[union-attr]
    assert names == ["", "Jean"]


async def test_a_bundle_since_a_date_carries_only_later_ops(hub: Hub, wall) -> None:  # type: ignore[no-untyped-def]
    await hub.submit(Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside"))
    wall.ms += 86_400_000
    await hub.submit(Draft(Kind.NEED, Category.FOOD, Urgency.TODAY, "riverside"))
    _, count = await export_bundle(hub, KEY, since_ms=wall.ms - 3_600_000)
    assert count == 1


async def test_a_streamed_bundle_is_written_in_chunks_and_reads_back_whole(hub: Hub) -> None:
    await import_file(hub, SAMPLE)
    chunks: list[bytes] = []
    count = await stream_bundle(hub, KEY, chunks.append)
    envelopes = read_bundle(KEY, b"".join(chunks))
    ops = [op for env in envelopes if isinstance(env.message, Ops) for op in env.message.ops]
    assert count > 0
    assert count == len(ops) == sum((await hub.store.version_vector()).values())
    assert [(op.origin, op.seq) for op in ops] == sorted((op.origin, op.seq) for op in ops)
    assert len({(op.origin, op.seq) for op in ops}) == count
    assert len(chunks) == 2  # the header, then the one segment a small hub's ops fill


async def test_a_large_bundle_is_written_a_segment_at_a_time(hub: Hub) -> None:
    fields = {"category": "water", "urgency": "today", "area": "riverside"}
    ops = [
        Op(7, seq, (1_790_000_000_000 + seq) << 16,
           Create(RecordId(7, seq), Kind.NEED, 1_790_000_000_000 + seq,
                  {**fields, "note": hashlib.sha256(b"%d" % seq).hexdigest()}))
        for seq in range(1, 8 * BATCH + 1)
    ]  # fmt: skip
    await hub.receive(ops)
    chunks: list[bytes] = []
    assert await stream_bundle(hub, KEY, chunks.append) == 8 * BATCH
    assert len(chunks) > 3
    assert max(map(len, chunks)) < sum(map(len, chunks)) / 2


async def test_a_lost_stick_leaks_nothing_without_the_key(hub: Hub) -> None:
    draft = Draft(Kind.NEED, Category.MEDICATION, Urgency.CRITICAL, "riverside",
                  note="insulin, behind the blue church",
                  contact=Contact("Jean Baptiste", "555 0100"), share_contact=True)  # fmt: skip
    code = (await hub.submit(draft)).record.ref
    data, _ = await export_bundle(hub, KEY)
    for secret in ("Jean Baptiste", "555 0100", "blue church", code):
        assert secret.encode() not in data
        assert secret not in readable_without_key(data)
    # the thief's reader is no straw man: a bundle of an earlier release is an open book
    assert "Jean" in readable_without_key(OLD_BUNDLE)
    assert [env.message for env in read_bundle(KEY, data)][1].ops[0].body.fields[  # type: ignore[union-attr]
        "contact_name"
    ] == "Jean Baptiste"


async def test_a_bundle_of_an_earlier_release_is_still_imported(hub: Hub) -> None:
    assert await import_bundle(hub, b"k" * 32, OLD_BUNDLE) == (1, 1)
    assert await import_bundle(hub, b"k" * 32, OLD_BUNDLE) == (0, 1)
