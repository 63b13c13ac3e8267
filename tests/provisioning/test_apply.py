"""Installing rendered files: idempotent, atomic, says what changes, refuses what is not a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldkit.app.config import parse_config
from fieldkit.errors import UsageError
from fieldkit.provisioning.apply import Action, activation, install, plan
from fieldkit.provisioning.render import PATHS, render

CONFIG = parse_config({"hub": {"name": "St. Mary's"}}, {}, Path("/etc/fieldkit"))
FILES = render(CONFIG)


def actions(changes: list) -> dict[str, Action]:  # type: ignore[type-arg]
    return {c.path.name: c.action for c in changes}


def test_a_first_apply_creates_every_file_with_its_mode(tmp_path: Path) -> None:
    done = install(tmp_path, FILES)
    assert set(actions(done).values()) == {Action.CREATE}
    for path, rendered in FILES.items():
        target = tmp_path / path
        assert target.read_text() == rendered.text
        assert target.stat().st_mode & 0o777 == rendered.mode


def test_applying_again_changes_nothing(tmp_path: Path) -> None:
    install(tmp_path, FILES)
    stamps = {p: (tmp_path / p).stat().st_mtime_ns for p in FILES}
    assert set(actions(install(tmp_path, FILES)).values()) == {Action.UNCHANGED}
    assert {p: (tmp_path / p).stat().st_mtime_ns for p in FILES} == stamps


def test_an_edited_file_or_a_changed_mode_is_updated_and_only_that(tmp_path: Path) -> None:
    install(tmp_path, FILES)
    (tmp_path / PATHS["fieldkit.nft"]).write_text("# edited by hand\n")
    (tmp_path / PATHS["hotspot.nmconnection"]).chmod(0o644)
    changed = {n for n, a in actions(install(tmp_path, FILES)).items() if a is Action.UPDATE}
    assert changed == {PATHS["fieldkit.nft"].name, PATHS["hotspot.nmconnection"].name}
    assert (tmp_path / PATHS["hotspot.nmconnection"]).stat().st_mode & 0o777 == 0o600


def test_a_dry_run_plan_writes_nothing(tmp_path: Path) -> None:
    assert set(actions(plan(tmp_path, FILES)).values()) == {Action.CREATE}
    assert list(tmp_path.iterdir()) == []


def test_no_temporary_file_is_left_beside_the_installed_ones(tmp_path: Path) -> None:
    install(tmp_path, FILES)
    leftovers = [p for p in tmp_path.rglob(".*") if p.is_file()]
    assert leftovers == []


def test_a_symlink_or_a_folder_in_the_way_is_refused_and_left_alone(tmp_path: Path) -> None:
    unit = tmp_path / PATHS["fieldkit.service"]
    unit.parent.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("not ours")
    unit.symlink_to(elsewhere)
    with pytest.raises(UsageError, match="not a regular file"):
        install(tmp_path, FILES)
    assert elsewhere.read_text() == "not ours"
    unit.unlink()
    unit.mkdir()
    with pytest.raises(UsageError, match="not a regular file"):
        plan(tmp_path, FILES)


def test_activation_takes_up_the_firewall_before_the_hub_and_refuses_hostapd() -> None:
    steps = [" ".join(step) for step in activation("networkmanager")]
    assert steps.index("systemd-sysusers /etc/sysusers.d/fieldkit.conf") == 0
    assert steps.index("systemctl daemon-reload") == 1
    firewall = steps.index("systemctl enable --now fieldkit-firewall.service")
    assert firewall < steps.index("systemctl restart fieldkit.service")
    with pytest.raises(UsageError, match="hostapd"):
        activation("hostapd")
