"""`fieldkit backup` and `fieldkit restore`, as a volunteer replacing a failed SD card."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

from ..web.serve import running_hub
from .conftest import SAMPLE, Fieldkit, free_port


def init(fieldkit: Fieldkit, folder: Path, name: str) -> Path:
    folder.mkdir()
    assert fieldkit(folder, "init", "--name", name).code == 0
    return folder


def ops(folder: Path) -> dict[tuple[int, int], str]:
    """Every op in a hub's database, by id (read with sqlite3 itself, not our store)."""
    with sqlite3.connect(folder / "data" / "hub.sqlite3") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        assert "ops" in tables
        return {(o, s): b for o, s, b in db.execute("SELECT origin, seq, body FROM ops")}


def hub_id(fieldkit: Fieldkit, folder: Path) -> str:
    value = json.loads(fieldkit(folder, "status", "--json").out)["hub"]
    assert isinstance(value, str)
    return value


def later(tmp_path: Path, day: str) -> Path:
    path = tmp_path / f"{day}.jsonl"
    path.write_text(SAMPLE.read_text().replace("2026-11-18", day))
    return path


def test_a_failed_card_is_replaced_from_its_backup_and_op_ids_never_repeat(
    fieldkit: Fieldkit, tmp_path: Path
) -> None:
    a, b = init(fieldkit, tmp_path / "a", "Hub A"), init(fieldkit, tmp_path / "b", "Hub B")
    made = fieldkit(a, "network", "new", "--region", "US")
    code = re.search(r"fkjoin1\.[A-Za-z0-9_-]+", made.out).group(0)  # type: ignore[union-attr]
    assert fieldkit(b, "network", "join", code).code == 0
    assert fieldkit(a, "import", str(SAMPLE)).code == 0
    saved = fieldkit(a, "backup", str(tmp_path / "a.fkbackup"))
    assert saved.code == 0, saved.err
    assert "28 ops" in saved.out
    assert "network key" in saved.err  # says how it is sealed, and who can read it
    assert (tmp_path / "a.fkbackup").stat().st_mode & 0o777 == 0o600
    # after the backup, A makes more ops and B gets them; then A's card fails
    assert fieldkit(a, "import", str(later(tmp_path, "2026-11-19"))).code == 0
    assert fieldkit(a, "bundle", "export", str(tmp_path / "a.bundle")).code == 0
    assert fieldkit(b, "bundle", "import", str(tmp_path / "a.bundle")).code == 0
    lost = ops(a)
    shutil.copy(a / "fieldkit.toml", tmp_path / "fieldkit.toml")
    shutil.rmtree(a)
    # the new card: the same config, no database
    a2 = tmp_path / "a2"
    a2.mkdir()
    shutil.copy(tmp_path / "fieldkit.toml", a2 / "fieldkit.toml")
    assert fieldkit(b, "bundle", "export", str(tmp_path / "b.bundle")).code == 0
    refused = fieldkit(a2, "restore", str(tmp_path / "a.fkbackup"), "--join-code", code)
    assert refused.code == 2
    assert "--from URL" in refused.err
    assert not (a2 / "data").exists()
    back = fieldkit(a2, "restore", str(tmp_path / "a.fkbackup"), "--join-code", code,
                    "--bundle", str(tmp_path / "b.bundle"))  # fmt: skip
    assert back.code == 0, back.err
    assert "its own up to seq 28" in back.out
    assert "its next op is seq 57" in back.out
    assert fieldkit(a2, "import", str(later(tmp_path, "2026-11-20"))).code == 0
    now = ops(a2)
    hub = int(hub_id(fieldkit, b.parent / "a2"), 16)
    assert sorted(s for o, s in now.keys() - lost.keys() if o == hub) == list(range(57, 85))
    assert all(now[i] == body for i, body in lost.items() if i[1] <= 28)  # from the backup
    assert lost.keys() <= now.keys()  # every op ever made is back, none with another body
    assert fieldkit(a2, "key").out == fieldkit(b, "key").out


def test_restoring_over_a_hub_needs_force_and_keeps_that_hub_aside(
    fieldkit: Fieldkit, tmp_path: Path
) -> None:
    a = init(fieldkit, tmp_path / "a", "Hub A")
    assert fieldkit(a, "import", str(SAMPLE)).code == 0
    assert fieldkit(a, "backup", str(tmp_path / "a.fkbackup")).code == 0
    other = init(fieldkit, tmp_path / "other", "New card")  # install.sh made a new hub
    before = ops(other)
    refused = fieldkit(other, "restore", str(tmp_path / "a.fkbackup"), "--no-sync")
    assert refused.code == 1
    assert "already has hub" in refused.err
    assert "--force" in refused.err
    assert ops(other) == before
    key = fieldkit(a, "key").out.strip()
    wrong = fieldkit(other, "restore", str(tmp_path / "a.fkbackup"), "--no-sync", "--force")
    assert wrong.code == 1
    assert "does not open with this network's key" in wrong.err  # the new hub's own key
    done = fieldkit(other, "restore", str(tmp_path / "a.fkbackup"), "--no-sync", "--force",
                    "--network-key", key)  # fmt: skip
    assert done.code == 0, done.err
    assert "warning: not synced" in done.err
    kept = list((other / "data").glob("hub.sqlite3.before-restore-*"))
    assert len(kept) == 1
    assert ops(other) == ops(a)
    assert hub_id(fieldkit, other) == hub_id(fieldkit, a)


def test_a_restore_learns_what_came_after_the_backup_from_a_running_hub_over_http(
    fieldkit: Fieldkit, tmp_path: Path
) -> None:
    a, b = init(fieldkit, tmp_path / "a", "Hub A"), init(fieldkit, tmp_path / "b", "Hub B")
    made = fieldkit(a, "network", "new", "--region", "US")
    code = re.search(r"fkjoin1\.[A-Za-z0-9_-]+", made.out).group(0)  # type: ignore[union-attr]
    assert fieldkit(b, "network", "join", code).code == 0
    assert fieldkit(a, "import", str(SAMPLE)).code == 0
    assert fieldkit(a, "backup", str(tmp_path / "a.fkbackup")).code == 0
    assert fieldkit(a, "import", str(later(tmp_path, "2026-11-19"))).code == 0
    assert fieldkit(a, "bundle", "export", str(tmp_path / "a.bundle")).code == 0
    assert fieldkit(b, "bundle", "import", str(tmp_path / "a.bundle")).code == 0
    a2 = tmp_path / "a2"
    a2.mkdir()
    shutil.copy(a / "fieldkit.toml", a2 / "fieldkit.toml")
    port = free_port()
    with running_hub(b, "127.0.0.1", port):
        back = fieldkit(a2, "restore", str(tmp_path / "a.fkbackup"), "--join-code", code,
                        "--from", f"http://127.0.0.1:{port}")  # fmt: skip
    assert back.code == 0, back.err
    assert "received 28 new ops" in back.out
    assert "its next op is seq 57" in back.out
    assert ops(a2).keys() == ops(a).keys()
