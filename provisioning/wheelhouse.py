"""A wheelhouse: every locked dependency and fieldkit itself as wheels, to install with no internet.

``fieldkit provision wheelhouse DIR`` runs, on a machine with internet and a fieldkit checkout,
``pip download`` of ``requirements.lock`` once per target Python (binary wheels only, for the
Pi's platform, each checked against the lock's hashes), ``pip wheel`` of fieldkit itself, and
copies the lock and ``install.sh`` beside them. ``install.sh --offline DIR`` (and
:func:`install_commands`) then installs from DIR alone: ``pip install --no-index
--require-hashes -r DIR/requirements.lock`` and the fieldkit wheel.

The default target is a Raspberry Pi on 64-bit Raspberry Pi OS: aarch64 with glibc 2.36
(Bookworm; Trixie's is newer and takes the same wheels), CPython 3.11 (Bookworm) and 3.13
(Trixie). The commands are built here (pure); :func:`build` runs them through the runner it is
given.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fieldkit.errors import FieldkitError, UsageError

LOCK = "requirements.lock"
INSTALLER = "install.sh"  # provisioning/install.sh, copied into the wheelhouse
#: Bookworm's glibc (every older manylinux wheel runs there too: see :func:`platform_tags`).
PI_PLATFORM = "manylinux_2_36_aarch64"
_MANYLINUX = re.compile(r"manylinux_2_(\d+)_(\w+)")
_OLDEST_GLIBC = 17  # manylinux2014's, the oldest tag wheels for aarch64 have
PI_PYTHONS = ("3.11", "3.13")  # Bookworm's, Trixie's


@dataclass(frozen=True)
class Target:
    """What the wheels are for: pip ``--platform`` tags and a CPython version (``3.11``)."""

    platforms: tuple[str, ...]
    python: str

    def __post_init__(self) -> None:
        major, _, minor = self.python.partition(".")
        if not (major == "3" and minor.isdigit()):
            raise UsageError(f"--python is a CPython version like 3.11, not {self.python!r}")
        if not self.platforms:
            raise UsageError("--platform: at least one platform tag")


def platform_tags(tag: str) -> tuple[str, ...]:
    """``tag`` and every platform tag whose wheels also run there (pip does not expand them).

    ``manylinux_2_36_aarch64`` is glibc 2.36 or newer: wheels for 2.35, …, 2.17 (alias
    ``manylinux2014``) run there as well. Any other tag is taken as it is.
    """
    match = _MANYLINUX.fullmatch(tag)
    if match is None:
        return (tag,)
    newest, arch = int(match[1]), match[2]
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(newest, _OLDEST_GLIBC - 1, -1)]
    return (*tags, f"manylinux2014_{arch}") if newest >= _OLDEST_GLIBC else (tag,)


def pi_targets() -> tuple[Target, ...]:
    return tuple(Target((PI_PLATFORM,), python) for python in PI_PYTHONS)


def download_command(pip: Sequence[str], lock: Path, out: Path, target: Target) -> list[str]:
    """``pip download`` of every locked dependency as wheels for ``target``."""
    tags = dict.fromkeys(t for tag in target.platforms for t in platform_tags(tag))
    platforms = [arg for tag in tags for arg in ("--platform", tag)]
    return [
        *pip, "download", "--only-binary=:all:", "--no-deps", "--require-hashes",
        "--implementation", "cp", "--python-version", target.python, *platforms,
        "--dest", str(out), "-r", str(lock),
    ]  # fmt: skip


def wheel_command(pip: Sequence[str], source: Path, out: Path) -> list[str]:
    """``pip wheel`` of fieldkit itself (pure Python: one wheel for every target)."""
    return [*pip, "wheel", "--no-deps", "--wheel-dir", str(out), str(source)]


def install_commands(venv_python: Path, wheelhouse: Path) -> list[list[str]]:
    """Installing from a wheelhouse into a venv, with the network index disabled."""
    pip = [str(venv_python), "-m", "pip", "install", "--no-index", "--find-links", str(wheelhouse)]
    return [
        [*pip, "--require-hashes", "--only-binary=:all:", "-r", str(wheelhouse / LOCK)],
        [*pip, "--no-deps", *(str(w) for w in fieldkit_wheels(wheelhouse))],
    ]


def fieldkit_wheels(wheelhouse: Path) -> list[Path]:
    return sorted(wheelhouse.glob("fieldkit-*.whl"))


def source_tree(given: Path | None = None) -> Path:
    """The fieldkit checkout to build from: ``given``, or the one this fieldkit runs from."""
    import fieldkit

    root = given if given is not None else Path(fieldkit.__file__).resolve().parents[1]
    pyproject = root / "pyproject.toml"
    if not (pyproject.is_file() and (root / LOCK).is_file()):
        raise UsageError(
            f"{root} is not a fieldkit checkout (no pyproject.toml and {LOCK}): run this from "
            "one, or name it with --source DIR"
        )
    if 'name = "fieldkit"' not in pyproject.read_text(encoding="utf-8"):
        raise UsageError(f"{pyproject} is not fieldkit's")
    return root


Runner = Callable[[list[str]], subprocess.CompletedProcess[str]]


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False)


def build(
    out: Path,
    source: Path,
    targets: Sequence[Target],
    *,
    pip: Sequence[str] = (sys.executable, "-m", "pip"),
    runner: Runner = run,
) -> list[Path]:
    """Fill ``out`` with the wheels for ``targets``; returns every wheel in it."""
    out.mkdir(parents=True, exist_ok=True)
    for old in fieldkit_wheels(out):  # one fieldkit wheel: the one built now
        old.unlink()
    steps = [
        (f"pip download for CPython {t.python}", download_command(pip, source / LOCK, out, t))
        for t in targets
    ]
    steps.append(("pip wheel of fieldkit", wheel_command(pip, source, out)))
    for what, command in steps:
        proc = runner(command)
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            why = lines[-1] if lines else f"exit {proc.returncode}"
            raise FieldkitError(f"{what} failed: {why}")
    shutil.copyfile(source / LOCK, out / LOCK)
    shutil.copy2(source / "provisioning" / INSTALLER, out / INSTALLER)  # keeps it executable
    return sorted(out.glob("*.whl"))
