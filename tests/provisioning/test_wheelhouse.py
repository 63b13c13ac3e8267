"""The offline wheelhouse: the pip commands it runs, and a real one installed with no index."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from fieldkit.errors import FieldkitError, UsageError
from fieldkit.provisioning.wheelhouse import (
    INSTALLER,
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


@pytest.fixture(scope="module")
def house(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real wheelhouse for this machine (from the package index; once for the module)."""
    out = tmp_path_factory.mktemp("wheelhouse")
    build(out, SOURCE, [_this_machine()])
    return out


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_wheelhouse_installs_a_working_fieldkit_with_the_index_disabled(
    tmp_path: Path, house: Path
) -> None:
    assert (house / LOCK).read_text() == (SOURCE / LOCK).read_text()
    assert os.access(house / INSTALLER, os.X_OK)  # the stick carries its installer
    assert len(fieldkit_wheels(house)) == 1
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
    config = hub / "fieldkit.toml"
    status = subprocess.run(
        [fieldkit, "--config", config, "status"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert "Offline" in status
    rendered = subprocess.run(
        [fieldkit, "--config", config, "provision", "render", "--out", tmp_path / "r"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert "sysusers.d/fieldkit.conf" in rendered  # templates travelled in the wheel


# --- install.sh -------------------------------------------------------------------------------

SCRIPT = SOURCE / "provisioning" / INSTALLER


def install_sh(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", SCRIPT, "--any-os", *args], env=env, capture_output=True, text=True,
        check=False, timeout=600,
    )  # fmt: skip


def test_install_sh_parses_and_is_shellcheck_clean() -> None:
    subprocess.run(["bash", "-n", SCRIPT], check=True)
    if shutil.which("shellcheck") is None:
        pytest.skip("apt-get install shellcheck")
    proc = subprocess.run(["shellcheck", SCRIPT], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout


def test_a_dry_run_prints_every_step_and_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    proc = install_sh(
        "--dry-run", "--root", root, "--name", "St. Mary's", env=_offline_env(tmp_path)
    )
    assert proc.returncode == 0, proc.stderr
    steps = [line for line in proc.stdout.splitlines() if line.startswith("+ ")]
    assert any(" -m venv " + str(root / "opt/fieldkit/venv") in s for s in steps)
    assert any("--require-hashes" in s for s in steps)
    (init,) = [s for s in steps if " init " in s]
    assert "St.\\ Mary\\'s" in init  # shown quoted, as it would run
    assert steps[-1].endswith(f"provision apply --root {root}")
    assert not root.exists()


def test_a_folder_that_is_not_a_wheelhouse_is_refused(tmp_path: Path) -> None:
    proc = install_sh("--offline", tmp_path, "--root", tmp_path / "r", env=_offline_env(tmp_path))
    assert proc.returncode == 1
    assert "not a wheelhouse" in proc.stderr
    assert "fieldkit provision wheelhouse" in proc.stderr
    assert not (tmp_path / "r").exists()


def test_an_unknown_option_is_refused_with_the_usage() -> None:
    proc = install_sh("--frobnicate", env=dict(os.environ))
    assert proc.returncode == 1
    assert "unknown option: --frobnicate" in proc.stderr
    assert "--offline DIR" in proc.stderr


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_install_sh_offline_into_a_root_sets_up_a_hub_and_keeps_it_when_run_again(
    tmp_path: Path, house: Path
) -> None:
    root = tmp_path / "root"
    env = _offline_env(tmp_path)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # python3: ours
    first = install_sh("--offline", house, "--root", root, "--name", "Library", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert os.access(root / "opt/fieldkit/venv/bin/fieldkit", os.X_OK)
    config = (root / "etc/fieldkit/fieldkit.toml").read_text()
    assert "Library" in config
    assert 'data_dir = "/var/lib/fieldkit"' in config  # the Pi's folder, as the unit has it
    database = root / "var/lib/fieldkit/hub.sqlite3"
    assert database.is_file()
    assert (root / "var/lib/fieldkit").stat().st_mode & 0o777 == 0o700
    for path in ("etc/systemd/system/fieldkit.service", "etc/sysusers.d/fieldkit.conf",
                 "etc/nftables.d/fieldkit.nft"):  # fmt: skip
        assert (root / path).is_file(), path
    unit = (root / "etc/systemd/system/fieldkit.service").read_text()
    assert "ExecStart=/opt/fieldkit/venv/bin/fieldkit --config /etc/fieldkit/fieldkit.toml" in unit
    hub_id = _hub_id(root, env)
    second = install_sh("--offline", house, "--root", root, "--name", "Other", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "hub: there already" in second.stdout
    assert _hub_id(root, env) == hub_id  # the hub, its id and its log are kept
    assert "Library" in (root / "etc/fieldkit/fieldkit.toml").read_text()
    assert " create " not in second.stdout  # every system file already as rendered


def _hub_id(root: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(
        [root / "opt/fieldkit/venv/bin/fieldkit", "--config", root / "etc/fieldkit/fieldkit.toml",
         "status", "--json"],
        env={**env, "FIELDKIT_DATA_DIR": str(root / "var/lib/fieldkit")},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    hub = json.loads(proc.stdout)["hub"]
    assert isinstance(hub, str)
    return hub
