"""Checking rendered system configuration with each program's own validator (the I/O edge).

Each rendered file is handed to the program that will read it, in its test mode: ``dnsmasq
--test``, ``nft -c`` (in an empty network namespace, so nothing on this machine changes),
``systemd-analyze verify``, ``systemd-sysusers --dry-run``, ``nmcli --offline`` and hostapd
in an empty network namespace (it has no test flag; its configuration errors come before it
looks for a Wi-Fi card). Every
result is a :class:`Check` a volunteer can read: what was checked, what went wrong, what to do.
"""

from __future__ import annotations

import enum
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fieldkit.provisioning.render import PATHS

VALIDATOR_TIMEOUT_S = 30
ADVICE = "fix what the message names (the hub config or the install), then apply again"


class Outcome(enum.Enum):
    PASSED = "ok"
    FAILED = "FAILED"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Check:
    name: str
    outcome: Outcome
    detail: str = ""
    advice: str = ""

    def line(self) -> str:
        mark = {Outcome.PASSED: "✓", Outcome.FAILED: "✗", Outcome.SKIPPED: "–"}[self.outcome]
        text = f"{mark} {self.name}"
        if self.detail:
            text += f": {self.detail}"
        if self.advice and self.outcome is not Outcome.PASSED:
            text += f"\n    → {self.advice}"
        return text


@dataclass(frozen=True)
class _Validator:
    program: str
    package: str  # the Debian package that has it
    command: Callable[[Path], list[str]]
    stdin: bool = False
    failed: Callable[[subprocess.CompletedProcess[str]], bool] = lambda p: p.returncode != 0
    optional: bool = False  # checked where present, skipped otherwise


def _isolated(command: list[str]) -> list[str]:
    """``command`` in a new, empty network namespace (as root, or as a user namespace)."""
    return ["unshare", "-n", *command] if os.geteuid() == 0 else ["unshare", "-rn", *command]


def _hostapd_failed(proc: subprocess.CompletedProcess[str]) -> bool:
    # No Wi-Fi card in an empty namespace: hostapd always exits 1, after reading its config.
    return "errors found in configuration file" in proc.stdout + proc.stderr


_DNSMASQ = _Validator("dnsmasq", "dnsmasq-base", lambda f: ["dnsmasq", "--test", "-C", str(f)])
_SYSTEMD = _Validator("systemd-analyze", "systemd", lambda f: ["systemd-analyze", "verify", str(f)])
VALIDATORS: Mapping[str, _Validator] = {
    "dnsmasq-shared.conf": _DNSMASQ,
    "dnsmasq.conf": _DNSMASQ,
    "fieldkit.nft": _Validator("nft", "nftables", lambda f: _isolated(["nft", "-c", "-f", str(f)])),
    "fieldkit.service": _SYSTEMD,
    "fieldkit-firewall.service": _SYSTEMD,
    "hotspot.nmconnection": _Validator(
        "nmcli", "network-manager",
        lambda f: ["nmcli", "--offline", "connection", "modify", "connection.autoconnect", "yes"],
        stdin=True, optional=True,
    ),
    "hostapd.conf": _Validator(
        "hostapd", "hostapd", lambda f: _isolated(["hostapd", str(f)]), failed=_hostapd_failed
    ),
    "sysusers.conf": _Validator(
        "systemd-sysusers", "systemd", lambda f: ["systemd-sysusers", "--dry-run", str(f)]
    ),
}  # fmt: skip
_NAMES = {path: name for name, path in PATHS.items()}


def run_validator(name: str, path: Path) -> Check:
    """Check one rendered file (``name`` is its key in :data:`~.render.PATHS`)."""
    v = VALIDATORS[name]
    label = f"{PATHS[name]} ({v.program})"
    if shutil.which(v.program) is None:
        outcome = Outcome.SKIPPED if v.optional else Outcome.FAILED
        return Check(
            label, outcome, f"{v.program} is not installed", f"apt-get install {v.package}"
        )
    try:
        with path.open(encoding="utf-8") as stdin:
            proc = subprocess.run(
                v.command(path), stdin=stdin if v.stdin else subprocess.DEVNULL,
                capture_output=True, text=True, timeout=VALIDATOR_TIMEOUT_S, check=False,
            )  # fmt: skip
    except subprocess.TimeoutExpired:
        return Check(
            label, Outcome.FAILED, f"{v.program} did not answer in {VALIDATOR_TIMEOUT_S} s"
        )
    except OSError as exc:
        return Check(label, Outcome.FAILED, f"cannot run {v.program}: {exc.strerror}")
    if v.failed(proc):
        output = (proc.stderr or proc.stdout).strip().splitlines()
        detail = output[-1] if output else f"exit {proc.returncode}"
        return Check(label, Outcome.FAILED, detail, ADVICE)
    return Check(label, Outcome.PASSED)


def validate_tree(root: Path, files: Iterable[PurePosixPath]) -> list[Check]:
    """Check every rendered file under ``root`` that has a validator."""
    return [run_validator(_NAMES[path], root / path) for path in files if path in _NAMES]


def failed(checks: Sequence[Check]) -> bool:
    return any(c.outcome is Outcome.FAILED for c in checks)
