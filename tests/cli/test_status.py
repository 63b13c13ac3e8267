"""``fieldkit status`` finds the running hub on whatever port it was started with
(issue 11, finding 7)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import Fieldkit, free_port
from tests.waiting import wait_until


def serve(hub_dir: Path, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fieldkit", "run", *args],
        cwd=hub_dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    for line in proc.stderr:  # uvicorn says when it is listening
        if "Uvicorn running on" in line:
            break
    return proc


def test_status_finds_a_hub_started_with_another_port(tmp_path: Path, fieldkit: Fieldkit) -> None:
    hub_dir = tmp_path / "hub"
    fieldkit(tmp_path, "init", "--dir", str(hub_dir), "--name", "St. Mary's")
    assert json.loads(fieldkit(hub_dir, "status", "--json").out)["running"] is None
    port = free_port()  # not the configured 8080
    proc = serve(hub_dir, "--port", str(port))
    try:
        status = wait_until(
            lambda: json.loads(fieldkit(hub_dir, "status", "--json").out),
            lambda s: s["running"] is not None,
            timeout=30, what="status to find the running hub",
        )  # fmt: skip
        assert status["running"] == f"http://127.0.0.1:{port}"
        assert status["clock"]["disagrees"] is False  # the running hub's own view
    finally:
        proc.terminate()  # as systemd stops it
        proc.communicate(timeout=30)
    assert json.loads(fieldkit(hub_dir, "status", "--json").out)["running"] is None
    assert not (hub_dir / "data" / "running.json").exists()


def test_a_killed_hub_is_not_reported_running(tmp_path: Path, fieldkit: Fieldkit) -> None:
    hub_dir = tmp_path / "hub"
    fieldkit(tmp_path, "init", "--dir", str(hub_dir))
    proc = serve(hub_dir, "--port", "0")  # any free port: the file names the real one
    try:
        running = hub_dir / "data" / "running.json"
        wait_until(running.exists, timeout=30, what="the running hub to say where it listens")
        url = json.loads(running.read_text())["url"]
        assert not url.endswith(":0")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    assert json.loads(fieldkit(hub_dir, "status", "--json").out)["running"] is None
