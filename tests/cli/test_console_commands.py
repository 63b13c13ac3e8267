"""The console's actions on the command line: passphrase, records, show, match, set-status,
redact."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest

from fieldkit.cli.console_commands import read_passphrase
from fieldkit.errors import UsageError
from tests.cli.conftest import SAMPLE, Fieldkit


@pytest.fixture
def hub_dir(tmp_path: Path, fieldkit: Fieldkit) -> Path:
    assert fieldkit(tmp_path, "init", "--name", "St. Mary's").code == 0
    assert fieldkit(tmp_path, "import", str(SAMPLE)).code == 0
    return tmp_path


def listed(fieldkit: Fieldkit, hub_dir: Path, *args: str) -> list[dict[str, object]]:
    done = fieldkit(hub_dir, "records", "--json", *args)
    assert done.code == 0, done.err
    return [json.loads(line) for line in done.out.splitlines()]


def test_a_passphrase_is_read_from_piped_input_and_must_be_long_enough() -> None:
    assert read_passphrase(io.StringIO("a long passphrase\nignored\n")) == "a long passphrase"
    with pytest.raises(UsageError, match="at least 10"):
        read_passphrase(io.StringIO("short\n"))


def test_status_shows_the_certificate_fingerprint_and_whether_a_passphrase_is_set(
    hub_dir: Path, fieldkit: Fieldkit, monkeypatch: pytest.MonkeyPatch
) -> None:
    status = json.loads(fieldkit(hub_dir, "status", "--json").out)["console"]
    assert status["url"] == "https://127.0.0.1:8443/"
    assert len(status["fingerprint"].split(":")) == 32
    assert status["passphrase_set"] is False
    assert "NO PASSPHRASE" in fieldkit(hub_dir, "status").out
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert fieldkit(hub_dir, "passphrase").code == 0
    after = fieldkit(hub_dir, "status")
    assert status["fingerprint"] in after.out
    assert "NO PASSPHRASE" not in after.out
    with sqlite3.connect(hub_dir / "data" / "hub.sqlite3") as db:
        stored = " ".join(v for (v,) in db.execute("SELECT value FROM meta"))
    assert "correct horse battery" not in stored


def test_records_lists_most_urgent_first_and_filters(hub_dir: Path, fieldkit: Fieldkit) -> None:
    needs = listed(fieldkit, hub_dir, "--kind", "need")
    assert len(needs) == 15
    order = ["critical", "today", "this_week", "flexible"]
    ranks = [order.index(str(n["urgency"])) for n in needs]
    assert ranks == sorted(ranks)
    water = listed(fieldkit, hub_dir, "--kind", "need", "--category", "water")
    assert water
    assert {w["category"] for w in water} == {"water"}
    assert listed(fieldkit, hub_dir, "--status", "fulfilled") == []
    plain = fieldkit(hub_dir, "records", "--kind", "offer")
    assert len(plain.out.splitlines()) == 10


def test_match_and_set_status_show_up_in_the_history_with_who_did_it(
    hub_dir: Path, fieldkit: Fieldkit
) -> None:
    need = listed(fieldkit, hub_dir, "--kind", "need", "--category", "water")[0]
    offer = listed(fieldkit, hub_dir, "--kind", "offer", "--category", "water")[0]
    done = fieldkit(hub_dir, "match", str(need["id"]), str(offer["id"]),
                    "--message", "St. Mary's, 2-6 pm", "--by", "Ana")  # fmt: skip
    assert done.code == 0, done.err
    assert fieldkit(hub_dir, "set-status", str(need["id"]), "fulfilled", "--by", "Ben").code == 0
    shown = json.loads(fieldkit(hub_dir, "show", str(need["id"]), "--json").out)
    assert shown["status"] == "fulfilled"
    ops = [(h["op"], h["by"], h.get("message", "")) for h in shown["history"]]
    assert ops == [("create", "", ""), ("match", "Ana", "St. Mary's, 2-6 pm"),
                   ("setstatus", "Ben", "")]  # fmt: skip
    text = fieldkit(hub_dir, "show", str(offer["id"])).out
    assert "match" in text
    assert "by Ana" in text


def test_bad_ids_and_actions_are_refused_with_one_line(hub_dir: Path, fieldkit: Fieldkit) -> None:
    assert fieldkit(hub_dir, "show", "nonsense").code == 2
    missing = fieldkit(hub_dir, "show", "0000beef-1")
    assert missing.code == 1
    assert "no record" in missing.err
    offer = listed(fieldkit, hub_dir, "--kind", "offer")[0]["id"]
    need = listed(fieldkit, hub_dir, "--kind", "need")[0]["id"]
    wrong_way = fieldkit(hub_dir, "match", str(offer), str(need))
    assert wrong_way.code == 1
    assert "a match pairs a need with an offer" in wrong_way.err
    assert fieldkit(hub_dir, "match", str(need), str(offer), "--message", "x" * 201).code == 2


def test_redact_erases_the_note_and_keeps_who_did_it_in_the_history(
    hub_dir: Path, fieldkit: Fieldkit
) -> None:
    need = next(n for n in listed(fieldkit, hub_dir, "--kind", "need") if n["note"])
    done = fieldkit(hub_dir, "redact", str(need["id"]), "--by", "Ana")
    assert done.code == 0, done.err
    assert "personal data redacted" in done.out
    shown = json.loads(fieldkit(hub_dir, "show", str(need["id"]), "--json").out)
    assert shown["note"] == ""
    assert (shown["history"][-1]["op"], shown["history"][-1]["by"]) == ("redact", "Ana")
