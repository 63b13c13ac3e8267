"""`sudo fieldkit …` beside the hub's service leaves the service files it can still open."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import SAMPLE, Fieldkit

SERVICE_USER = 65534  # "nobody": stands in for the hub's own unprivileged user


@pytest.fixture
def service_home() -> Iterator[Path]:
    """A folder the service user owns, on a path that user can walk (pytest's own tmp
    folders are root's alone)."""
    if os.geteuid() != 0:
        pytest.skip("needs root: the rule is about commands run as root")
    base = Path(tempfile.mkdtemp(prefix="fieldkit-owner-"))
    base.chmod(0o755)
    home = base / "hub"
    home.mkdir()
    os.chown(home, SERVICE_USER, SERVICE_USER)
    try:
        yield home
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=True)


def owners(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_uid for p in folder.rglob("*")}


def service_can_write(db: Path) -> bool:
    """Whether a process running as the service user (a forked child that dropped root for
    good) can open the database and commit to it, the way the service does."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.setgroups([])
            os.setgid(SERVICE_USER)
            os.setuid(SERVICE_USER)
            with sqlite3.connect(db, timeout=10) as conn:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("CREATE TABLE IF NOT EXISTS service_was_here (x)")
                conn.execute("INSERT INTO service_was_here VALUES (1)")
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def test_files_root_makes_in_a_hubs_data_folder_belong_to_the_folders_owner(
    fieldkit: Fieldkit, service_home: Path
) -> None:
    data = service_home / "data"
    data.mkdir()
    os.chown(data, SERVICE_USER, SERVICE_USER)

    assert fieldkit(service_home, "init", "--name", "Library", "--data-dir", str(data)).code == 0
    assert fieldkit(service_home, "import", str(SAMPLE)).code == 0
    assert fieldkit(service_home, "records").code == 0

    made = owners(data)
    assert "hub.sqlite3" in made
    assert {name for name, uid in made.items() if uid != SERVICE_USER} == set()
    # The service, as its own user, still opens and writes everything root touched.
    assert service_can_write(data / "hub.sqlite3")
    assert os.geteuid() == 0  # root again once each command ended
    assert os.getegid() == 0


def test_outputs_a_root_command_writes_elsewhere_stay_roots(
    fieldkit: Fieldkit, service_home: Path, tmp_path: Path
) -> None:
    data = service_home / "data"
    data.mkdir()
    os.chown(data, SERVICE_USER, SERVICE_USER)
    assert fieldkit(service_home, "init", "--name", "Library", "--data-dir", str(data)).code == 0

    stick = tmp_path / "stick"  # root's own folder, where the service user may not write
    stick.mkdir(mode=0o700)
    out = stick / "hub.backup"
    done = fieldkit(service_home, "backup", str(out))
    assert done.code == 0, done.err
    assert out.stat().st_uid == 0
