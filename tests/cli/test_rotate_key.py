"""``fieldkit network rotate-key`` (issue 11: a stolen hub): the network moves to a new key
without losing the fleet. The first hub makes the key, and the key travels by itself, sealed
under the old one, in bundles and HTTP sync (on air: tests/sync/test_key_travel.py);
meanwhile a hub still accepts the previous key for a grace period. A hub away for the whole
grace is told how to rejoin."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldkit.app.hub import Hub, create_identity
from fieldkit.app.netkey import ensure_network_key, previous_keys, rotate_network_key
from fieldkit.mesh.memory_transport import MemoryMedium, MemoryTransport
from fieldkit.store.sqlite import Store
from fieldkit.sync.radio import RadioSync
from fieldkit.wire import frame as codec
from fieldkit.wire.messages import Envelope, Summary
from tests.cli.conftest import SAMPLE, Fieldkit, free_port, running_hub
from tests.waiting import poll_until, stop_task

DAY_MS = 86_400_000
HELLO = Summary({})


@pytest.fixture
def fleet(tmp_path: Path, fieldkit: Fieldkit) -> tuple[Path, Path, Path]:
    """Three hubs of one network."""
    hubs = [tmp_path / name for name in ("a", "b", "c")]
    for hub in hubs:
        hub.mkdir()
    assert fieldkit(hubs[0], "init", "--name", "A").code == 0
    key = fieldkit(hubs[0], "key").out.strip()
    for hub in hubs[1:]:
        assert fieldkit(hub, "init", "--name", hub.name, "--network-key", key).code == 0
    return hubs[0], hubs[1], hubs[2]


def rotate(fieldkit: Fieldkit, hub: Path, *args: str) -> str:
    done = fieldkit(hub, "network", "rotate-key", *args)
    assert done.code == 0, done.err
    found = re.search(r"network key: (fk1\.\S+)", done.out)
    assert found is not None, done.out
    return found.group(1)


def test_a_bundle_carries_the_new_key_to_a_hub_not_yet_moved(
    tmp_path: Path, fleet: tuple[Path, Path, Path], fieldkit: Fieldkit
) -> None:
    a, b, c = fleet
    old_key = fieldkit(a, "key").out.strip()
    assert fieldkit(b, "import", str(SAMPLE)).code == 0
    before = tmp_path / "before.fkb"  # written by B under the old key, not yet moved
    assert fieldkit(b, "bundle", "export", str(before)).code == 0

    new_key = rotate(fieldkit, a)
    assert new_key != old_key
    assert fieldkit(a, "key").out.strip() == new_key
    # a bundle still under the old key: accepted during the grace
    assert (
        fieldkit(a, "bundle", "import", str(before)).out.strip() == "28 new ops (28 in the bundle)"
    )
    # what A writes now is sealed under the new key, after the notice sealed under the old one:
    # C, not moved, takes the new key from the stick, then reads the bundle
    after = tmp_path / "after.fkb"
    assert fieldkit(a, "bundle", "export", str(after)).code == 0
    assert after.read_bytes().startswith(b"FKNOTICE\x01")
    done = fieldkit(c, "bundle", "import", str(after))
    assert done.code == 0, done.err
    assert done.out.strip() == "28 new ops (28 in the bundle)"
    assert "moved to the network's new key" in done.err
    assert fieldkit(c, "key").out.strip() == new_key
    # importing it again changes nothing, the key included
    assert fieldkit(c, "bundle", "import", str(after)).out.strip() == "0 new ops (28 in the bundle)"
    assert fieldkit(c, "key").out.strip() == new_key
    # once the grace is over, the old key is refused: B's old bundle too
    assert fieldkit(a, "network", "rotate-key", "--end-grace").code == 0
    refused = fieldkit(a, "bundle", "import", str(before))
    assert refused.code == 1
    assert "network join --force" in refused.err


@contextlib.contextmanager
def serving(hub: Path) -> Iterator[int]:
    """``fieldkit run`` at ``hub``, serving its sync API on the port yielded."""
    port = free_port()
    with running_hub(hub, "--port", str(port)):
        yield port


def test_http_sync_carries_the_new_key_both_ways(
    fleet: tuple[Path, Path, Path], fieldkit: Fieldkit
) -> None:
    a, b, c = fleet
    assert fieldkit(a, "import", str(SAMPLE)).code == 0
    new_key = rotate(fieldkit, a)
    with serving(b) as port:  # B, not yet moved, serves; A, moved, syncs to it
        done = fieldkit(a, "sync", f"http://127.0.0.1:{port}")
        assert done.code == 0, done.err
        assert done.out.strip() == "received 0 new ops (0 sent to us), sent 28"
        # the running hub B took the new key from A's notice, without a restart
        assert fieldkit(b, "key").out.strip() == new_key
        # C, not moved, syncs to B (moved): it takes the new key from B's answer
        done = fieldkit(c, "sync", f"http://127.0.0.1:{port}")
        assert done.code == 0, done.err
        assert done.out.strip() == "received 28 new ops (28 sent to us), sent 0"
        assert "moved to the network's new key" in done.err
    assert fieldkit(c, "key").out.strip() == new_key


async def hear(sync: RadioSync, neighbour: MemoryTransport, payload: bytes) -> None:
    """``neighbour`` sends ``payload``; returns once the hub has handled it."""
    heard = sync.node.stats.frames_in
    async with asyncio.timeout(30):
        await neighbour.send(payload)
        await poll_until(lambda: sync.node.stats.frames_in > heard)


async def test_radio_frames_under_the_previous_key_are_taken_until_the_grace_ends(
    tmp_path: Path,
) -> None:
    now = [1_790_000_000_000]
    async with await Store.open(tmp_path / "hub.db") as store:
        await create_identity(store)
        old = await ensure_network_key(store)
        hub = await Hub.open(store, wall=lambda: now[0])
        assert await previous_keys(store, now[0]) == ((), None)
        new = await rotate_network_key(store, now[0], grace_days=1)
        kept, until = await previous_keys(store, now[0])
        assert (kept, until) == ((old,), now[0] + DAY_MS)
        medium = MemoryMedium()
        neighbour, transport = medium.attach(0x10), medium.attach(0x20)
        sync = RadioSync(hub, transport, new, old_keys=kept, old_keys_until_ms=until)
        task = asyncio.create_task(sync.run())
        try:
            async with asyncio.timeout(30):
                await poll_until(lambda: sync.restored)
            await hear(
                sync, neighbour, codec.encode_envelope(old, Envelope(0xCAFE, 1, Summary({})))
            )
            assert 0xCAFE in sync.node.engine.peers  # a hub not yet moved is still heard
            assert sync.node.stats.old_key_frames == 1
            now[0] += DAY_MS  # the grace is over
            await hear(
                sync, neighbour, codec.encode_envelope(old, Envelope(0xBEEF, 1, Summary({})))
            )
            assert 0xBEEF not in sync.node.engine.peers
            assert sync.node.stats.rejected["auth"] == 1
            # and what the hub itself sends is under the new key only
            sent = await neighbour.recv()
            assert codec.decode_envelope(new, sent.payload).sender == hub.id
            with pytest.raises(codec.DecodeError):
                codec.decode_envelope(old, sent.payload)
        finally:
            await stop_task(task, within=10, what="the radio loop")
            await transport.close()


def test_a_hub_away_for_the_whole_grace_is_told_how_to_rejoin_and_rejoins_with_the_join_code(
    tmp_path: Path, fieldkit: Fieldkit
) -> None:
    a, late = tmp_path / "a", tmp_path / "late"
    for hub in (a, late):
        hub.mkdir()
        assert fieldkit(hub, "init", "--name", hub.name).code == 0
    assert fieldkit(a, "network", "new", "--region", "EU_868").code == 0
    code = fieldkit(a, "network", "show", "--secrets").out.split("join code: ")[1].split()[0]
    assert fieldkit(late, "network", "join", "--force", code).code == 0
    assert fieldkit(a, "import", str(SAMPLE)).code == 0
    rotate(fieldkit, a, "--grace-days", "0")  # the grace passed while `late` was switched off
    with serving(a) as port:
        refused = fieldkit(late, "sync", f"http://127.0.0.1:{port}")
        assert refused.code == 1
        assert refused.err.count("\n") == 1  # one line: why, and the way back
        assert "network show --secrets" in refused.err
        assert "network join --force CODE" in refused.err
        new_code = fieldkit(a, "network", "show", "--secrets").out.split("join code: ")[1]
        assert new_code.split()[0] != code  # the join code carries the new key
        assert fieldkit(late, "network", "join", "--force", new_code.split()[0]).code == 0
        done = fieldkit(late, "sync", f"http://127.0.0.1:{port}")
        assert done.code == 0, done.err
        assert done.out.strip() == "received 28 new ops (28 sent to us), sent 0"
