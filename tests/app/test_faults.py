"""Faults as tests (issue 11): `fieldkit run` killed with SIGKILL at 20 random moments while
20 residents submit at once loses no acknowledged submission and duplicates none; the
database passes ``PRAGMA integrity_check`` and its version vector, counters and indexes agree
with its log. The longer run is ``bench/faults.py`` (25 kills, 50 residents by default)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(600)

BENCH = Path(__file__).parents[2] / "bench" / "faults.py"


def test_sigkill_at_random_moments_loses_and_duplicates_no_acknowledged_submission(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--kills", "20", "--residents", "20", "--seed", "11",
         "--dir", str(tmp_path)],
        capture_output=True, text=True, timeout=540, check=True,
    )  # fmt: skip
    out = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    assert int(out["kills"]) == 20
    assert int(out["posts_cut_off_by_a_kill"]) > 0  # the kills hit submissions in flight
    assert int(out["acknowledged_between_kills"]) > 0
    assert int(out["acknowledged"]) == int(out["submissions_attempted"]) > 20
    assert int(out["stored"]) == int(out["acknowledged"])
    assert int(out["acknowledged_lost"]) == 0
    assert int(out["duplicated"]) == 0
    assert int(out["wrong_reference_code"]) == 0
    assert int(out["integrity_ok"]) == 1
    assert int(out["consistency_problems"]) == 0, done.stderr
