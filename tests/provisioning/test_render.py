"""Rendered system configuration: golden files, and each file passes its own program's validator.

Golden files live in tests/data/provisioning/STACK/; after an intended template change,
rewrite them with ``FIELDKIT_UPDATE_GOLDEN=1 pytest tests/provisioning`` and review the diff.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldkit.app.config import Config, parse_config
from fieldkit.provisioning.check import Outcome, run_validator, validate_tree
from fieldkit.provisioning.render import PATHS, WIFI_STACKS, Layout, dhcp_range, render

GOLDEN = Path(__file__).parents[1] / "data" / "provisioning"
LAYOUT = Layout()
HOSTILE_SSID = 'Aid "M" \\ 1% ; #1 — 互助'


def sample(**hotspot: object) -> Config:
    data = {"hub": {"name": "St. Mary's"}, "web": {"port": 8080}, "hotspot": hotspot}
    return parse_config(data, {}, Path("/etc/fieldkit"))


def write(root: Path, config: Config, wifi: str, layout: Layout = LAYOUT) -> list[PurePosixPath]:
    files = render(config, wifi=wifi, layout=layout)
    for path, rendered in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(rendered.text, encoding="utf-8")
        target.chmod(rendered.mode)
    return list(files)


def runnable_layout(tmp_path: Path) -> Layout:
    """A layout whose executable exists (systemd-analyze verify checks ExecStart's program)."""
    bin_dir = tmp_path / "prefix" / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "fieldkit").symlink_to(Path(shutil.which("fieldkit") or "/bin/true").resolve())
    return Layout(prefix=PurePosixPath(tmp_path / "prefix"))


@pytest.mark.parametrize("wifi", WIFI_STACKS)
def test_every_template_renders_as_its_golden_file(wifi: str) -> None:
    files = render(sample(ssid="Mutual Aid", channel=11), wifi=wifi)
    folder = GOLDEN / wifi
    if os.environ.get("FIELDKIT_UPDATE_GOLDEN") == "1":
        shutil.rmtree(folder, ignore_errors=True)
        for path, rendered in files.items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_text(rendered.text, encoding="utf-8")
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert on_disk == {p.as_posix() for p in files}
    for path, rendered in files.items():
        assert rendered.text == (folder / path).read_text(encoding="utf-8"), path


@pytest.mark.parametrize("wifi", WIFI_STACKS)
@pytest.mark.parametrize("ssid", ["Mutual Aid", HOSTILE_SSID])
def test_every_rendered_file_passes_its_programs_own_validator(
    tmp_path: Path, wifi: str, ssid: str
) -> None:
    files = write(tmp_path, sample(ssid=ssid), wifi, runnable_layout(tmp_path))
    checks = validate_tree(tmp_path, files)
    assert len(checks) == len(files)
    assert [c.line() for c in checks if c.outcome is not Outcome.PASSED] == []


def test_only_networkmanager_files_or_only_hostapd_files_are_rendered() -> None:
    nm, ap = (set(render(sample(), wifi=w)) for w in ("networkmanager", "hostapd"))
    assert PATHS["hotspot.nmconnection"] in nm - ap
    assert PATHS["hostapd.conf"] in ap - nm
    common = {"fieldkit.nft", "fieldkit.service", "fieldkit-firewall.service", "sysusers.conf"}
    assert nm & ap == {PATHS[name] for name in common}


def test_the_keyfile_is_readable_by_root_only() -> None:
    files = render(sample())
    assert files[PATHS["hotspot.nmconnection"]].mode == 0o600
    assert files[PATHS["fieldkit.service"]].mode == 0o644


def _keyfile_ssid(keyfile: str) -> str:
    (line,) = [line for line in keyfile.splitlines() if line.startswith("ssid=")]
    value = line.removeprefix("ssid=")
    if value.endswith(";"):  # NetworkManager writes non-ASCII names as a list of bytes
        return bytes(int(b) for b in value.rstrip(";").split(";")).decode("utf-8")
    return value


