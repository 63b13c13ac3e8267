"""The sync benchmarks run with one command and print `name: value` lines (figures are theirs
to report; here only what must hold whatever the machine: nothing lost, in-sync in one frame)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

#: Each benchmark may take up to 300 s on a busy machine (the subprocess timeout below).
pytestmark = pytest.mark.timeout(360)

BENCH = Path(__file__).parents[1] / "bench"


def run(script: str, *args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    lines = [line.split(": ", 1) for line in done.stdout.splitlines()
             if ": " in line and not line.startswith("#")]  # fmt: skip
    return {name: float(value) for name, value in lines}


def test_convergence_loses_nothing_and_confirms_sync_in_one_frame_each() -> None:
    out = run("convergence.py", "--records", "40", "--hours", "0.5")
    assert out["line5_gossip_ops_missing"] == 0
    assert out["mesh10_gossip_ops_missing"] == 0
    assert out["in_sync_frames_each"] == 1
    assert out["in_sync_data_bytes"] == 0
    assert "mesh10_airtime_ratio_vs_json_flooding" in out


def test_runner_reports_ops_and_critical_ops_crossed_beside_the_ideal() -> None:
    out = run("runner.py", "--ops", "100", "--contact", "30")
    assert 0 < out["ops_crossed"] <= 100
    assert out["critical_crossed"] <= out["critical_ops"]
    assert out["ops_crossed_over_ideal"] > 0


def test_scale_reports_every_figure_and_board_counts_equal_the_export() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "scale.py"), "--sizes", "300", "--requests", "20"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    rows = dict(line.split(None, 1) for line in done.stdout.splitlines() if line[:1] != "#")
    assert done.returncode == 0, done.stdout + done.stderr
    assert rows["counts_exact"].strip() == "yes"
    assert int(rows["records"]) == 300
    for page in ("home", "board", "status", "hub_status"):
        assert float(rows[f"{page}_p99_over_static"]) > 0
    assert float(rows["bundle_peak_rss_mb"]) > 0


def test_console_signs_in_and_times_every_page() -> None:
    out = run("console.py", "--records", "300", "--requests", "10")
    assert out["records"] == 300
    for page in ("needs", "offers", "filtered", "text", "need_detail", "hub_status"):
        assert out[f"{page}_p99_over_static"] > 0


def test_a_clouds_console_signs_in_with_an_account_and_times_every_page(tmp_path: Path) -> None:
    out = run("console.py", "--cloud", f"sqlite:///{tmp_path}/cloud.sqlite3", "--records", "300",
              "--requests", "10")  # fmt: skip
    assert out["records"] == 300
    for page in ("needs", "offers", "filtered", "text", "need_detail", "by_hub"):
        assert out[f"{page}_p99_over_static"] > 0
    assert "hub_status_p99_ms" not in out  # a cloud has no radio


def test_the_fuzzer_tries_every_target_and_nothing_crashes() -> None:
    out = run("fuzz.py", "--engine", "hypothesis", "--cases", "200")
    for target in ("codec", "node", "bundle", "form"):
        assert out[f"{target}_cases"] >= 40
    assert out["crashes"] == 0
    assert out["node_still_answers"] == out["node_cases"]
    assert out["codec_decoded"] > 0  # the mutations also reach frames that decode


def test_the_bulk_fuzzer_mutates_the_corpus_deep_into_every_target() -> None:
    """The engine of the 1,000,000-case run (seeded mutations, no hypothesis): its cases
    reach past every check into what decodes, parses and is taken, and nothing crashes."""
    out = run("fuzz.py", "--each", "3000", "--seed", "3")
    for target in ("codec", "node", "bundle", "form"):
        assert out[f"{target}_cases"] == 3000
    assert out["crashes"] == 0
    assert out["codec_decoded"] > 0
    assert out["bundle_read"] > 0  # altered bundles re-signed: the reader parses them
    assert out["form_draft"] > 0
    assert out["form_invalid"] > 0
    assert out["node_still_answers"] > 0
    assert len([k for k in out if k.startswith("codec_reason_")]) >= 6  # deep and wide


def test_the_codec_fuzzer_runs_with_hypothesis() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "fuzz_codec.py"), "--hypothesis", "200"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "inputs_tried: " in done.stderr


def test_soak_loses_nothing_and_stays_flat() -> None:
    """A short soak (bench/soak.py: three hubs on lossy radios, steady residents): every
    acknowledged submission stored once at its hub and at every hub, no error logged, and
    memory and open files no more than a little above the first sample's."""
    out = run("soak.py", "--minutes", "0.4", "--sample-s", "6", "--time-scale", "30",
              "--loss", "0.1", "--rate", "2", "--settle", "90")  # fmt: skip
    assert out["acknowledged"] > 10
    assert out["acknowledged"] == out["submissions"]
    assert out["acknowledged_lost"] == 0
    assert out["not_converged"] == 0
    assert out["duplicated"] == 0
    assert out["errors_logged"] == 0
    assert out["rss_ratio_vs_first"] < 1.5
    assert out["fds_ratio_vs_first"] < 1.5
    assert out["samples"] >= 4
    assert 0 < out["sqlite_heap_last_mb"] < out["rss_last_mb"]  # the hubs' process reports
    assert out["python_blocks_last"] > 0  # its heap, so growth can be told apart


def test_the_cloud_bench_stores_every_op_once_and_resends_nothing_after_a_cut() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "cloud.py"), "--ops", "2000", "--hubs", "2", "--only",
         "sqlite"], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    result = dict(part.split("=", 1) for part in line.split()[1:])
    assert result["held"] == result["ops"] == "2000"
    assert result["complete"] == "yes"
    assert int(result["resent"]) == 0
    assert 0 < int(result["landed"]) < int(result["cut_ops"])
    assert float(result["ratio"]) > 0
    assert int(result["requests"]) == 2 * 2  # per hub: a hello, then one page of pushes
