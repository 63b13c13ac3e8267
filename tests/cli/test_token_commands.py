"""``fieldkit token create|list|revoke`` and ``fieldkit notice``: tokens are shown once and kept
hashed; a notice is a record of kind notice with its coordinator in the audit trail."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Fieldkit


@pytest.fixture
def hub_dir(tmp_path: Path, fieldkit: Fieldkit) -> Path:
    done = fieldkit(tmp_path, "init", "--name", "St. Mary's", "--area", "riverside=Riverside")
    assert done.code == 0, done.err
    return tmp_path


def _meta(hub_dir: Path) -> str:
    with sqlite3.connect(hub_dir / "data" / "hub.sqlite3") as db:
        return " ".join(v for (v,) in db.execute("SELECT value FROM meta"))


def test_a_token_is_printed_once_and_the_hub_keeps_only_its_hash(
    hub_dir: Path, fieldkit: Fieldkit
) -> None:
    made = fieldkit(hub_dir, "token", "create", "dispatch desk")
    assert made.code == 0, made.err
    token = made.out.splitlines()[0]
    assert token.startswith("fkt_")
    assert len(token) > 40
    assert token not in _meta(hub_dir)
    assert "dispatch desk" in _meta(hub_dir)
    listed = fieldkit(hub_dir, "token", "list")
    assert "dispatch desk" in listed.out
    assert token not in listed.out
    other = fieldkit(hub_dir, "token", "create", "runner app").out.splitlines()[0]
    assert other != token


def test_a_second_token_with_the_same_name_is_refused(hub_dir: Path, fieldkit: Fieldkit) -> None:
    assert fieldkit(hub_dir, "token", "create", "desk").code == 0
    again = fieldkit(hub_dir, "token", "create", "desk")
    assert again.code == 2
    assert "exists" in again.err


def test_revoking_forgets_the_token_and_an_unknown_name_is_an_error(
    hub_dir: Path, fieldkit: Fieldkit
) -> None:
    assert fieldkit(hub_dir, "token", "create", "desk").code == 0
    assert fieldkit(hub_dir, "token", "revoke", "desk").code == 0
    assert "desk" not in fieldkit(hub_dir, "token", "list").out
    missing = fieldkit(hub_dir, "token", "revoke", "desk")
    assert missing.code == 1
    assert "no API token called 'desk'" in missing.err


def test_a_notice_is_posted_for_an_area_with_its_coordinator_in_the_audit_trail(
    hub_dir: Path, fieldkit: Fieldkit
) -> None:
    done = fieldkit(
        hub_dir, "notice", "--category", "water", "--area", "Riverside", "--by", "Ana",
        "Water distribution at St. Mary's, 2-6 pm",
    )  # fmt: skip
    assert done.code == 0, done.err
    rid = done.out.split()[2]
    shown = json.loads(fieldkit(hub_dir, "show", rid, "--json").out)
    assert shown["kind"] == "notice"
    assert shown["area"] == "riverside"  # the area's name maps onto its id
    assert shown["note"] == "Water distribution at St. Mary's, 2-6 pm"
    assert [h["by"] for h in shown["history"]] == ["Ana"]
    board = fieldkit(hub_dir, "records", "--kind", "notice", "--json")
    assert [json.loads(line)["id"] for line in board.out.splitlines()] == [rid]


def test_a_notice_without_words_is_refused_naming_the_field(
    hub_dir: Path, fieldkit: Fieldkit
) -> None:
    done = fieldkit(hub_dir, "notice", "--category", "water", "--area", "riverside", "  ")
    assert done.code == 1
    assert "text:" in done.err
    assert fieldkit(hub_dir, "records", "--kind", "notice").out == ""


def test_token_creates_run_at_once_in_separate_processes_keep_every_token(hub_dir: Path) -> None:
    """Each create reads and rewrites the token list in one write transaction: eight commands
    started together (as from two terminals and a script) all keep their token."""
    names = [f"desk {i}" for i in range(8)]
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "fieldkit", "token", "create", name],
            cwd=hub_dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name in names
    ]
    for run in runs:
        _, err = run.communicate(timeout=60)
        assert run.returncode == 0, err
    stored = json.loads(
        sqlite3.connect(hub_dir / "data" / "hub.sqlite3")
        .execute("SELECT value FROM meta WHERE key = 'api_tokens'")
        .fetchone()[0]
    )
    assert sorted(stored) == names
