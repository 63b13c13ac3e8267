"""The hub's radio settings: what the network asks of them, setting them and reading them back.

:func:`wanted` is what the radio of a hub on a network must have (pure): the network's region,
modem preset, channel name and PSK, and the hub's name as its owner. :func:`provision` sets
them on the radio at a radio URL through the meshtastic library's admin messages, in one edit
transaction (a real radio reboots once, at the commit): the network's channel URL
(:func:`~fieldkit.app.network.channel_url`, i.e. ``meshtastic --seturl``) and the owner.
:func:`read` connects afresh and returns what the radio reports; :func:`differences` says, in
words, what is not as wanted. The library calls block: run them in a thread.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass
from typing import Any

from fieldkit.app.network import Network, channel_url
from fieldkit.errors import FieldkitError

LONG_NAME_MAX_BYTES = 39  # the firmware keeps 40 bytes with the terminating NUL
SHORT_NAME_MAX = 4
CONNECT_TIMEOUT_S = 30
READ_BACK_TIMEOUT_S = 60.0  # a real radio reboots after the commit: wait for it to come back


@dataclass(frozen=True)
class RadioSettings:
    region: str
    preset: str
    channel: str
    psk: bytes
    long_name: str
    short_name: str


def long_name(hub_name: str) -> str:
    """The hub's name as a radio owner's long name (cut to what the firmware keeps)."""
    raw = hub_name.strip().encode("utf-8")[:LONG_NAME_MAX_BYTES]
    return raw.decode("utf-8", errors="ignore").strip() or "fieldkit hub"


def short_name(hub_name: str) -> str:
    """Up to four letters for the radio's screen: the initials of the hub's name's words."""
    words = re.findall(r"\w+", hub_name)
    initials = "".join(w[0] for w in words).upper()
    name = initials if len(initials) >= 2 else "".join(words).upper()
    return name[:SHORT_NAME_MAX] or "FK"


def wanted(network: Network, hub_name: str) -> RadioSettings:
    """What the radio of hub ``hub_name`` on ``network`` must be set to."""
    return RadioSettings(
        network.region, network.preset, network.channel, network.psk,
        long_name(hub_name), short_name(hub_name),
    )  # fmt: skip


def differences(want: RadioSettings, got: RadioSettings, *, owner: bool = True) -> list[str]:
    """What is not as wanted, one phrase each (secrets never printed); empty when all is.
    ``owner=False``: only what decides whom the radio hears (region, preset, channel, key)."""
    out = []
    if got.region != want.region:
        out.append(f"region {got.region}, not {want.region}")
    if got.preset != want.preset:
        out.append(f"preset {got.preset}, not {want.preset}")
    if got.channel != want.channel:
        out.append(f"channel “{got.channel}”, not “{want.channel}”")
    if got.psk != want.psk:
        out.append("another channel key" if got.psk else "no channel key")
    if owner and got.long_name != want.long_name:
        out.append(f"owner “{got.long_name}”, not “{want.long_name}”")
    if owner and got.short_name != want.short_name:
        out.append(f"short name “{got.short_name}”, not “{want.short_name}”")
    return out


# --- the I/O edge: the meshtastic library --------------------------------------------------


def _connect(url: str, timeout: int) -> Any:
    from fieldkit.mesh.radio_address import handshake, open_interface, parse_radio_url

    addr = parse_radio_url(url)
    iface = open_interface(addr, timeout)
    try:
        handshake(iface)
    except Exception as exc:  # the library raises bare Exceptions, OSError, SerialException…
        _close(iface)
        why = str(exc) or type(exc).__name__
        raise FieldkitError(f"the radio at {url} does not answer: {why}") from None
    return iface


def _close(iface: Any) -> None:
    with contextlib.suppress(Exception):  # a half-open interface's threads may fail closing
        iface.close()


def _settings(iface: Any) -> RadioSettings:
    from meshtastic.protobuf import config_pb2

    lora = iface.localNode.localConfig.lora
    enum = config_pb2.Config.LoRaConfig
    primary = (iface.localNode.channels or [None])[0]
    return RadioSettings(
        region=str(enum.RegionCode.Name(lora.region)),
        preset=str(enum.ModemPreset.Name(lora.modem_preset)),
        channel=str(primary.settings.name) if primary is not None else "",
        psk=bytes(primary.settings.psk) if primary is not None else b"",
        long_name=str(iface.getLongName() or ""),
        short_name=str(iface.getShortName() or ""),
    )


def read(url: str, timeout: int = CONNECT_TIMEOUT_S) -> RadioSettings:
    """What the radio at ``url`` reports, on a fresh connection."""
    iface = _connect(url, timeout)
    try:
        return _settings(iface)
    finally:
        _close(iface)


def provision(
    url: str, want: RadioSettings, network: Network, *, timeout: int = CONNECT_TIMEOUT_S
) -> RadioSettings:
    """Set the radio at ``url`` to ``want`` (from ``network``) and return what it reads back."""
    iface = _connect(url, timeout)
    try:
        node = iface.localNode
        node.beginSettingsTransaction()
        node.setURL(channel_url(network))
        node.setOwner(long_name=want.long_name, short_name=want.short_name)
        node.commitSettingsTransaction()
    finally:
        _close(iface)
    deadline = time.monotonic() + READ_BACK_TIMEOUT_S
    while True:  # a real radio reboots after the commit; the simulator applies it at once
        try:
            return read(url, timeout)
        except FieldkitError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(2.0)  # the radio is rebooting: ask again in a moment
