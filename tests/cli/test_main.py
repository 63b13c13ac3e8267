"""The fieldkit command, run in-process as ``main(argv)``; the few things only a real process
shows (an import killed by SIGKILL, the demo's servers) run ``python -m fieldkit``."""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from fieldkit import __version__
from fieldkit.cli.main import build_parser
from tests.cli.conftest import SAMPLE, Fieldkit, free_port
from tests.waiting import wait_until


@pytest.fixture
def hub_dir(tmp_path: Path, fieldkit: Fieldkit) -> Path:
    done = fieldkit(tmp_path, "init", "--name", "St. Mary's", "--area", "riverside=Riverside")
    assert done.code == 0, done.err
    return tmp_path


def test_init_creates_config_database_and_identity_once(hub_dir: Path, fieldkit: Fieldkit) -> None:
    first = json.loads(fieldkit(hub_dir, "status", "--json").out)
    again = fieldkit(hub_dir, "init")
    assert again.code == 0
    assert "kept the existing" in again.out
    assert json.loads(fieldkit(hub_dir, "status", "--json").out)["hub"] == first["hub"]
    assert first["name"] == "St. Mary's"
    assert (hub_dir / "data" / "hub.sqlite3").exists()


def test_import_then_export_round_trips_and_status_counts(
    hub_dir: Path, fieldkit: Fieldkit
) -> None:
    done = fieldkit(hub_dir, "import", str(SAMPLE))
    assert done.code == 0, done.err
    assert done.out.strip() == "28 new, 0 already here, 0 with errors"
    again = fieldkit(hub_dir, "import", str(SAMPLE))
    assert again.out.strip() == "0 new, 28 already here, 0 with errors"
    status = json.loads(fieldkit(hub_dir, "status", "--json").out)
    assert status["records"] == {"need.open": 15, "notice.open": 3, "offer.open": 10}
    assert status["version_vector"] == {status["hub"]: 28}
    exported = [json.loads(line) for line in fieldkit(hub_dir, "export").out.splitlines()]
    originals = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    for original, out in zip(originals, exported, strict=True):
        assert (
            original.items()
            <= {**out, "created_at": out["created_at"].replace(".000Z", "Z")}.items()
        )


def test_a_file_with_bad_lines_imports_the_good_ones_and_names_the_bad(
    hub_dir: Path, fieldkit: Fieldkit
) -> None:
    path = hub_dir / "mixed.jsonl"
    path.write_text(
        '{"kind": "need", "category": "water", "urgency": "critical", "area": "riverside"}\n'
        '{"kind": "need", "category": "gold", "urgency": "critical", "area": "riverside"}\n'
    )
    done = fieldkit(hub_dir, "import", str(path))
    assert done.code == 1
    assert done.out.strip() == "1 new, 0 already here, 1 with errors"
    assert done.err.startswith(f"{path}: line 2: category:")


def test_export_csv_writes_a_header_and_a_row_per_record(hub_dir: Path, fieldkit: Fieldkit) -> None:
    fieldkit(hub_dir, "import", str(SAMPLE))
    lines = fieldkit(hub_dir, "export", "--format", "csv", "--public").out.splitlines()
    assert lines[0].startswith("id,hub,kind,status,created_at,category,urgency")
    assert len(lines) == 29
    assert "555" not in "\n".join(lines)


def test_status_prints_counts_and_the_version_vector(hub_dir: Path, fieldkit: Fieldkit) -> None:
    fieldkit(hub_dir, "import", str(SAMPLE))
    out = fieldkit(hub_dir, "status").out
    assert "needs    open 15" in out
    assert "28  (this hub)" in out


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["frobnicate"], 2, "invalid choice"),
        (["export", "--format", "xml"], 2, "invalid choice"),
        (["import"], 2, "the following arguments are required: file"),
        (["status", "--config", "missing.toml"], 1, "no such file: run `fieldkit init`"),
        (["import", "nowhere.jsonl"], 1, "no such file: nowhere.jsonl"),
        (["init", "--force", "--radio", "usb://x"], 1, "config --radio:"),
        (["export", "-o", "nowhere/out.jsonl"], 1, "cannot write nowhere/out.jsonl"),
        (["bundle", "import", "nowhere.fkb"], 1, "cannot read nowhere.fkb"),
        (["bundle", "export", "--since", "soon", "out.fkb"], 2, "--since: expected a date"),
    ],
)
def test_errors_are_one_line_on_stderr_with_the_right_exit_code(
    hub_dir: Path, fieldkit: Fieldkit, args: list[str], code: int, says: str
) -> None:
    done = fieldkit(hub_dir, *args)
    assert done.code == code
    assert len(done.err.strip().splitlines()) == 1
    assert says in done.err


def test_a_bad_environment_override_names_the_variable(hub_dir: Path, fieldkit: Fieldkit) -> None:
    done = fieldkit(hub_dir, "status", env={"FIELDKIT_WEB_PORT": "http"})
    assert done.code == 1
    assert done.err.startswith("fieldkit: error: config FIELDKIT_WEB_PORT:")


@pytest.mark.parametrize(
    "command",
    [
        "init",
        "run",
        "import",
        "export",
        "status",
        "key",
        "sync",
        "bundle",
        "network",
        "provision",
        "sim",
        "demo",
    ],
)
def test_every_command_has_help(tmp_path: Path, fieldkit: Fieldkit, command: str) -> None:
    done = fieldkit(tmp_path, command, "--help")
    assert done.code == 0
    assert "usage: fieldkit" in done.out


def test_version_prints_and_returns_zero(tmp_path: Path, fieldkit: Fieldkit) -> None:
    done = fieldkit(tmp_path, "--version")
    assert (done.code, done.out) == (0, f"fieldkit {__version__}\n")


