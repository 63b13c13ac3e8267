"""The captive portal end to end, as a phone meets it: real DHCP and DNS from dnsmasq, real
HTTP from curl to the real probe hostnames, the app under real uvicorn on port 80.

Two network namespaces joined by a veth pair; every address stays inside them. Needs root,
`ip`, dnsmasq, udhcpc and curl (.ci/run installs them).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fieldkit.web.captive import PROBES

from .conftest import token_of
from .serve import running_hub

TOOLS = ("ip", "dnsmasq", "udhcpc", "curl")
missing = [tool for tool in TOOLS if shutil.which(tool) is None]
pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root"),
    pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)}"),
]
DHCP_SCRIPT = """#!/bin/sh
# udhcpc calls this with the lease in its environment: set the address, keep the DNS server.
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$router" ] && ip route replace default via "$router"
    echo "nameserver $dns" > "$RESOLV"
    ;;
esac
"""


@dataclass
class Net:
    hub_ns: str
    phone_ns: str
    hub_ip: str

    def phone(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.phone_ns, *command],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip


def sh(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, text=True)


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    tag = secrets.token_hex(3)
    hub_ns, phone_ns = f"fk-hub-{tag}", f"fk-phone-{tag}"
    hub_if, phone_if = f"fkh{tag}", f"fkp{tag}"
    octet = 100 + secrets.randbelow(100)
    hub_ip = f"10.{octet}.0.1"
    resolv_dir = Path("/etc/netns") / phone_ns  # `ip netns exec` mounts it over /etc
    dnsmasq = None
    try:
        sh("ip", "netns", "add", hub_ns)
        sh("ip", "netns", "add", phone_ns)
        sh("ip", "link", "add", hub_if, "netns", hub_ns, "type", "veth",
           "peer", "name", phone_if, "netns", phone_ns)  # fmt: skip
        for ns, link in ((hub_ns, hub_if), (phone_ns, phone_if)):
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "link", "set", link, "up")
        sh("ip", "-n", hub_ns, "addr", "add", f"{hub_ip}/24", "dev", hub_if)
        dnsmasq = subprocess.Popen(
            ["ip", "netns", "exec", hub_ns, "dnsmasq", "--keep-in-foreground",
             "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces",
             f"--interface={hub_if}", f"--address=/#/{hub_ip}",
             f"--dhcp-range=10.{octet}.0.10,10.{octet}.0.50,1h",
             f"--dhcp-option=option:router,{hub_ip}",
             f"--dhcp-option=114,http://{hub_ip}/api/captive-portal",
             f"--dhcp-leasefile={tmp_path / 'leases'}", f"--pid-file={tmp_path / 'dnsmasq.pid'}",
             "--log-facility=-"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        resolv_dir.mkdir(parents=True)
        (resolv_dir / "resolv.conf").write_text("")
        script = tmp_path / "dhcp.sh"
        script.write_text(DHCP_SCRIPT)
        script.chmod(0o755)
        lease = subprocess.run(
            ["ip", "netns", "exec", phone_ns, "env", f"RESOLV={resolv_dir / 'resolv.conf'}",
             "udhcpc", "-f", "-q", "-n", "-t", "20", "-T", "1", "-i", phone_if, "-s", str(script)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert lease.returncode == 0, lease.stderr
        yield Net(hub_ns, phone_ns, hub_ip)
    finally:
        if dnsmasq is not None:
            dnsmasq.terminate()
            dnsmasq.wait(timeout=10)
        shutil.rmtree(resolv_dir, ignore_errors=True)
        for ns in (hub_ns, phone_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def curl(net: Net, url: str, *extra: str) -> tuple[int, str, str]:
    """HTTP status, redirect target and body, as a phone's probe sees them."""
    done = net.phone("curl", "-sS", "--max-time", "10", "-w", "\n%{http_code} %{redirect_url}",
                     *extra, url)  # fmt: skip
    assert done.returncode == 0, done.stderr
    body, _, status_line = done.stdout.rpartition("\n")
    code, _, location = status_line.partition(" ")
    return int(code), location, body


def test_phones_on_the_hotspot_get_the_portal_then_online_for_every_os_probe(
    net: Net, tmp_path: Path
) -> None:
    resolved = net.phone("getent", "hosts", "captive.apple.com")
    assert resolved.stdout.split()[0] == net.hub_ip  # the hotspot's DNS answers every name
    with running_hub(tmp_path / "hub", net.hub_ip, 80, prefix=["ip", "netns", "exec", net.hub_ns]):
        portal = f"http://{net.hub_ip}/"
        for probe in PROBES:
            status, location, _ = curl(net, f"http://{probe.host}{probe.path}")
            assert (status, location) == (302, portal), probe
        status, location, _ = curl(net, "http://example.com/any/page")
        assert (status, location) == (302, portal)
        status, _, body = curl(net, f"http://{net.hub_ip}/api/captive-portal")
        assert '"captive": true' in body

        _, _, home = curl(net, portal)  # the home page's form, with its token
        token = token_of(home)
        status, location, _ = curl(net, f"{portal}browse?lang=en", "-d", f"lang=en&token={token}")
        assert (status, location) == (303, f"{portal}board?lang=en")

        for probe in PROBES:
            status, _, body = curl(net, f"http://{probe.host}{probe.path}")
            assert (status, body) == (probe.online.status, probe.online.body), probe