@pytest.mark.skipif(shutil.which("nmcli") is None, reason="apt-get install network-manager")
def test_networkmanager_reads_the_wifi_name_exactly_as_configured(tmp_path: Path) -> None:
    files = write(tmp_path, sample(ssid=HOSTILE_SSID), "networkmanager")
    keyfile = tmp_path / PATHS["hotspot.nmconnection"]
    assert PATHS["hotspot.nmconnection"] in files
    normalised = subprocess.run(
        ["nmcli", "--offline", "connection", "modify", "connection.autoconnect", "yes"],
        stdin=keyfile.open(), capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert _keyfile_ssid(normalised) == HOSTILE_SSID
    assert "mode=ap" in normalised
    assert "method=shared" in normalised
    assert "address1=10.42.0.1/24" in normalised


@pytest.mark.parametrize(
    ("name", "breakage"),
    [
        ("fieldkit.nft", lambda t: t.replace("redirect to", "redirect too")),
        ("dnsmasq.conf", lambda t: t + "no-such-option=1\n"),
        ("hostapd.conf", lambda t: t + "no_such_item=1\n"),
        ("hotspot.nmconnection", lambda t: t.replace("mode=ap", "mode=flying")),
        ("sysusers.conf", lambda t: t.replace("m fieldkit", "x fieldkit")),
    ],
)
def test_a_broken_file_fails_its_check_with_the_programs_words(
    tmp_path: Path, name: str, breakage: object
) -> None:
    wifi = "networkmanager" if name == "hotspot.nmconnection" else "hostapd"
    write(tmp_path, sample(), wifi)
    path = tmp_path / PATHS[name]
    path.write_text(breakage(path.read_text()))  # type: ignore[operator]
    check = run_validator(name, path)
    assert check.outcome is Outcome.FAILED
    assert check.detail
    assert check.advice
    assert "✗" in check.line()


def test_the_firewall_touches_the_hotspot_interface_only() -> None:
    rules = render(sample(interface="wlan1"))[PATHS["fieldkit.nft"]].text
    verdicts = [line.strip() for line in rules.splitlines() if "dport" in line]
    assert len(verdicts) == 5
    assert all(line.startswith('iifname "wlan1" ') for line in verdicts)
    assert "redirect to :8080" in rules


def test_the_service_runs_unprivileged_and_hardened() -> None:
    unit = render(sample())[PATHS["fieldkit.service"]].text
    for line in ("User=fieldkit", "NoNewPrivileges=true", "ProtectSystem=strict",
                 "CapabilityBoundingSet=", "Restart=on-failure", "PrivateTmp=true"):  # fmt: skip
        assert line in unit.splitlines()
    assert (
        "ExecStart=/opt/fieldkit/venv/bin/fieldkit --config /etc/fieldkit/fieldkit.toml run" in unit
    )
    assert "Environment=FIELDKIT_DATA_DIR=/var/lib/fieldkit" in unit


def test_the_service_user_is_created_unprivileged_and_may_use_the_serial_radio() -> None:
    files = render(sample())
    lines = files[PATHS["sysusers.conf"]].text.splitlines()
    entries = [line for line in lines if line and not line.startswith("#")]
    assert entries == [
        'u fieldkit - "fieldkit hub" /var/lib/fieldkit /usr/sbin/nologin',
        "m fieldkit dialout",
    ]
    unit = files[PATHS["fieldkit.service"]].text.splitlines()
    assert "User=fieldkit" in unit
    assert "StateDirectory=fieldkit" in unit  # the user's home is the hub's state directory


def test_every_name_resolves_to_the_hub_and_phones_are_told_the_portal() -> None:
    files = render(sample(address="192.168.50.1/24"), wifi="hostapd")
    dns = files[PATHS["dnsmasq.conf"]].text.splitlines()
    assert "address=/#/192.168.50.1" in dns
    assert "dhcp-option=option:router,192.168.50.1" in dns
    assert 'dhcp-option=114,"http://192.168.50.1/"' in dns
    assert "dhcp-range=192.168.50.2,192.168.50.254,255.255.255.0,2h" in dns


def test_the_wifi_name_defaults_to_the_hub_name_cut_to_32_bytes() -> None:
    config = parse_config(
        {"hub": {"name": "Centro comunitario — Iglesia de Santa María"}}, {}, Path(".")
    )
    assert len(config.ssid.encode()) <= 32
    assert "Centro comunitario" in config.ssid
    assert f"ssid={config.ssid}" in render(config)[PATHS["hotspot.nmconnection"]].text


@given(
    st.ip_addresses(v=4).filter(lambda a: a.is_private),
    st.integers(min_value=16, max_value=29),
)
def test_phones_get_addresses_in_the_hubs_network_but_never_the_hubs_own(
    ip: ipaddress.IPv4Address, prefix: int
) -> None:
    address = ipaddress.IPv4Interface(f"{ip}/{prefix}")
    if address.ip in (address.network.network_address, address.network.broadcast_address):
        return
    first, last = (ipaddress.IPv4Address(a) for a in dhcp_range(address))
    assert first <= last
    assert first in address.network
    assert last in address.network
    assert not first <= address.ip <= last
    assert address.network.network_address < first
    assert last < address.network.broadcast_address