def test_the_readme_cli_reference_names_every_command_and_option() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    reference = readme.partition("### CLI reference")[2].partition("\n## ")[0]
    rows = {row.split("`")[1]: row for row in reference.splitlines() if row.startswith("| `")}
    commands = subcommands(build_parser())
    for name, parser in commands.items():
        row = next((row for usage, row in rows.items() if usage.startswith(f"fieldkit {name}")), "")
        assert row, f"README's CLI reference has no row for `fieldkit {name}`"
        for action in parser._actions:
            names = action.option_strings  # e.g. ["-o", "--output"]: the README may use either
            if names and not {"--help", "--config"} & set(names):
                assert any(f"{o} " in row or f"{o}]" in row for o in names), (
                    f"README's row for `fieldkit {name}` lacks {names[-1]}"
                )
    assert len(rows) == len(commands)


def subcommands(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, Any]:
    """Every command that runs something, by name (``bundle export``, not ``bundle``)."""
    found: dict[str, Any] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= subcommands(sub, f"{prefix}{name} ") or {f"{prefix}{name}": sub}
    return found


def test_an_import_killed_midway_loses_nothing_and_duplicates_nothing(
    hub_dir: Path, fieldkit: Fieldkit
) -> None:
    """A real process: only SIGKILL shows that every committed batch is on disk."""
    lines = 10_000
    big = hub_dir / "big.jsonl"
    with big.open("w") as out:
        for i in range(lines):
            line = {"kind": "need", "category": "food", "urgency": "today", "area": "riverside"}
            out.write(json.dumps(line | {"note": f"household {i}"}) + "\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "fieldkit", "import", "--progress", str(big)],
        cwd=hub_dir, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    first_commit = proc.stderr.readline()  # blocks until the first batch is on disk
    assert first_commit.startswith("committed through line")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    db = hub_dir / "data" / "hub.sqlite3"
    with sqlite3.connect(db) as conn:
        partial = conn.execute("SELECT count(*) FROM records").fetchone()[0]
    assert 0 < partial < lines

    done = fieldkit(hub_dir, "import", str(big))
    assert done.code == 0, done.err
    assert done.out.strip() == f"{lines - partial} new, {partial} already here, 0 with errors"
    with sqlite3.connect(db) as conn:
        notes = [
            row[0] for row in conn.execute("SELECT json_extract(body, '$.fields.note') FROM ops")
        ]
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert sorted(notes) == sorted(f"household {i}" for i in range(lines))


def test_the_demo_runs_three_hubs_that_gossip_their_records_to_each_other(
    tmp_path: Path, fieldkit: Fieldkit
) -> None:
    """A real process: the demo's servers and radios run until SIGINT stops them."""
    port = free_port()
    # 30x: the 80 s wait below is 40 minutes of radio time, past the slowest repair the
    # convergence benchmark measures on a line (~13 minutes), inside pytest's 120 s
    command = ["demo", "--dir", str(tmp_path / "demo"), "--port", str(port), "--time-scale", "30"]
    log = tmp_path / "demo.err"  # a file, not a pipe nobody reads while the demo runs
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fieldkit", *command],
            stdout=subprocess.PIPE, stderr=err, text=True,
        )  # fmt: skip
    try:
        assert proc.stdout is not None
        guide = ""
        for line in proc.stdout:  # the guide is printed once every hub is listening
            if "Ctrl-C stops the demo" in line:
                guide = line
                break
        if not guide:
            code = proc.wait(timeout=30)
            pytest.fail(f"the demo ended ({code}) before it was ready: {log.read_text()[-3000:]}")
        assert f"{tmp_path / 'demo'} keeps the hubs" in guide  # where they are, as given

        def statuses() -> list[dict[str, Any]]:
            return [httpx.get(f"http://127.0.0.1:{port + i}/hub/status.json", timeout=10).json()
                    for i in range(3)]  # fmt: skip

        every = wait_until(  # records cross up to two radio hops
            statuses,
            lambda every: all(sum(s["records"].values()) == 28 for s in every),
            timeout=80,
            what="all 28 sample records at each of the three hubs",
            poll=0.5,
        )
        status = every[2]  # the far end
        assert len(status["version_vector"]) == 3
        assert [p["hub"] for p in status["radio"]["peers"]]  # it heard its neighbour
        assert "Boil water order" in httpx.get(f"http://127.0.0.1:{port}/board", timeout=10).text
        hub3 = tmp_path / "demo" / "hub-3" / "fieldkit.toml"
        shown = fieldkit(tmp_path, "status", "--config", str(hub3)).out
        assert "connected, airtime" in shown
        assert "  peer " in shown  # what it heard from its neighbour, and when
    finally:
        proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0
    assert "demo stopped" in out


def test_export_hxl_and_geojson_are_public_and_name_the_unplaced_areas(
    hub_dir: Path, fieldkit: Fieldkit
) -> None:
    fieldkit(hub_dir, "import", str(SAMPLE))
    hxl_lines = fieldkit(hub_dir, "export", "--format", "hxl").out.splitlines()
    assert hxl_lines[1].startswith("#meta+id,#meta+source+code,#meta+type,#item+type")
    assert len(hxl_lines) == 30  # headers, tags, 28 records
    done = fieldkit(hub_dir, "export", "--format", "geojson")
    assert done.code == 0, done.err
    doc = json.loads(done.out)
    assert doc["type"] == "FeatureCollection"
    assert doc["features"] == []
    assert "open records in area 'riverside', which has no centroid" in done.err
    assert "private contact details" not in done.err + "\n".join(hxl_lines)
    assert "555" not in done.out + "\n".join(hxl_lines)
