"""``fieldkit network revoke HUB`` (issue 11: a stolen hub): the network moves to a new key the
stolen hub never gets, and the stolen hub's ops made after the revocation are refused by every
hub, counted, whoever relays them; its earlier ops stay. The thief, holding the stolen hub
with the old key, tries HTTP sync and bundles here (the radio: tests/sync/test_key_travel.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import SAMPLE, Fieldkit
from tests.cli.test_rotate_key import serving


def status(fieldkit: Fieldkit, hub: Path) -> dict[str, object]:
    done = fieldkit(hub, "status", "--json")
    assert done.code == 0, done.err
    found: dict[str, object] = json.loads(done.out)
    return found


def vector(fieldkit: Fieldkit, hub: Path) -> dict[str, int]:
    found = status(fieldkit, hub)["version_vector"]
    assert isinstance(found, dict)
    return found


@pytest.fixture
def hubs(tmp_path: Path, fieldkit: Fieldkit) -> tuple[Path, Path, Path]:
    made = [tmp_path / name for name in ("a", "b", "stolen")]
    for hub in made:
        hub.mkdir()
    assert fieldkit(made[0], "init", "--name", "A").code == 0
    key = fieldkit(made[0], "key").out.strip()
    for hub in made[1:]:
        assert fieldkit(hub, "init", "--name", hub.name, "--network-key", key).code == 0
    return made[0], made[1], made[2]


def test_a_stolen_hub_is_revoked_and_its_later_ops_are_refused_over_http_and_bundles(
    tmp_path: Path, hubs: tuple[Path, Path, Path], fieldkit: Fieldkit
) -> None:
    a, b, stolen = hubs
    thief = str(status(fieldkit, stolen)["hub"])
    old_key = fieldkit(a, "key").out.strip()
    assert fieldkit(stolen, "import", str(SAMPLE)).code == 0  # 28 ops before the theft
    with serving(a) as port:  # everyone syncs once: A learns each hub's exchange key
        for hub in (b, stolen):
            done = fieldkit(hub, "sync", f"http://127.0.0.1:{port}")
            assert done.code == 0, done.err
    assert vector(fieldkit, a)[thief] == 28

    done = fieldkit(a, "network", "revoke", thief)
    assert done.code == 0, done.err
    assert f"hub {thief} revoked: its ops up to seq 28 stay" in done.out
    b_id = str(status(fieldkit, b)["hub"])
    assert f"the new key goes, sealed for each, to: {b_id}" in done.out
    new_key = fieldkit(a, "key").out.strip()
    assert new_key != old_key

    # the thief makes more records and carries them on a stick to B, which has not heard of
    # the revocation yet: B takes them (it cannot know)
    made = tmp_path / "thief.jsonl"
    made.write_text("".join(
        json.dumps(json.loads(line) | {"note": f"the thief's {i}"}) + "\n"
        for i, line in enumerate(SAMPLE.read_text().splitlines())
    ))  # fmt: skip
    assert fieldkit(stolen, "import", str(made)).code == 0
    stick = tmp_path / "thief.fkb"
    assert fieldkit(stolen, "bundle", "export", str(stick)).code == 0
    assert fieldkit(b, "bundle", "import", str(stick)).code == 0
    assert vector(fieldkit, b)[thief] == 56
    with serving(a) as port:
        # B syncs to A: it learns of the revocation and gets the new key, sealed for it; the
        # thief's ops it relays are refused by A
        done = fieldkit(b, "sync", f"http://127.0.0.1:{port}")
        assert done.code == 0, done.err
        assert "moved to the network's new key" in done.err
        assert f"revoked hubs: {thief}" in done.err
        assert fieldkit(b, "key").out.strip() == new_key
        assert vector(fieldkit, a)[thief] == 28
        # the thief syncs itself, with the old key (still accepted from hubs not yet moved):
        # it hears of its revocation, not the new key, and its ops are refused
        done = fieldkit(stolen, "sync", f"http://127.0.0.1:{port}")
        assert fieldkit(stolen, "key").out.strip() == old_key
        assert vector(fieldkit, a)[thief] == 28
        keys = status(fieldkit, a)["keys"]
        assert isinstance(keys, dict)
        assert keys["revoked"] == {thief: 28}
        assert keys["revoked_ops_refused"] >= 28  # counted by the running hub
        page = httpx.get(f"http://127.0.0.1:{port}/hub/status").text
        assert f"Revoked hubs: {thief}" in page
        assert "Moving to a new network key" in page
    # B, now moved, refuses the thief's stick too, and says so
    again = fieldkit(b, "bundle", "import", str(stick))
    assert again.code == 0
    assert again.out.strip() == "0 new ops (56 in the bundle)"
    assert "refused 28 ops of revoked hubs" in again.err
    # the thief's stolen hub says it was revoked
    assert "REVOKED" in fieldkit(stolen, "status").out
    # once every hub has moved, the old key opens nothing: the thief's sync and stick refused
    for hub in (a, b):
        assert fieldkit(hub, "network", "rotate-key", "--end-grace").code == 0
    assert fieldkit(a, "bundle", "import", str(stick)).code == 1
    with serving(a) as port:
        refused = fieldkit(stolen, "sync", f"http://127.0.0.1:{port}")
        assert refused.code == 1
        assert "refused" in refused.err
    assert vector(fieldkit, a)[thief] == 28  # its ops from before the theft stay


def test_revoke_names_a_hub_by_its_id(hubs: tuple[Path, Path, Path], fieldkit: Fieldkit) -> None:
    a, _, _ = hubs
    for bad in ("nothex!!", "abc", "00000000"):
        done = fieldkit(a, "network", "revoke", bad)
        assert done.code == 2, bad
        assert "HUB: expected a hub id of 8 hex digits" in done.err
    own = str(status(fieldkit, a)["hub"])
    done = fieldkit(a, "network", "revoke", own)
    assert done.code == 2
    assert "this hub's own id" in done.err
