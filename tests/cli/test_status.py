"""``fieldkit status`` finds the running hub on whatever port it was started with
(issue 11, finding 7)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from tests.cli.conftest import Fieldkit, free_port, running_hub
from tests.waiting import wait_until


def test_status_finds_a_hub_started_with_another_port(tmp_path: Path, fieldkit: Fieldkit) -> None:
    hub_dir = tmp_path / "hub"
    fieldkit(tmp_path, "init", "--dir", str(hub_dir), "--name", "St. Mary's")
    assert json.loads(fieldkit(hub_dir, "status", "--json").out)["running"] is None
    port = free_port()  # not the configured 8080
    with running_hub(hub_dir, "--port", str(port)):
        status = wait_until(
            lambda: json.loads(fieldkit(hub_dir, "status", "--json").out),
            lambda s: s["running"] is not None,
            timeout=30, what="status to find the running hub",
        )  # fmt: skip
        assert status["running"] == f"http://127.0.0.1:{port}"
        assert status["clock"]["disagrees"] is False  # the running hub's own view
    assert json.loads(fieldkit(hub_dir, "status", "--json").out)["running"] is None
    assert not (hub_dir / "data" / "running.json").exists()


def test_a_killed_hub_is_not_reported_running(tmp_path: Path, fieldkit: Fieldkit) -> None:
    hub_dir = tmp_path / "hub"
    fieldkit(tmp_path, "init", "--dir", str(hub_dir))
    # any free port: the file names the real one
    with running_hub(hub_dir, "--port", "0") as proc:
        running = hub_dir / "data" / "running.json"
        wait_until(running.exists, timeout=30, what="the running hub to say where it listens")
        url = json.loads(running.read_text())["url"]
        assert not url.endswith(":0")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert json.loads(fieldkit(hub_dir, "status", "--json").out)["running"] is None
