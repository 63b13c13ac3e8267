"""Moving ops between hubs from the command line: bundles on a stick, sync over the LAN.

In-process (``main(argv)``), except the hub being synced with: ``fieldkit run`` serving."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import SAMPLE, Done, Fieldkit, free_port, running_hub


def status(fieldkit: Fieldkit, cwd: Path) -> dict[str, object]:
    done = fieldkit(cwd, "status", "--json")
    assert done.code == 0, done.err
    return dict(json.loads(done.out))


@pytest.fixture
def two_hubs(tmp_path: Path, fieldkit: Fieldkit) -> tuple[Path, Path]:
    """Two hubs of one network: the second joins with the first one's key."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    assert fieldkit(a, "init", "--name", "A").code == 0
    key = fieldkit(a, "key").out.strip()
    assert key.startswith("fk1.")  # never "-…", which a command line would take for an option
    assert len(key) == 47
    assert fieldkit(b, "init", "--name", "B", "--network-key", key).code == 0
    assert fieldkit(a, "import", str(SAMPLE)).code == 0
    return a, b


def test_a_bundle_carries_a_hubs_records_to_another_and_twice_changes_nothing(
    two_hubs: tuple[Path, Path], fieldkit: Fieldkit
) -> None:
    a, b = two_hubs
    stick = a.parent / "stick.fkb"
    done = fieldkit(a, "bundle", "export", str(stick))
    assert done.code == 0, done.err
    assert done.out.startswith("wrote 28 ops")
    assert (
        fieldkit(b, "bundle", "import", str(stick)).out.strip() == "28 new ops (28 in the bundle)"
    )
    assert fieldkit(b, "bundle", "import", str(stick)).out.strip() == "0 new ops (28 in the bundle)"
    assert status(fieldkit, b)["records"] == status(fieldkit, a)["records"]


