"""A network of hubs: what every hub of it shares, and the join code that carries it (pure).

A :class:`Network` is the Meshtastic channel every hub's radio uses (name, a random 256-bit
PSK, region and modem preset), the app's network key (see :mod:`fieldkit.app.netkey`), the
network's areas and its emergency line. ``fieldkit network new`` makes one; its **join code**
(:func:`join_code`, shown as text, a QR code and a printable page) lets another hub join with
``fieldkit network join CODE``. The code holds both secrets: whoever has it can read and
speak for the network. :func:`channel_url` is the standard Meshtastic channel URL for the same
channel (``meshtastic --seturl URL`` sets a radio from it); it holds the PSK.

The join code is ``fkjoin1.`` + base64url(JSON + a 4-byte SHA-256 check), so a code cut short
or mistyped is refused as such, not read as another network.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from meshtastic.protobuf import apponly_pb2, channel_pb2, config_pb2

from fieldkit.app.config import Area
from fieldkit.app.netkey import KEY_BYTES, ensure_network_key
from fieldkit.errors import ConfigError
from fieldkit.store.port import StorePort

PSK_BYTES = 32  # AES-256, the strongest key a Meshtastic channel takes

CHANNEL_NAME_MAX_BYTES = 11  # Meshtastic: "less than 12 bytes"
JOIN_PREFIX = "fkjoin1."
CHANNEL_URL_BASE = "https://meshtastic.org/e/#"
_CHECK_BYTES = 4
_LORA = config_pb2.Config.LoRaConfig
REGIONS = tuple(v.name for v in _LORA.RegionCode.DESCRIPTOR.values if v.name != "UNSET")
PRESETS = tuple(v.name for v in _LORA.ModemPreset.DESCRIPTOR.values)
SECRET_WARNING = (
    "This join code holds the network's keys: whoever has it can read what the hubs send "
    "and speak for the network. Give it only to people who run a hub of this network."
)


@dataclass(frozen=True)
class Network:
    channel: str  # the Meshtastic channel name
    psk: bytes
    region: str
    preset: str
    key: bytes  # the app's network key
    areas: tuple[Area, ...] = ()
    emergency: str = ""
    cloud: str = ""  # the cloud aggregator's URL, where hubs sync when connectivity returns

    def __post_init__(self) -> None:
        check_channel_name(self.channel)
        if len(self.psk) != PSK_BYTES or len(self.key) != KEY_BYTES:
            raise ConfigError("network", f"keys must be {PSK_BYTES} bytes")
        if self.region not in REGIONS:
            raise ConfigError(
                "network.region", f"not a LoRa region: {self.region!r} (like US, EU_868)"
            )
        if self.preset not in PRESETS:
            raise ConfigError(
                "network.preset", f"not a modem preset: {self.preset!r} (like LONG_FAST)"
            )


def check_channel_name(name: str) -> str:
    if not name or len(name.encode("utf-8")) > CHANNEL_NAME_MAX_BYTES:
        raise ConfigError(
            "network.channel",
            f"a channel name is 1 to {CHANNEL_NAME_MAX_BYTES} bytes, got {name!r}",
        )
    return name


def new_network(
    channel: str,
    region: str,
    preset: str = "LONG_FAST",
    *,
    key: bytes | None = None,
    areas: tuple[Area, ...] = (),
    emergency: str = "",
    cloud: str = "",
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> Network:
    """A new network with a fresh random PSK (and a fresh app key unless ``key`` is given)."""
    return Network(
        channel, random_bytes(PSK_BYTES), region, preset,
        key if key is not None else random_bytes(KEY_BYTES), areas, emergency, cloud,
    )  # fmt: skip


def channel_settings(network: Network) -> apponly_pb2.ChannelSet:
    channels = apponly_pb2.ChannelSet()
    channels.settings.append(channel_pb2.ChannelSettings(name=network.channel, psk=network.psk))
    channels.lora_config.CopyFrom(
        _LORA(
            use_preset=True,
            region=_LORA.RegionCode.Value(network.region),
            modem_preset=_LORA.ModemPreset.Value(network.preset),
            hop_limit=3,
            tx_enabled=True,
        )
    )
    return channels


def channel_url(network: Network) -> str:
    """The Meshtastic channel URL (``meshtastic --seturl``): holds the PSK, a secret."""
    raw = channel_settings(network).SerializeToString()
    return CHANNEL_URL_BASE + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _to_json(network: Network) -> dict[str, Any]:
    return {
        "channel": network.channel, "psk": _b64(network.psk), "region": network.region,
        "preset": network.preset, "key": _b64(network.key), "emergency": network.emergency,
        "areas": [_area_json(a) for a in network.areas],
        **({"cloud": network.cloud} if network.cloud else {}),
    }  # fmt: skip


def _area_json(area: Area) -> list[Any]:
    """[id, name, adjacent] and, when it has one, the centroid: [..., lat, lon]."""
    out: list[Any] = [area.id, area.name, list(area.adjacent)]
    if area.lat is not None and area.lon is not None:
        out += [area.lat, area.lon]
    return out


def _area(data: list[Any]) -> Area:
    lat, lon = (float(data[3]), float(data[4])) if len(data) >= 5 else (None, None)
    return Area(str(data[0]), str(data[1]), tuple(str(a) for a in data[2]), lat, lon)


def join_code(network: Network) -> str:
    payload = json.dumps(_to_json(network), ensure_ascii=False, separators=(",", ":")).encode()
    check = hashlib.sha256(payload).digest()[:_CHECK_BYTES]
    return JOIN_PREFIX + _b64(payload + check)


def parse_join_code(text: str) -> Network:
    """The network a join code describes; a clear ConfigError for anything else."""
    cleaned = "".join(text.split())
    if not cleaned.startswith(JOIN_PREFIX):
        if cleaned.startswith("fkjoin"):
            raise ConfigError("join code", "made by a newer fieldkit: upgrade this hub first")
        raise ConfigError("join code", "not a fieldkit join code (it starts with fkjoin1.)")
    try:
        raw = _unb64(cleaned.removeprefix(JOIN_PREFIX))
    except (binascii.Error, ValueError):
        raw = b""
    payload, check = raw[:-_CHECK_BYTES], raw[-_CHECK_BYTES:]
    if len(raw) <= _CHECK_BYTES or hashlib.sha256(payload).digest()[:_CHECK_BYTES] != check:
        raise ConfigError("join code", "damaged: it was cut short or mistyped; copy it again")
    try:
        data = json.loads(payload)
        return Network(
            channel=data["channel"], psk=_unb64(data["psk"]), region=data["region"],
            preset=data["preset"], key=_unb64(data["key"]), emergency=data.get("emergency", ""),
            areas=tuple(_area(a) for a in data.get("areas", [])),
            cloud=str(data.get("cloud", "")),
        )  # fmt: skip
    except (KeyError, TypeError, ValueError, IndexError, binascii.Error) as exc:
        raise ConfigError("join code", f"not readable ({exc.__class__.__name__})") from None


# --- the hub's network, kept in its store ---------------------------------------------------

META_KEY = "network"


async def saved_network(store: StorePort) -> Network | None:
    """The network this hub joined or made (``fieldkit network new`` / ``join``), if any."""
    text = await store.meta(META_KEY)
    return None if text is None else parse_join_code(text)


async def save_network(store: StorePort, network: Network) -> None:
    """Make ``network`` this hub's: its app key becomes the hub's network key."""
    await ensure_network_key(store, network.key)
    await store.set_meta(META_KEY, join_code(network))
