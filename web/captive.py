"""Captive-portal detection: which requests are an OS's connectivity probe, what "online"
looks like to each OS, and which clients have already been through the portal (DESIGN §5).

Pure apart from :class:`Clients`, a bounded in-memory set of client addresses owned by one app.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

#: The Kindle probe page's fixed id.
KINDLE_ID = "81ce4465-7167-4dcb-835b-dcc9e44c112a"
APPLE_SUCCESS = "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>"
FIREFOX_CANONICAL = (
    '<meta http-equiv="refresh" content="0;url=https://support.mozilla.org/kb/captive-portal"/>'
)
KINDLE_STUB = (
    "<html><head><title>Kindle Reachability Probe Page</title>"
    '<META http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
    f"<!--{KINDLE_ID} created with python 2.5 uuid.uuid4()--></head>"
    f'<body bgcolor="#ffffff" text="#000000">{KINDLE_ID}</body></html>'
)


@dataclass(frozen=True)
class Online:
    """The exact answer an OS expects when the network reaches the internet."""

    status: int
    body: str = ""
    content_type: str = "text/plain"


NO_CONTENT = Online(204)
APPLE = Online(200, APPLE_SUCCESS, "text/html")


@dataclass(frozen=True)
class Probe:
    client: str
    host: str
    path: str
    online: Online


PROBES: tuple[Probe, ...] = (
    Probe("Android", "connectivitycheck.gstatic.com", "/generate_204", NO_CONTENT),
    Probe("Android", "connectivitycheck.android.com", "/generate_204", NO_CONTENT),
    Probe("Android", "clients3.google.com", "/generate_204", NO_CONTENT),
    Probe("Android", "www.google.com", "/gen_204", NO_CONTENT),
    Probe("Android", "play.googleapis.com", "/generate_204", NO_CONTENT),
    Probe("ChromeOS", "www.gstatic.com", "/generate_204", NO_CONTENT),
    Probe("iOS/macOS", "captive.apple.com", "/hotspot-detect.html", APPLE),
    Probe("iOS/macOS", "captive.apple.com", "/", APPLE),
    Probe("iOS/macOS", "www.apple.com", "/library/test/success.html", APPLE),
    Probe("Windows", "www.msftconnecttest.com", "/connecttest.txt",
          Online(200, "Microsoft Connect Test")),
    Probe("Windows", "www.msftncsi.com", "/ncsi.txt", Online(200, "Microsoft NCSI")),
    Probe("Firefox", "detectportal.firefox.com", "/canonical.html",
          Online(200, FIREFOX_CANONICAL, "text/html")),
    Probe("Firefox", "detectportal.firefox.com", "/success.txt", Online(200, "success\n")),
    Probe("Kindle", "spectrum.s3.amazonaws.com", "/kindle-wifi/wifistub.html",
          Online(200, KINDLE_STUB, "text/html")),
)  # fmt: skip
_BY_KEY = {(p.host, p.path): p for p in PROBES}

#: Names that are this hub's own, whatever its address: mDNS and private-use suffixes.
LOCAL_SUFFIXES = (".local", ".lan", ".home.arpa", ".internal", ".localhost")


def host_name(host_header: str) -> str:
    """The host part of a Host header, lower-cased, without port or trailing dot."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host[1:]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def host_port(host_header: str) -> int | None:
    """The port a Host header names: 80 when it names none (plain HTTP), None if unreadable.

    This is the port the *phone* connected to; behind the hotspot's firewall, which sends
    port 80 to the app's own port, it differs from the port the app listens on.
    """
    host = host_header.strip()
    if not host:
        return None
    tail = host.rsplit("]", 1)[1] if host.startswith("[") else host
    if tail.count(":") != 1:
        return 80 if ":" not in tail else None
    port = tail.split(":", 1)[1]
    return int(port) if port.isdecimal() and 0 < int(port) < 65536 else None


def find_probe(host: str, path: str) -> Probe | None:
    return _BY_KEY.get((host, path))


def is_own_host(host: str, own: Iterable[str] = ()) -> bool:
    """True for the names a resident may legitimately use to reach this hub: an IP address,
    ``localhost``, a single-label or local name (``hub``, ``hub.local``), or a configured one.
    Everything else is some other site the hotspot's DNS answered for."""
    if not host or host in own or host == "localhost" or "." not in host:
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host.endswith(LOCAL_SUFFIXES)
    return True


class Clients:
    """The client addresses that have been through the portal (submitted, or chose to browse).

    Bounded: the oldest are forgotten first, and a forgotten phone just sees the portal again.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._limit = limit

    def release(self, address: str) -> None:
        self._seen[address] = None
        self._seen.move_to_end(address)
        while len(self._seen) > self._limit:
            self._seen.popitem(last=False)

    def released(self, address: str) -> bool:
        return address in self._seen

    def __len__(self) -> int:
        return len(self._seen)
