"""The rendered hotspot end to end: what `fieldkit provision render` writes, running for real.

Two network namespaces joined by a veth pair stand in for the Pi's Wi-Fi and a phone. In the
hub's namespace run real dnsmasq with the *rendered* standalone configuration (the hostapd
path: the NetworkManager drop-in is checked by its validator in test_render.py), the
*rendered* nftables rules, and `fieldkit run` on its unprivileged port. From the phone's
namespace: a DHCP lease, probe names resolving to the hub, the portal redirect through the
firewall's port-80 redirect, a need submitted, the "online" answers, and HTTPS and DNS over
TLS refused at once. Every address stays inside the namespaces. Needs root.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldkit.app.config import parse_config
from fieldkit.provisioning.render import PATHS, render
from fieldkit.web.captive import PROBES

from ..web.conftest import code_of, token_of
from ..web.serve import running_hub
from ..web.test_captive_netns import DHCP_SCRIPT, Net, curl, sh

APP_PORT = 8080
TOOLS = ("ip", "dnsmasq", "udhcpc", "curl", "nft")
missing = [tool for tool in TOOLS if shutil.which(tool) is None]
pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root"),
    pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)}"),
]
CURL_CONNECTION_REFUSED = 7  # curl's exit code when the connection is reset at once
CURL_TIMED_OUT = 28


@pytest.fixture
def hotspot(tmp_path: Path) -> Iterator[Net]:
    tag = secrets.token_hex(3)
    hub_ns, phone_ns = f"fk-hub-{tag}", f"fk-phone-{tag}"
    hub_if, phone_if = f"fkh{tag}", f"fkp{tag}"
    hub_ip = f"10.{100 + secrets.randbelow(100)}.0.1"
    config = parse_config(
        {"hub": {"name": "St. Mary's"}, "web": {"port": APP_PORT},
         "hotspot": {"interface": hub_if, "address": f"{hub_ip}/24"}},
        {}, tmp_path,
    )  # fmt: skip
    rendered = tmp_path / "rendered"
    for path, file in render(config, wifi="hostapd").items():
        (rendered / path).parent.mkdir(parents=True, exist_ok=True)
        (rendered / path).write_text(file.text)
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
        sh("ip", "netns", "exec", hub_ns, "nft", "-f", str(rendered / PATHS["fieldkit.nft"]))
        dnsmasq = subprocess.Popen(
            ["ip", "netns", "exec", hub_ns, "dnsmasq", "--keep-in-foreground",
             "--conf-file=" + str(rendered / PATHS["dnsmasq.conf"]),
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


def test_a_phone_on_the_rendered_hotspot_meets_the_portal_submits_and_goes_online(
    hotspot: Net, tmp_path: Path
) -> None:
    net = hotspot
    assert net.phone("ip", "route").stdout.startswith(f"default via {net.hub_ip}")
    for name in ("connectivitycheck.gstatic.com", "captive.apple.com"):
        assert net.phone("getent", "hosts", name).stdout.split()[0] == net.hub_ip

    # The service's environment, as the rendered unit sets it: every address, unprivileged port.
    hub_root = tmp_path / "hub"
    with running_hub(hub_root, "0.0.0.0", APP_PORT, prefix=["ip", "netns", "exec", net.hub_ns]):
        portal = f"http://{net.hub_ip}/"
        status, location, _ = curl(net, "http://connectivitycheck.gstatic.com/generate_204")
        assert (status, location) == (302, portal)  # port 80, through the firewall's redirect
        status, location, _ = curl(net, "http://captive.apple.com/hotspot-detect.html")
        assert (status, location) == (302, portal)

        cookies = str(tmp_path / "cookies")
        status, _, page = curl(net, f"{portal}intake?kind=need&lang=en", "-c", cookies)
        assert status == 200
        form = {"kind": "need", "token": token_of(page), "lang": "en", "category": "water",
                "urgency": "today", "quantity": "3", "area": "riverside", "note": ""}  # fmt: skip
        fields = [
            arg for key, value in form.items() for arg in ("--data-urlencode", f"{key}={value}")
        ]
        status, _, thanks = curl(net, f"{portal}intake", "-L", "-b", cookies, *fields)
        assert status == 200
        code = code_of(thanks)

        for probe in PROBES:
            status, _, body = curl(net, f"http://{probe.host}{probe.path}")
            assert (status, body) == (probe.online.status, probe.online.body), probe

        for port in (443, 853):  # refused at once by the rendered rules, never left to hang
            done = net.phone("curl", "-sS", "--max-time", "20", f"https://example.com:{port}/")
            assert done.returncode == CURL_CONNECTION_REFUSED, (port, done.returncode, done.stderr)

    exported = subprocess.run(
        [sys.executable, "-m", "fieldkit", "--config", str(hub_root / "fieldkit.toml"), "export"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert re.search(rf'"ref": "{code[:7]}"', exported)  # stored without the check symbol
    assert '"area": "riverside"' in exported
