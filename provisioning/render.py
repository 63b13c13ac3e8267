"""Rendering a hub's system configuration from its fieldkit config (pure: text in, text out).

:func:`render` returns every file a Pi needs to become a hub, keyed by where it goes on the
Pi (``etc/…``, relative to ``/``), so ``fieldkit provision render --out DIR`` writes a tree
that mirrors the target and ``provision apply`` copies it. Two Wi-Fi stacks:

- ``networkmanager`` (default; Raspberry Pi OS Bookworm and Trixie): an access-point keyfile
  in NetworkManager's "shared" mode, and a drop-in for the dnsmasq NetworkManager runs (every
  name resolves to the hub, the router option, DHCP option 114);
- ``hostapd``: hostapd's config (for ``hostapd@fieldkit``) and a standalone dnsmasq for DHCP
  and DNS on the Wi-Fi only.

A hub on a network also gets its radio's settings (:func:`radio_yaml`, at :data:`RADIO_YAML`):
YAML for ``meshtastic --configure`` with the network's channel URL, region, preset and the
hub's name as owner. It holds the channel key, so only its owner may read it.

Both get the nftables rules (port 80 to the app; 443 and 853 reset, on the Wi-Fi only), a
oneshot unit that loads them, the hub's hardened systemd unit, and the ``sysusers.d`` entry
that creates the unprivileged user it runs as (in ``dialout``, for a radio on USB serial).
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from jinja2 import Environment, PackageLoader, StrictUndefined

from fieldkit.app.config import Config
from fieldkit.app.network import Network, channel_url
from fieldkit.errors import ConfigError, UsageError
from fieldkit.provisioning.radio import wanted

WIFI_STACKS = ("networkmanager", "hostapd")
CONNECTION_ID = "fieldkit-hotspot"
DHCP_LEASE = "2h"  # residents come and go; a short lease frees addresses
_UUID_NAMESPACE = uuid.UUID("6b3c1f0e-5a4d-4e0b-9f57-2f1d7c9a8e10")  # fieldkit's, fixed


@dataclass(frozen=True)
class Layout:
    """Where fieldkit lives on a Pi (what ``install.sh`` creates)."""

    prefix: PurePosixPath = field(default_factory=lambda: PurePosixPath("/opt/fieldkit"))
    config: PurePosixPath = field(
        default_factory=lambda: PurePosixPath("/etc/fieldkit/fieldkit.toml")
    )
    state_directory: str = "fieldkit"  # systemd's StateDirectory=, under /var/lib
    user: str = "fieldkit"

    @property
    def executable(self) -> PurePosixPath:
        return self.prefix / "venv" / "bin" / "fieldkit"

    @property
    def data_dir(self) -> PurePosixPath:
        return PurePosixPath("/var/lib") / self.state_directory


@dataclass(frozen=True)
class RenderedFile:
    text: str
    mode: int = 0o644


PATHS: Mapping[str, PurePosixPath] = {
    "hotspot.nmconnection": PurePosixPath(
        f"etc/NetworkManager/system-connections/{CONNECTION_ID}.nmconnection"
    ),
    "dnsmasq-shared.conf": PurePosixPath("etc/NetworkManager/dnsmasq-shared.d/fieldkit.conf"),
    "hostapd.conf": PurePosixPath("etc/hostapd/fieldkit.conf"),
    "dnsmasq.conf": PurePosixPath("etc/dnsmasq.d/fieldkit.conf"),
    "fieldkit.nft": PurePosixPath("etc/nftables.d/fieldkit.nft"),
    "fieldkit.service": PurePosixPath("etc/systemd/system/fieldkit.service"),
    "fieldkit-firewall.service": PurePosixPath("etc/systemd/system/fieldkit-firewall.service"),
    "sysusers.conf": PurePosixPath("etc/sysusers.d/fieldkit.conf"),
}
_STACK_FILES: Mapping[str, tuple[str, ...]] = {
    "networkmanager": ("hotspot.nmconnection", "dnsmasq-shared.conf"),
    "hostapd": ("hostapd.conf", "dnsmasq.conf"),
}
_COMMON_FILES = ("fieldkit.nft", "fieldkit-firewall.service", "fieldkit.service", "sysusers.conf")
NFT = PurePosixPath("/usr/sbin/nft")
_PRIVATE = frozenset({"hotspot.nmconnection"})  # NetworkManager ignores a keyfile others can read
RADIO_YAML = PurePosixPath("etc/fieldkit/radio.yaml")
RADIO_HOP_LIMIT = 3  # as in the channel URL (fieldkit.app.network.channel_settings)


def keyfile_value(text: str) -> str:
    """A string value in a GLib key file (NetworkManager's keyfile format)."""
    escaped = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    return escaped.replace("\r", "\\r")


def hostapd_text(text: str) -> str:
    """A hostapd ``ssid2=`` value: printf-escaped, so any UTF-8 name is taken as written."""
    body = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'P"{body}"'


def unit_text(text: str) -> str:
    """Text for a systemd unit's Description= (``%`` is a specifier there)."""
    return text.replace("%", "%%")


def dhcp_range(address: ipaddress.IPv4Interface) -> tuple[str, str]:
    """The longest run of addresses beside the hub's own in its network, for the phones."""
    hosts = list(address.network.hosts())
    index = hosts.index(address.ip)
    before, after = hosts[:index], hosts[index + 1 :]
    run = after if len(after) >= len(before) else before
    if not run:
        raise ConfigError("hotspot.address", f"{address} leaves no address for phones")
    return str(run[0]), str(run[-1])


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("fieldkit.provisioning", "templates"),
        undefined=StrictUndefined,
        autoescape=False,  # these are config files, not HTML: each value is quoted by a filter
        keep_trailing_newline=True,
    )
    env.filters.update(
        keyfile=keyfile_value, hostapd=hostapd_text, unit=unit_text, yaml_str=yaml_text
    )
    return env


