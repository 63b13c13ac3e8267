"""LoRa time on air (pure): the Semtech formula, Meshtastic modem presets and frame sizes.

``T_sym = 2^SF / BW``; preamble ``(n_preamble + 4.25) · T_sym``; payload symbols
``8 + max(ceil((8·PL − 4·SF + 28 + 16·CRC − 20·IH) / (4·(SF − 2·DE))) · (CR + 4), 0)`` with low
data-rate optimisation (DE) on when ``T_sym > 16 ms``. Meshtastic uses a 16-symbol preamble,
explicit header and CRC on.

``PL`` (bytes on air) is the 16-byte Meshtastic header plus the encoded ``Data`` protobuf.
Current firmware always sets ``Data.bitfield`` (2 bytes on the wire), so a PRIVATE_APP frame
costs ``16 + 3 (portnum) + 1..2 (payload tag, length) + n + 2`` bytes: 231 payload bytes fill the
255-byte LoRa frame. With that encoding the DESIGN §4 figures are reproduced exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from fieldkit.mesh.transport import PRIVATE_APP

HEADER_BYTES = 16
MAX_LORA_PAYLOAD = 255
ROUTING_APP = 5
TEXT_MESSAGE_APP = 1
DUTY_CYCLE_WINDOW_S = 3600.0


@dataclass(frozen=True)
class ModemPreset:
    """LoRa modulation: spreading factor, bandwidth (Hz), coding rate denominator (5..8)."""

    name: str
    sf: int
    bw_hz: float
    cr_denom: int
    preamble_symbols: int = 16

    @property
    def symbol_s(self) -> float:
        return (1 << self.sf) / self.bw_hz

    @property
    def low_data_rate_optimize(self) -> bool:
        return self.symbol_s > 0.016

    @property
    def bitrate_bps(self) -> float:
        """Raw bit rate ``SF · (BW / 2^SF) · 4/CR``."""
        return self.sf * (self.bw_hz / (1 << self.sf)) * 4 / self.cr_denom


PRESETS: dict[str, ModemPreset] = {
    p.name: p
    for p in (
        ModemPreset("SHORT_TURBO", 7, 500_000, 5),
        ModemPreset("SHORT_FAST", 7, 250_000, 5),
        ModemPreset("SHORT_SLOW", 8, 250_000, 5),
        ModemPreset("MEDIUM_FAST", 9, 250_000, 5),
        ModemPreset("MEDIUM_SLOW", 10, 250_000, 5),
        ModemPreset("LONG_TURBO", 11, 500_000, 8),
        ModemPreset("LONG_FAST", 11, 250_000, 5),
        ModemPreset("LONG_MODERATE", 11, 125_000, 8),
        ModemPreset("LONG_SLOW", 12, 125_000, 8),
        ModemPreset("VERY_LONG_SLOW", 12, 62_500, 8),
    )
}

#: Duty-cycle limit in percent of a rolling hour, by Meshtastic region; absent = no limit.
REGION_DUTY_CYCLE_PERCENT: dict[str, float] = {"EU_433": 10.0, "EU_868": 10.0}


def preset(name: str) -> ModemPreset:
    """The preset called ``name`` (``LONG_FAST``, case-insensitive); ``ValueError`` if unknown."""
    try:
        return PRESETS[name.upper()]
    except KeyError:
        raise ValueError(f"unknown modem preset {name!r}; known: {', '.join(PRESETS)}") from None


def duty_cycle_budget_s(region: str) -> float | None:
    """Seconds of airtime a node may use per rolling hour in ``region``; None = unlimited."""
    percent = REGION_DUTY_CYCLE_PERCENT.get(region.upper())
    return None if percent is None else DUTY_CYCLE_WINDOW_S * percent / 100.0


def time_on_air_s(pl: int, modem: ModemPreset) -> float:
    """Seconds on air for a LoRa frame of ``pl`` bytes (explicit header, CRC on)."""
    if pl < 0:
        raise ValueError("negative frame size")
    t_sym = modem.symbol_s
    de = 1 if modem.low_data_rate_optimize else 0
    ih, crc = 0, 1
    numerator = 8 * pl - 4 * modem.sf + 28 + 16 * crc - 20 * ih
    payload_symbols = 8 + max(math.ceil(numerator / (4 * (modem.sf - 2 * de))) * modem.cr_denom, 0)
    return (modem.preamble_symbols + 4.25) * t_sym + payload_symbols * t_sym


def varint_len(value: int) -> int:
    """Bytes of a protobuf varint."""
    n = 1
    while value >= 0x80:
        value >>= 7
        n += 1
    return n


def data_size(payload_len: int, portnum: int = PRIVATE_APP, *, request_id: bool = False) -> int:
    """Encoded size of ``Data{portnum, payload, [request_id], bitfield}`` as firmware sends it."""
    size = 1 + varint_len(portnum) if portnum else 0
    size += 1 + varint_len(payload_len) + payload_len
    if request_id:
        size += 5  # fixed32
    return size + 2  # bitfield, always present in current firmware


def frame_size(payload_len: int, portnum: int = PRIVATE_APP, *, request_id: bool = False) -> int:
    """``PL``: bytes on air for an application payload (header + Data)."""
    return HEADER_BYTES + data_size(payload_len, portnum, request_id=request_id)


def max_app_payload(portnum: int = PRIVATE_APP) -> int:
    """Largest application payload that still fits a 255-byte LoRa frame."""
    n = MAX_LORA_PAYLOAD
    while n > 0 and frame_size(n, portnum) > MAX_LORA_PAYLOAD:
        n -= 1
    return n


def packet_airtime_s(payload_len: int, modem: ModemPreset, portnum: int = PRIVATE_APP) -> float:
    """Seconds on air for one application payload of ``payload_len`` bytes."""
    return time_on_air_s(frame_size(payload_len, portnum), modem)


def packet_airtime_ms(payload_len: int, modem: ModemPreset, portnum: int = PRIVATE_APP) -> float:
    return packet_airtime_s(payload_len, modem, portnum) * 1000.0


def pacer(modem: ModemPreset) -> Callable[[int], int]:
    """A PRIVATE_APP payload's length -> its whole ms on air (rounded up): what a hub paces
    its sends by (:class:`fieldkit.sync.node.GossipNode`'s ``airtime_ms``)."""
    return lambda payload_len: math.ceil(packet_airtime_ms(payload_len, modem))
