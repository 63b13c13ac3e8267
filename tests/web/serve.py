"""Running a real hub for end-to-end tests: `fieldkit init` then `fieldkit run` (uvicorn)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

AREAS = ("riverside=Riverside", "downtown=Downtown", "hillside=Hillside")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def init_hub(root: Path, name: str = "St. Mary's hub") -> Path:
    config = root / "fieldkit.toml"
    areas = [arg for area in AREAS for arg in ("--area", area)]
    subprocess.run(
        [sys.executable, "-m", "fieldkit", "init", "--dir", str(root), "--name", name, *areas],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return config


@contextmanager
def running_hub(
    root: Path, host: str, port: int, prefix: Sequence[str] = (), console_port: int | None = None
) -> Iterator[subprocess.Popen[str]]:
    """`fieldkit run` until the block ends; returns once uvicorn says it is listening. The
    coordinator console gets ``console_port`` (default: a free port, never another hub's)."""
    config = init_hub(root)
    env = {
        **os.environ, "FIELDKIT_WEB_HOST": host, "FIELDKIT_WEB_PORT": str(port),
        "FIELDKIT_WEB_CONSOLE_PORT": str(console_port or free_port()),
    }  # fmt: skip
    proc = subprocess.Popen(
        [*prefix, sys.executable, "-m", "fieldkit", "--config", str(config), "run"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:  # uvicorn says when it is listening
            seen.append(line)
            if "Uvicorn running on" in line:
                break
        else:
            raise AssertionError("fieldkit run did not start:\n" + "".join(seen))
        # keep reading its log, or the server blocks once the pipe is full
        threading.Thread(target=proc.stderr.read, daemon=True).start()
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
