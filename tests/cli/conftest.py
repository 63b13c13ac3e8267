"""The fieldkit command run in-process: ``main(argv)`` with its output captured."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from fieldkit.cli.main import main
from tests.waiting import until_listening

SAMPLE = Path(__file__).parents[2] / "fieldkit" / "data" / "sample.jsonl"


@dataclass(frozen=True)
class Done:
    """What one command did: its exit code and what it printed."""

    code: int
    out: str
    err: str


#: ``fieldkit(cwd, *args, env=...)``: run one command in ``cwd`` with ``FIELDKIT_*`` from
#: ``env`` only (never the developer's own environment).
Fieldkit = Callable[..., Done]


@pytest.fixture
def fieldkit(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Fieldkit:
    def run(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> Done:
        monkeypatch.chdir(cwd)
        capsys.readouterr()  # what came before is not this command's
        code = main(list(args), env=dict(env or {}))
        out, err = capsys.readouterr()
        return Done(code, out, err)

    return run


def free_port() -> int:
    """A TCP port nobody listens on now (for a server started by the test)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_hub(hub: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    """``fieldkit run ARGS`` at ``hub`` until the block ends, from the moment uvicorn listens.

    A hub that exits before listening fails the test with its log; afterwards its log is
    drained, or a chatty hub would block once the pipe is full.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "fieldkit", "run", *args],
        cwd=hub, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        until_listening(proc)
        yield proc
    finally:
        proc.terminate()  # as systemd stops it
        proc.wait(timeout=30)
