"""The lock file pins every dependency for the hubs in the field, not only for this machine."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
LOCK = tomllib.loads((ROOT / "uv.lock").read_text())
PACKAGES = {p["name"]: p for p in LOCK["package"]}
PI_PYTHONS = ("cp311", "cp313")  # Raspberry Pi OS Bookworm and Trixie


def _compiled(package: dict[str, object]) -> list[str]:
    wheels = package.get("wheels", [])
    assert isinstance(wheels, list)
    names = [str(w["url"]).rsplit("/", 1)[-1] for w in wheels]
    return [n for n in names if not n.endswith("-none-any.whl")]


def _fits(wheel: str, python: str, machine: str) -> bool:
    tags = wheel.removesuffix(".whl").split("-")[-3:]
    py, abi, plat = tags
    python_ok = python in py.split(".") or ("abi3" in abi and py[:3] == "cp3" and py <= python)
    return python_ok and "linux" in plat and machine in plat


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
@pytest.mark.parametrize("python", PI_PYTHONS)
def test_every_compiled_dependency_has_a_wheel_for_the_pi(python: str, machine: str) -> None:
    runtime = _runtime_closure()
    missing = [
        name
        for name in runtime
        if (wheels := _compiled(PACKAGES[name]))
        and not any(_fits(w, python, machine) for w in wheels)
        and not PACKAGES[name].get("sdist")
    ]
    assert missing == []


def _runtime_closure() -> set[str]:
    project = PACKAGES["fieldkit"]
    todo = [d["name"] for d in project.get("dependencies", [])]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [d["name"] for d in PACKAGES[name].get("dependencies", [])]
    return seen


def test_the_lock_pins_every_package_with_a_hash() -> None:
    for lock in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / lock).read_text()
        pins = re.findall(r"^([A-Za-z0-9_.-]+)==\S+", text, flags=re.M)
        assert pins, lock
        entries = re.split(
            r"\n(?=[A-Za-z0-9_.-]+==)", text.split("\n", 1)[1] if text.startswith("#") else text
        )
        assert all("--hash=sha256:" in e for e in entries if "==" in e), lock


def test_the_hub_lock_holds_what_a_hub_runs() -> None:
    pins = set(re.findall(r"^([a-z0-9_.-]+)==", (ROOT / "requirements.lock").read_text(), re.M))
    assert {"starlette", "uvicorn", "meshtastic", "aiosqlite", "jinja2"} <= pins
    assert "pytest" not in pins
