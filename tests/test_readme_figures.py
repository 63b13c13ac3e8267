"""README figures are the benchmarks' own: each table is rendered from a saved run."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
#: (benchmark, saved output, the command that prints the table)
TABLES = [
    ("scale.py", "scale-output.txt", "markdown_table"),
    ("airtime.py", "airtime-output.txt", "markdown_table"),
    ("convergence.py", "convergence-city-output.txt", "city_table"),
    ("soak.py", "soak-output.txt", "markdown_table"),
    ("cloud.py", "cloud-output.txt", "markdown_table"),
    ("console.py", "console-output.txt", "markdown_table"),
    ("console.py", "console-cloud-output.txt", "markdown_table"),
]


def bench(script: str) -> ModuleType:
    import sys

    sys.path.insert(0, str(ROOT / "bench"))  # the benchmarks import their neighbours
    spec = importlib.util.spec_from_file_location(f"bench_{script[:-3]}", ROOT / "bench" / script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("script", "saved", "render"), TABLES)
def test_the_readme_table_is_the_saved_runs_table(script: str, saved: str, render: str) -> None:
    table = getattr(bench(script), render)((ROOT / "bench" / saved).read_text())
    assert table in README.read_text(), (
        f"README's table differs from bench/{saved}; paste the output of "
        f"`.venv/bin/python bench/{script} --table bench/{saved}`"
    )


def test_the_saved_scale_run_counted_exactly_at_every_size() -> None:
    columns = bench("scale.py").parse_output((ROOT / "bench" / "scale-output.txt").read_text())
    assert columns, "bench/scale-output.txt holds no run"
    assert all(column["counts_exact"] == "yes" for column in columns)


def test_the_whole_fuzz_run_tried_a_million_cases_a_target_and_the_readme_says_so() -> None:
    saved = dict(
        line.split(": ", 1)
        for line in (ROOT / "bench" / "fuzz-1m-output.txt").read_text().splitlines()
        if ": " in line
    )
    targets = ("codec", "node", "bundle", "form")
    assert all(int(saved[f"{t}_cases"]) >= 1_000_000 for t in targets)
    assert saved["crashes"] == "0"
    minutes = sum(float(saved[f"{t}_seconds"]) for t in targets) / 60
    assert f"for each of the four targets in {minutes:.1f} minutes, 0 crashes" in README.read_text()
