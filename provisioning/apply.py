"""Installing rendered system configuration on a Pi, idempotently (the I/O edge).

:func:`plan` compares the rendered files with what is on disk under ``root`` and says, file by
file, what would change; :func:`install` writes the changed ones (each atomically: a temporary
file beside it, then a rename, so a power cut leaves the old file or the new one, never half),
with their modes, and returns the same list. Running it twice changes nothing the second time.
:func:`activation` lists the commands that make systemd and NetworkManager take the files up.
"""

from __future__ import annotations

import enum
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fieldkit.errors import UsageError
from fieldkit.provisioning.render import CONNECTION_ID, PATHS, RenderedFile

SYSUSERS = PurePosixPath("/") / PATHS["sysusers.conf"]


class Action(enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Change:
    path: PurePosixPath  # relative to the root
    action: Action
    mode: int

    def line(self, root: Path) -> str:
        return f"{self.action.value:>9}  {root / self.path}  ({self.mode:o})"


def _current(target: Path) -> tuple[bytes, int] | None:
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise UsageError(f"{target} is not a regular file: move it away, then apply again")
    if not target.exists():
        return None
    return target.read_bytes(), target.stat().st_mode & 0o777


def plan(root: Path, files: Mapping[PurePosixPath, RenderedFile]) -> list[Change]:
    """What :func:`install` would do, file by file (nothing is written)."""
    changes = []
    for path, rendered in sorted(files.items()):
        current = _current(root / path)
        if current is None:
            action = Action.CREATE
        elif current == (rendered.text.encode("utf-8"), rendered.mode):
            action = Action.UNCHANGED
        else:
            action = Action.UPDATE
        changes.append(Change(path, action, rendered.mode))
    return changes


def _write_atomically(target: Path, data: bytes, mode: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def install(root: Path, files: Mapping[PurePosixPath, RenderedFile]) -> list[Change]:
    """Write every file that differs from what is under ``root``; returns what was done."""
    changes = plan(root, files)
    for change in changes:
        if change.action is not Action.UNCHANGED:
            rendered = files[change.path]
            _write_atomically(root / change.path, rendered.text.encode("utf-8"), rendered.mode)
    return changes


def activation(wifi: str) -> list[list[str]]:
    """The commands that take freshly installed files up (run as root, on the Pi)."""
    if wifi != "networkmanager":
        raise UsageError(
            "provision apply sets up the NetworkManager Wi-Fi only; for hostapd, install the "
            "rendered files by hand (render --wifi hostapd) and give the Wi-Fi interface the "
            "hub's address"
        )
    return [
        ["systemd-sysusers", str(SYSUSERS)],  # the user the hub runs as, before its unit loads
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", "--now", "fieldkit-firewall.service"],
        ["nmcli", "connection", "reload"],
        ["nmcli", "connection", "up", CONNECTION_ID],
        ["systemctl", "enable", "fieldkit.service"],
        ["systemctl", "restart", "fieldkit.service"],
    ]
