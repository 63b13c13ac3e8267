"""Where a Meshtastic radio is, and how the library is asked to open it.

Radio URLs: ``serial:///dev/ttyUSB0``, ``serial://`` (the one radio on USB), ``tcp://host:4403``
and ``sim://host:port`` (our simulator, plain TCP). The functions that touch the library here
are blocking; :class:`~fieldkit.mesh.meshtastic_transport.MeshtasticTransport` runs them in its
executor and translates their exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fieldkit.errors import TransportError

DEFAULT_TCP_PORT = 4403


@dataclass(frozen=True)
class RadioAddress:
    """Where the radio is: ``kind`` is ``serial`` (``path``, None = auto-detect) or ``tcp``."""

    kind: str
    path: str | None = None
    host: str = ""
    port: int = DEFAULT_TCP_PORT

    def __str__(self) -> str:
        if self.kind == "serial":
            return f"serial://{self.path or ''}"
        return f"tcp://{self.host}:{self.port}"


def parse_radio_url(url: str) -> RadioAddress:
    """``serial:///dev/ttyUSB0``, ``serial://``, ``tcp://host[:port]``, ``sim://host:port``."""
    if url.startswith("/"):
        return RadioAddress("serial", url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "serial":
        path = parts.path or None
        if parts.netloc and not path:  # serial://ttyUSB0 (no third slash): be forgiving
            path = "/dev/" + parts.netloc
        return RadioAddress("serial", path)
    if scheme in ("tcp", "sim"):
        if not parts.hostname:
            raise TransportError(f"radio URL {url!r} has no host")
        try:
            port = parts.port or DEFAULT_TCP_PORT
        except ValueError as exc:
            raise TransportError(f"radio URL {url!r}: {exc}") from exc
        return RadioAddress("tcp", host=parts.hostname, port=port)
    raise TransportError(
        f"unsupported radio URL {url!r}: use serial:///dev/ttyUSB0, serial://, tcp://host:4403 "
        "or sim://host:port"
    )


def find_serial_radio() -> str:
    """The device path of the one Meshtastic radio on USB (library's ``findPorts``)."""
    from meshtastic.util import findPorts

    ports: list[str] = list(findPorts(True))
    if not ports:
        raise TransportError("no Meshtastic radio found on USB; plug one in or give its path")
    if len(ports) > 1:
        raise TransportError(
            f"several serial radios found ({', '.join(ports)}); name one, e.g. serial://{ports[0]}"
        )
    return ports[0]


def open_interface(addr: RadioAddress, timeout: int) -> Any:
    """A library interface for ``addr``, not yet connected (``connectNow=False``).

    Constructing it unconnected lets the transport know the interface object before the
    handshake starts, so no packet published during the handshake is mistaken for another's.
    """
    if addr.kind == "serial":
        from meshtastic.serial_interface import SerialInterface

        path = addr.path or find_serial_radio()
        return SerialInterface(devPath=path, connectNow=False, timeout=timeout)
    from meshtastic.tcp_interface import TCPInterface

    return TCPInterface(addr.host, portNumber=addr.port, connectNow=False, timeout=timeout)


def handshake(iface: Any) -> tuple[int, str, str]:
    """Connect an interface made by :func:`open_interface`; return node num, preset, region."""
    from meshtastic.protobuf import config_pb2

    iface.connect()
    iface.waitForConfig()
    lora = iface.localNode.localConfig.lora
    enum = config_pb2.Config.LoRaConfig
    return (
        int(iface.myInfo.my_node_num),
        str(enum.ModemPreset.Name(lora.modem_preset)),
        str(enum.RegionCode.Name(lora.region)),
    )


def portnum_value(value: object) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        from meshtastic.protobuf import portnums_pb2

        try:
            return int(portnums_pb2.PortNum.Value(value))
        except ValueError:
            return None
    return None
