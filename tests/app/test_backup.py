"""Backups: the hub comes back whole (id, metadata, every op), sealed; any damage is refused whole,
and a restored hub that syncs first never uses an op id twice."""

from __future__ import annotations

import io
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldkit.app import backup
from fieldkit.app.backup import COUNTER_JUMP, check_backup, restore_backup, write_backup
from fieldkit.app.hub import HUB_ID_KEY, Hub
from fieldkit.app.import_export import import_file
from fieldkit.app.netkey import ensure_network_key
from fieldkit.app.network import new_network, save_network, saved_network
from fieldkit.core.ops import shareable
from fieldkit.errors import BackupError
from fieldkit.store.sqlite import Store
from fieldkit.sync.bundle_file import export_bundle, import_bundle
from fieldkit.sync.radio import COUNTER_KEY

SAMPLE = Path(__file__).parents[2] / "fieldkit" / "data" / "sample.jsonl"
NETWORK = new_network("fieldkit", "EU_868", emergency="Call 112", random_bytes=lambda n: b"k" * n)
KEY = NETWORK.key


async def sealed(hub: Hub) -> bytes:
    out = io.BytesIO()
    await write_backup(hub.store, out.write, made_at_ms=1_790_000_000_000,
                       random_bytes=lambda n: b"s" * n)  # fmt: skip
    return out.getvalue()


@pytest.fixture
async def full(hub: Hub, hub2: Hub) -> Hub:
    """A hub on the network with its own records (contacts included) and another hub's."""
    await save_network(hub.store, NETWORK)
    await ensure_network_key(hub2.store, KEY)
    await import_file(hub, SAMPLE)
    await import_file(hub2, SAMPLE)  # the same lines, as another origin's ops
    await import_bundle(hub, KEY, (await export_bundle(hub2, KEY))[0])
    await hub.store.set_meta(COUNTER_KEY, "300000")
    return hub


@pytest.fixture
async def fresh(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "fresh.sqlite3") as store:
        yield store


async def test_a_restored_hub_has_its_id_metadata_and_every_op_contacts_included(
    full: Hub, fresh: Store
) -> None:
    data = await sealed(full)
    body = data[len(backup.MAGIC) + backup.SALT_BYTES + 4 :]
    with pytest.raises(zlib.error):  # sealed, not just packed
        zlib.decompressobj().decompress(body)
    info = await restore_backup(fresh, io.BytesIO(data), KEY)
    assert info.hub == full.id
    assert info.ops == 56
    assert info.own_seq == 28
    assert await fresh.meta(HUB_ID_KEY) == await full.store.meta(HUB_ID_KEY)
    assert await saved_network(fresh) == NETWORK
    assert await fresh.version_vector() == await full.store.version_vector()
    assert await fresh.state_hash() == await full.store.state_hash()  # private fields too
    assert int(await fresh.meta(COUNTER_KEY) or 0) == 300000 + COUNTER_JUMP
    restored = await Hub.open(fresh)
    assert restored.id == full.id


async def test_a_backup_opens_with_its_networks_key_only(full: Hub) -> None:
    data = await sealed(full)
    with pytest.raises(BackupError, match="does not open with this network's key"):
        check_backup(io.BytesIO(data), b"x" * 32)
    with pytest.raises(BackupError, match="not a fieldkit backup"):
        check_backup(io.BytesIO(b"FKBUNDLE\x01" + data[9:]), KEY)


async def test_restoring_over_a_hub_is_refused(full: Hub, hub2: Hub) -> None:
    data = await sealed(full)
    with pytest.raises(BackupError, match="already has a hub"):
        await restore_backup(hub2.store, io.BytesIO(data), KEY)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(where=st.floats(min_value=0, max_value=1, exclude_max=True), bit=st.integers(0, 7),
       cut=st.booleans())  # fmt: skip
async def test_any_flipped_bit_or_cut_is_refused_whole_before_anything_is_written(
    full: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: float, bit: int, cut: bool
) -> None:
    monkeypatch.setattr(backup, "CHUNK", 512)  # many chunks: their order and ends are checked
    data = bytearray(await sealed(full))
    position = int(where * len(data))
    if cut:
        del data[position:]
    else:
        data[position] ^= 1 << bit
    with pytest.raises(BackupError):
        check_backup(io.BytesIO(bytes(data)), KEY)


async def test_chunks_out_of_order_are_refused(full: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backup, "CHUNK", 512)
    data = await sealed(full)
    start = len(backup.MAGIC) + backup.SALT_BYTES
    size = 4 + 512 + 16
    first, second = data[start : start + size], data[start + size : start + 2 * size]
    swapped = data[:start] + second + first + data[start + 2 * size :]
    assert check_backup(io.BytesIO(data), KEY).ops == 56
    with pytest.raises(BackupError, match="damaged"):
        check_backup(io.BytesIO(swapped), KEY)


async def test_a_restored_hub_that_syncs_first_never_reuses_an_op_id(
    full: Hub, hub2: Hub, fresh: Store, tmp_path: Path
) -> None:
    data = await sealed(full)
    later = tmp_path / "later.jsonl"
    later.write_text(SAMPLE.read_text().replace("2026-11-18", "2026-11-19"))
    await import_file(full, later)  # ops 29..56, made after the backup, then synced to hub2
    await import_bundle(hub2, KEY, (await export_bundle(full, KEY))[0])
    before = {(op.origin, op.seq): op async for op, _ in full.store.iter_ops()}
    # the card fails; a new one gets the backup, then learns from hub2 what came after
    await restore_backup(fresh, io.BytesIO(data), KEY)
    restored = await Hub.open(fresh)
    await import_bundle(restored, KEY, (await export_bundle(hub2, KEY))[0])
    assert (await fresh.version_vector())[full.id] == 56
    newer = tmp_path / "newer.jsonl"
    newer.write_text(SAMPLE.read_text().replace("2026-11-18", "2026-11-20"))
    await import_file(restored, newer)
    after = {(op.origin, op.seq): op async for op, _ in fresh.iter_ops()}
    own_new = sorted(seq for (origin, seq) in after.keys() - before.keys() if origin == full.id)
    assert own_new == list(range(57, 57 + 28))
    # nothing was rewritten (ops learnt back from hub2 carry contacts only with consent)
    assert all(after[op_id] in (op, shareable(op, False)) for op_id, op in before.items())
    assert sum(after[i] == op for i, op in before.items()) >= 56  # the backup's, contacts too
