"""The offline wheelhouse: the pip commands it runs, and a real one installed with no index."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from fieldkit.errors import FieldkitError, UsageError
from fieldkit.provisioning.wheelhouse import (
    LOCK,
    PI_PYTHONS,
    Target,
    build,
    download_command,
    fieldkit_wheels,
    install_commands,
    pi_targets,
    platform_tags,
    source_tree,
)

SOURCE = Path(__file__).parents[2]


def test_a_manylinux_tag_takes_every_older_glibcs_wheels_too() -> None:
    tags = platform_tags("manylinux_2_36_aarch64")
    assert tags[0] == "manylinux_2_36_aarch64"
    assert "manylinux_2_28_aarch64" in tags
    assert tags[-2:] == ("manylinux_2_17_aarch64", "manylinux2014_aarch64")
    assert not any("x86_64" in t or "_2_37_" in t for t in tags)
    assert platform_tags("linux_armv7l") == ("linux_armv7l",)


def test_the_pi_gets_bookworms_and_trixies_python_on_64_bit_arm() -> None:
    assert PI_PYTHONS == ("3.11", "3.13")
    for target in pi_targets():
        command = download_command(["pip"], Path("r.lock"), Path("out"), target)
        assert "--only-binary=:all:" in command
        assert "--require-hashes" in command
        assert command[command.index("--python-version") + 1] == target.python
        platforms = {command[i + 1] for i, a in enumerate(command) if a == "--platform"}
        assert "manylinux2014_aarch64" in platforms
        assert all(p.endswith("_aarch64") for p in platforms)


def test_a_wrong_python_version_is_refused() -> None:
    with pytest.raises(UsageError, match="CPython version"):
        Target(("manylinux_2_36_aarch64",), "311")


def test_a_folder_that_is_not_a_checkout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a fieldkit checkout"):
        source_tree(tmp_path)
    assert source_tree(SOURCE) == SOURCE


def test_a_failing_download_says_which_and_why(tmp_path: Path) -> None:
    def runner(command: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution\n")

    with pytest.raises(FieldkitError, match=r"pip download for CPython 3.11 .*No matching"):
        build(tmp_path / "wh", SOURCE, pi_targets(), runner=runner)
    assert not (tmp_path / "wh" / LOCK).exists()


def _offline_env(home: Path) -> dict[str, str]:
    """No pip configuration, no find-links: the wheelhouse is the only place wheels come from."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, HOME=str(home), PIP_NO_CACHE_DIR="1")
    env.pop("XDG_CONFIG_HOME", None)
    return env


def _this_machine() -> Target:
    libc, version = platform.libc_ver()
    assert libc == "glibc", "the wheelhouse test needs a glibc Linux"
    major, minor = (int(x) for x in version.split(".")[:2])
    assert major == 2
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return Target((f"manylinux_2_{minor}_{platform.machine()}",), python)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_wheelhouse_installs_a_working_fieldkit_with_the_index_disabled(tmp_path: Path) -> None:
    house = tmp_path / "wheelhouse"
    wheels = build(house, SOURCE, [_this_machine()])
    assert (house / LOCK).read_text() == (SOURCE / LOCK).read_text()
    assert len(fieldkit_wheels(house)) == 1
    assert all(w.suffix == ".whl" for w in wheels)
    env = _offline_env(tmp_path)
    target = tmp_path / "venv"
    venv.create(target, with_pip=True, system_site_packages=False)
    python = target / "bin" / "python"
    for command in install_commands(python, house):
        assert "--no-index" in command
        subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    # The installed fieldkit works from its own venv: a hub is set up and answers its status.
    fieldkit = target / "bin" / "fieldkit"
    hub = tmp_path / "hub"
    subprocess.run([fieldkit, "init", "--dir", hub, "--name", "Offline"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    status = subprocess.run(
        [fieldkit, "--config", hub / "fieldkit.toml", "status"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert "Offline" in status
    config = hub / "fieldkit.toml"
    rendered = subprocess.run(
        [fieldkit, "--config", config, "provision", "render", "--out", tmp_path / "r"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert "sysusers.d/fieldkit.conf" in rendered  # templates travelled in the wheel