def yaml_text(text: str) -> str:
    """A YAML double-quoted scalar (a JSON string is one), so any name is taken as written."""
    return json.dumps(text, ensure_ascii=False)


def radio_yaml(network: Network, hub_name: str) -> str:
    """The radio's settings for ``meshtastic --configure`` (holds the channel key)."""
    want = wanted(network, hub_name)
    return _environment().get_template("radio.yaml.j2").render(
        hub_name=hub_name, owner_long=want.long_name, owner_short=want.short_name,
        channel_url=channel_url(network), region=network.region, preset=network.preset,
        hop_limit=RADIO_HOP_LIMIT,
    )  # fmt: skip


def render(
    config: Config,
    *,
    wifi: str = "networkmanager",
    layout: Layout = Layout(),
    network: Network | None = None,
) -> dict[PurePosixPath, RenderedFile]:
    """Every file the Pi needs, keyed by its path relative to ``/`` (with ``network``, the
    radio's settings too)."""
    if wifi not in WIFI_STACKS:
        raise UsageError(f"--wifi must be one of {', '.join(WIFI_STACKS)}, not {wifi!r}")
    address = config.hotspot.network
    first, last = dhcp_range(address)
    context = {
        "hub_name": config.hub_name,
        "ssid": config.ssid,
        "hotspot": config.hotspot,
        "hub_ip": str(address.ip),
        "netmask": str(address.netmask),
        "dhcp_first": first,
        "dhcp_last": last,
        "lease": DHCP_LEASE,
        "web_port": config.web_port,
        "layout": layout,
        "connection_id": CONNECTION_ID,
        "nft": NFT,
        "nft_rules": PATHS["fieldkit.nft"],
        "connection_uuid": uuid.uuid5(_UUID_NAMESPACE, f"{config.hub_name}\0{config.ssid}"),
    }
    env = _environment()
    files = {}
    for name in (*_STACK_FILES[wifi], *_COMMON_FILES):
        text = env.get_template(f"{name}.j2").render(context)
        files[PATHS[name]] = RenderedFile(text, 0o600 if name in _PRIVATE else 0o644)
    if network is not None:
        files[RADIO_YAML] = RenderedFile(radio_yaml(network, config.hub_name), 0o600)
    return files