def test_a_tampered_bundle_is_refused_and_nothing_is_imported(
    two_hubs: tuple[Path, Path], fieldkit: Fieldkit
) -> None:
    a, b = two_hubs
    stick = a.parent / "stick.fkb"
    fieldkit(a, "bundle", "export", str(stick))
    data = bytearray(stick.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stick.write_bytes(bytes(data))
    done = fieldkit(b, "bundle", "import", str(stick))
    assert done.code == 1
    assert "failed authentication" in done.err
    assert status(fieldkit, b)["records"] == {}


def test_a_bundle_from_another_network_is_refused(
    tmp_path: Path, two_hubs: tuple[Path, Path], fieldkit: Fieldkit
) -> None:
    a, _ = two_hubs
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    fieldkit(stranger, "init", "--name", "elsewhere")
    stick = a.parent / "stick.fkb"
    fieldkit(a, "bundle", "export", str(stick))
    done = fieldkit(stranger, "bundle", "import", str(stick))
    assert done.code == 1
    assert "another network" in done.err


def test_a_huge_file_is_refused_in_bounded_memory_and_imports_nothing(
    two_hubs: tuple[Path, Path], fieldkit: Fieldkit
) -> None:
    a, b = two_hubs
    stick = a.parent / "huge.fkb"
    assert fieldkit(a, "bundle", "export", str(stick)).code == 0
    with stick.open("r+b") as file:
        file.truncate(1 << 30)  # a real bundle, then a sparse GB of zeros
    tracemalloc.start()
    try:
        done = fieldkit(b, "bundle", "import", str(stick))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert done.code == 1
    assert done.err.count("\n") == 1
    assert "failed authentication" in done.err
    assert peak < 16 << 20
    assert status(fieldkit, b)["records"] == {}


# --- bundle export files: one-line errors, nothing left behind -----------------------------


def files_under(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


def refused(done: Done, words: str) -> None:
    assert done.code == 1
    assert done.err.count("\n") == 1, done.err  # one line, never a traceback
    assert done.err.startswith("fieldkit: error: cannot write")
    assert words in done.err


def test_a_bundle_to_a_missing_folder_or_onto_a_folder_is_refused_in_one_line(
    two_hubs: tuple[Path, Path], fieldkit: Fieldkit
) -> None:
    a, _ = two_hubs
    stick = a.parent / "stick"
    stick.mkdir()
    (stick / "photo.jpg").write_bytes(b"\xff\xd8")
    before = files_under(a.parent)
    refused(fieldkit(a, "bundle", "export", str(stick / "no such folder" / "b.fkb")), "no folder")
    refused(fieldkit(a, "bundle", "export", str(stick)), "is a folder")
    assert files_under(a.parent) == before
    assert (stick / "photo.jpg").read_bytes() == b"\xff\xd8"


def test_a_bundle_follows_a_symlink_to_a_regular_file_and_the_link_stays(
    two_hubs: tuple[Path, Path], fieldkit: Fieldkit
) -> None:
    a, b = two_hubs
    stick = a.parent / "stick"
    stick.mkdir()
    (stick / "old.fkb").write_bytes(b"an older bundle")
    link, dangling = a.parent / "latest.fkb", a.parent / "next.fkb"
    link.symlink_to(stick / "old.fkb")
    dangling.symlink_to(stick / "new.fkb")
    for path in (link, dangling):
        done = fieldkit(a, "bundle", "export", str(path))
        assert done.code == 0, done.err
        assert path.is_symlink()
    assert (stick / "old.fkb").read_bytes().startswith(b"FKBUNDLE\x02")
    assert (stick / "new.fkb").read_bytes().startswith(b"FKBUNDLE\x02")
    assert sorted(p.name for p in stick.iterdir()) == ["new.fkb", "old.fkb"]
    assert fieldkit(b, "bundle", "import", str(link)).out.startswith("28 new ops")


def test_a_bundle_onto_a_device_node_is_refused_and_the_node_stays(
    tmp_path: Path, two_hubs: tuple[Path, Path], fieldkit: Fieldkit
) -> None:
    a, _ = two_hubs
    to_full = tmp_path / "to-full"
    to_full.symlink_to("/dev/full")
    refused(fieldkit(a, "bundle", "export", str(to_full)), "not a regular file")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    node = tmp_path / "full"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.stat("/dev/full").st_rdev)
    except PermissionError:
        pytest.skip("making a device node needs root (CAP_MKNOD)")
    refused(fieldkit(a, "bundle", "export", str(node)), "not a regular file")
    assert stat.S_ISCHR(os.lstat(node).st_mode)


def test_a_bundle_onto_a_full_stick_fails_in_one_line_and_leaves_nothing(
    two_hubs: tuple[Path, Path],
) -> None:
    """A real full filesystem: a 64 KiB tmpfs, nearly filled, in a mount namespace of its own."""
    a, _ = two_hubs
    stick = a.parent / "stick"
    stick.mkdir()
    script = (
        'mount -t tmpfs -o size=64k none "$1" && head -c 63000 /dev/zero > "$1/filler" '
        '&& "$2" -m fieldkit bundle export "$1/b.fkb"; echo "exit=$?"; ls -a "$1"'
    )
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", str(stick), sys.executable],
        cwd=a, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if "exit=" not in done.stdout:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    assert "exit=1" in done.stdout
    assert done.stdout.split("exit=1")[1].split() == [".", "..", "filler"]
    assert done.stderr.count("\n") == 1, done.stderr
    assert "No space left on device" in done.stderr


def test_importing_a_folder_a_fifo_or_a_device_is_refused_in_one_line(
    tmp_path: Path, two_hubs: tuple[Path, Path], fieldkit: Fieldkit
) -> None:
    _, b = two_hubs
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path, words in ((tmp_path, "not a regular file"), (fifo, "not a regular file"),
                        (Path("/dev/zero"), "not a regular file"),
                        (tmp_path / "none.fkb", "No such file")):  # fmt: skip
        done = fieldkit(b, "bundle", "import", str(path))
        assert done.code == 1
        assert done.err.count("\n") == 1, done.err
        assert words in done.err


@pytest.fixture
def running_b(two_hubs: tuple[Path, Path]) -> Iterator[tuple[Path, Path, int]]:
    a, b = two_hubs
    port = free_port()
    with running_hub(b, "--port", str(port)):
        yield a, b, port


def test_sync_over_http_moves_records_both_ways(
    running_b: tuple[Path, Path, int], fieldkit: Fieldkit
) -> None:
    a, b, port = running_b
    offer = b / "offer.jsonl"
    offer.write_text('{"kind": "offer", "category": "power_fuel", "area": "downtown"}\n')
    assert fieldkit(b, "import", str(offer)).code == 0  # while B is serving
    done = fieldkit(a, "sync", f"http://127.0.0.1:{port}")
    assert done.code == 0, done.err
    assert done.out.strip() == "received 1 new ops (1 sent to us), sent 28"
    assert status(fieldkit, a)["records"] == status(fieldkit, b)["records"]
    assert status(fieldkit, a)["version_vector"] == status(fieldkit, b)["version_vector"]
    again = fieldkit(a, "sync", f"http://127.0.0.1:{port}")
    assert again.out.strip() == "received 0 new ops (0 sent to us), sent 0"


def test_sync_with_a_hub_that_is_not_there_says_so(
    two_hubs: tuple[Path, Path], fieldkit: Fieldkit
) -> None:
    a, _ = two_hubs
    done = fieldkit(a, "sync", f"http://127.0.0.1:{free_port()}")
    assert done.code == 1
    assert done.err.startswith("fieldkit: error: cannot reach")


def test_network_keys_round_trip_and_a_bad_one_is_refused_clearly(
    tmp_path: Path, fieldkit: Fieldkit
) -> None:
    from fieldkit.app.netkey import format_key, parse_key

    for raw in (b"\xf8" * 32, bytes(range(32))):  # base64 of 0xf8… starts with "-"
        assert parse_key(format_key(raw)) == raw
        assert not format_key(raw).startswith("-")
    done = fieldkit(tmp_path, "init", "--network-key", "fk1.tooshort")
    assert done.code == 1
    assert "config --network-key: not a network key" in done.err
