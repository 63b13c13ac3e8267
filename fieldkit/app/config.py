"""Hub configuration: one commented TOML file per hub, with ``FIELDKIT_*`` overrides.

Parsing is pure (:func:`parse_config` takes the TOML data and the environment); reading the
file is the CLI's business. A bad value raises :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import ipaddress
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any

from fieldkit.errors import ConfigError
from fieldkit.sync.engine import SYNC_PROFILES, TUNABLE_TIMINGS, SyncSettings

CONFIG_FILE = "fieldkit.toml"
DEFAULT_LANGUAGES = ("en", "es", "ht", "vi", "zh", "ar")
DEFAULT_WEB_PORT = 8080
DEFAULT_CONSOLE_PORT = 8443  # the coordinator console, over HTTPS
DEFAULT_CLOUD_PORT = 8443  # the cloud aggregator: sync API and console, over HTTPS
RADIO_SCHEMES = ("sim", "serial", "tcp")
_AREA_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

#: Environment variables that override a key: FIELDKIT_WEB_PORT=9000 beats web.port.
ENV_KEYS: Mapping[str, tuple[str, str]] = {
    "FIELDKIT_HUB_NAME": ("hub", "name"),
    "FIELDKIT_DATA_DIR": ("hub", "data_dir"),
    "FIELDKIT_LANGUAGES": ("hub", "languages"),
    "FIELDKIT_RADIO_URL": ("radio", "url"),
    "FIELDKIT_WEB_HOST": ("web", "host"),
    "FIELDKIT_WEB_PORT": ("web", "port"),
    "FIELDKIT_WEB_CONSOLE_PORT": ("web", "console_port"),
    "FIELDKIT_SYNC_PROFILE": ("sync", "profile"),
}
_KNOWN = {
    "hub": {"name", "data_dir", "languages", "emergency"},
    "radio": {"url"},
    "web": {
        "host",
        "port",
        "console_port",
        "still_needed_hours",
        "header_timeout_s",
        "idle_timeout_s",
        "keep_alive_s",
        "max_connections",
    },
    "hotspot": {"ssid", "interface", "address", "country", "channel"},
    "sync": {"profile", *(f"{name}_s" for name in TUNABLE_TIMINGS)},
    "cloud": {
        "database",
        "schema",
        "hostname",
        "port",
        "cert_file",
        "key_file",
        "retry_min_s",
        "retry_max_s",
        "interval_s",
        "timeout_s",
    },
}
MAX_TIMING_S = 24 * 3600  # no sync timing waits longer than a day
_INTERFACE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")  # a Linux interface name (IFNAMSIZ)
_COUNTRY = re.compile(r"^[A-Z]{2}$")
SSID_MAX_BYTES = 32  # IEEE 802.11
WIFI_CHANNELS = range(1, 14)  # 2.4 GHz; 12 and 13 only where the country allows


@dataclass(frozen=True)
class Area:
    id: str
    name: str
    adjacent: tuple[str, ...] = ()
    #: The area's centroid (WGS 84 degrees), for maps and GeoJSON exports; both or neither.
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Hotspot:
    """The open Wi-Fi the hub offers (used by ``fieldkit provision``)."""

    ssid: str = ""  # "" is the hub's name
    interface: str = "wlan0"
    address: str = "10.42.0.1/24"  # the hub's address and the clients' network
    country: str = "US"  # the Wi-Fi regulatory domain
    channel: int = 6

    @property
    def network(self) -> ipaddress.IPv4Interface:
        return ipaddress.IPv4Interface(self.address)


@dataclass(frozen=True)
class ServerLimits:
    """What keeps a web server answering under a flood (``[web]`` ``header_timeout_s``,
    ``idle_timeout_s``, ``keep_alive_s``, ``max_connections``); enforced by
    :mod:`fieldkit.app.server_limits` on the residents' port, the console and the cloud."""

    header_timeout: float = 10.0  # seconds from a request's first byte to its last header
    idle_timeout: float = 30.0  # seconds without a byte of a request body
    keep_alive: float = 5.0  # seconds an idle keep-alive connection stays open
    max_connections: int = 256  # beyond: 503 at once
    log_every: float = 10.0  # seconds between two log lines with the same message


#: The ``[web]`` key of each server limit, and the most it may be set to.
LIMIT_KEYS: Mapping[str, tuple[str, float]] = {
    "header_timeout": ("header_timeout_s", 600),
    "idle_timeout": ("idle_timeout_s", 3600),
    "keep_alive": ("keep_alive_s", 600),
    "max_connections": ("max_connections", 65535),
}


@dataclass(frozen=True)
class CloudSettings:
    """``[cloud]``: on the cloud aggregator (``fieldkit run --role cloud``), its database,
    hostname, port and certificate; on a hub that joined a cloud, how it probes it."""

    database: str = ""  # sqlite:///path or postgresql://…; "" on a hub
    schema: str = ""  # a PostgreSQL schema of its own ("" is the server's default)
    hostname: str = "localhost"  # the name the cloud answers (and its certificate holds)
    port: int = DEFAULT_CLOUD_PORT
    cert_file: str = ""  # "" is the certificate `fieldkit cloud init` made in the data dir
    key_file: str = ""
    retry_min_s: float = 15.0  # a hub's first retry after the cloud did not answer ...
    retry_max_s: float = 900.0  # ... doubling up to this
    interval_s: float = 300.0  # between syncs while the cloud answers
    timeout_s: float = 60.0  # one request's network timeout


@dataclass(frozen=True)
class Config:
    hub_name: str
    data_dir: Path
    languages: tuple[str, ...] = DEFAULT_LANGUAGES
    areas: tuple[Area, ...] = ()
    radio_url: str = ""
    web_host: str = "127.0.0.1"
    web_port: int = DEFAULT_WEB_PORT
    console_port: int = DEFAULT_CONSOLE_PORT
    hotspot: Hotspot = Hotspot()
    sync_profile: str = "fixed"
    sync: SyncSettings = SYNC_PROFILES["fixed"]  # the profile's timings with the overrides
    #: What to do when a life is at risk ("Call 911 or go to the fire station on Main St"), as
    #: written, and the same line in other languages: ``(("es", "Llame al 911 …"), …)``.
    emergency: str = ""
    emergency_translations: tuple[tuple[str, str], ...] = ()
    cloud: CloudSettings = CloudSettings()
    #: The console flags an open need "still needed?" once it is this old (web.still_needed_hours).
    still_needed_hours: int = 72
    limits: ServerLimits = ServerLimits()

    def emergency_line(self, language: str) -> str:
        """The emergency line in ``language``, else as written ("" if none is configured)."""
        return dict(self.emergency_translations).get(language, self.emergency)

    @property
    def ssid(self) -> str:
        """The Wi-Fi name: the configured one, or the hub's name cut to what Wi-Fi allows."""
        return self.hotspot.ssid or _cut_utf8(self.hub_name, SSID_MAX_BYTES)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "hub.sqlite3"

    def area_names(self) -> dict[str, str]:
        return {area.id: area.name for area in self.areas}


def _text(value: Any, key: str, *, allow_empty: bool = False, limit: int = 200) -> str:
    if not isinstance(value, str):
        raise ConfigError(key, f"expected text in quotes, got {value!r}")
    text: str = value.strip()
    if not text and not allow_empty:
        raise ConfigError(key, "must not be empty")
    if len(text) > limit:
        raise ConfigError(key, f"longer than {limit} characters")
    return text


def _port(value: Any, key: str) -> int:
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise ConfigError(key, f"expected a port number 1-65535, got {value!r}")
    return value


def _languages(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not value:
        raise ConfigError(key, 'expected a list of language codes like ["en", "es"]')
    for code in value:
        if not isinstance(code, str) or not _LANGUAGE.match(code):
            raise ConfigError(key, f"not a language code: {code!r} (like en, es, ht, zh)")
    return tuple(value)


def check_radio_url(value: str, key: str = "radio.url") -> str:
    """``""`` (no radio), ``sim://host:port``, ``serial://`` or ``serial:///dev/tty…``,
    ``tcp://host[:port]``."""
    if not value:
        return value
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in RADIO_SCHEMES:
        raise ConfigError(
            key,
            f"expected sim://HOST:PORT, serial:///dev/ttyUSB0 or tcp://HOST:4403, got {value!r}",
        )
    if scheme in ("sim", "tcp") and not rest.split(":")[0]:
        raise ConfigError(key, f"{scheme}:// needs a host, like {scheme}://127.0.0.1:4403")
    if scheme in ("sim", "tcp") and ":" in rest:
        _port(rest.rsplit(":", 1)[1], key)
    return value


def _emergency(value: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
    """``emergency = "…"``, or a table ``[hub.emergency]`` with ``text`` and a line per
    language (``es = "…"``)."""
    if not isinstance(value, dict):
        return _text(value, "hub.emergency", allow_empty=True, limit=300), ()
    if "text" not in value:
        raise ConfigError(
            "hub.emergency.text", "missing: the line shown in the languages that have none"
        )
    text = _text(value["text"], "hub.emergency.text", limit=300)
    translations = []
    for code, line in value.items():
        if code == "text":
            continue
        if not _LANGUAGE.match(code):
            raise ConfigError(f"hub.emergency.{code}", "expected a language code, like es")
        translations.append((code, _text(line, f"hub.emergency.{code}", limit=300)))
    return text, tuple(translations)


def _cut_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8")[:limit]
    return data.decode("utf-8", errors="ignore").strip()


def _hotspot(value: Any) -> Hotspot:
    if not isinstance(value, dict):
        raise ConfigError("hotspot", "expected a table: [hotspot]")
    defaults = Hotspot()
    ssid = _text(value.get("ssid", ""), "hotspot.ssid", allow_empty=True)
    if len(ssid.encode("utf-8")) > SSID_MAX_BYTES or any(ord(ch) < 32 for ch in ssid):
        raise ConfigError("hotspot.ssid", f"a Wi-Fi name is at most {SSID_MAX_BYTES} bytes of text")
    interface = _text(value.get("interface", defaults.interface), "hotspot.interface")
    if not _INTERFACE.match(interface):
        raise ConfigError("hotspot.interface", f"not a network interface name: {interface!r}")
    address = _text(value.get("address", defaults.address), "hotspot.address")
    try:
        network = ipaddress.IPv4Interface(address)
    except ValueError:
        raise ConfigError(
            "hotspot.address", f"expected an address like 10.42.0.1/24, got {address!r}"
        ) from None
    if not network.network.is_private or not 16 <= network.network.prefixlen <= 29:
        raise ConfigError(
            "hotspot.address", "expected a private network from /16 to /29, like 10.42.0.1/24"
        )
    if network.ip in (network.network.network_address, network.network.broadcast_address):
        raise ConfigError(
            "hotspot.address", f"{network.ip} is not a host address in {network.network}"
        )
    country = _text(value.get("country", defaults.country), "hotspot.country").upper()
    if not _COUNTRY.match(country):
        raise ConfigError(
            "hotspot.country", f"expected a two-letter country code like US, got {country!r}"
        )
    channel = value.get("channel", defaults.channel)
    if not isinstance(channel, int) or isinstance(channel, bool) or channel not in WIFI_CHANNELS:
        raise ConfigError("hotspot.channel", f"expected a 2.4 GHz channel 1-13, got {channel!r}")
    return Hotspot(ssid, interface, str(network), country, channel)


def _sync(value: Mapping[str, Any], profile_key: str) -> tuple[str, SyncSettings]:
    """A named profile (``sync.profile``) with any timing overridden in seconds."""
    profile = _text(value.get("profile", "fixed"), profile_key)
    if profile not in SYNC_PROFILES:
        raise ConfigError(
            profile_key, f"expected one of {', '.join(SYNC_PROFILES)}, got {profile!r}"
        )
    overrides = {}
    for name in TUNABLE_TIMINGS:
        key = f"{name}_s"
        if key not in value:
            continue
        seconds = value[key]
        if (not isinstance(seconds, int | float) or isinstance(seconds, bool)
                or not 0 <= seconds <= MAX_TIMING_S):  # fmt: skip
            raise ConfigError(
                f"sync.{key}", f"expected seconds from 0 to {MAX_TIMING_S}, got {seconds!r}"
            )
        overrides[name] = round(seconds * 1000)
    settings = replace(SYNC_PROFILES[profile], **overrides)
    if settings.heartbeat_min > settings.heartbeat_max:
        raise ConfigError("sync.heartbeat_min_s", "must not exceed sync.heartbeat_max_s")
    for f in dataclass_fields(settings):
        if f.name in TUNABLE_TIMINGS and f.name != "jitter" and getattr(settings, f.name) <= 0:
            raise ConfigError(f"sync.{f.name}_s", "must be more than 0 seconds")
    return profile, settings


def _degrees(spec: Mapping[str, Any], key: str, name: str, limit: int) -> float | None:
    value = spec.get(name)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or abs(value) > limit:
        raise ConfigError(
            f"{key}.{name}", f"expected degrees from -{limit} to {limit}, got {value!r}"
        )
    return float(value)


def _areas(value: Any) -> tuple[Area, ...]:
    if not isinstance(value, dict):
        raise ConfigError("areas", "expected a table of areas: [areas.riverside]")
    areas = []
    for area_id, spec in value.items():
        key = f"areas.{area_id}"
        if not _AREA_ID.match(area_id):
            raise ConfigError(key, "area ids are lower-case letters, digits, - and _")
        if not isinstance(spec, dict):
            raise ConfigError(key, 'expected { name = "…", adjacent = […] }')
        unknown = set(spec) - {"name", "adjacent", "lat", "lon"}
        if unknown:
            raise ConfigError(f"{key}.{sorted(unknown)[0]}", "unknown key")
        name = _text(spec.get("name", area_id), f"{key}.name", limit=60)
        adjacent = spec.get("adjacent", [])
        if not isinstance(adjacent, list) or not all(isinstance(a, str) for a in adjacent):
            raise ConfigError(f"{key}.adjacent", 'expected a list of area ids like ["downtown"]')
        lat, lon = _degrees(spec, key, "lat", 90), _degrees(spec, key, "lon", 180)
        if (lat is None) != (lon is None):
            raise ConfigError(f"{key}.{'lon' if lon is None else 'lat'}", "give lat and lon both")
        areas.append(Area(area_id, name, tuple(adjacent), lat, lon))
    ids = {a.id for a in areas}
    for area in areas:
        for other in area.adjacent:
            if other not in ids:
                raise ConfigError(f"areas.{area.id}.adjacent", f"no area named {other!r}")
    return tuple(areas)


def parse_config(data: Mapping[str, Any], env: Mapping[str, str], base: Path) -> Config:
    """Build a :class:`Config` from TOML data plus environment overrides.

    Relative paths are taken from ``base`` (the config file's folder).
    """
    merged: dict[str, Any] = {}
    for section, values in data.items():
        if section == "areas":
            continue
        if section not in _KNOWN or not isinstance(values, dict):
            raise ConfigError(
                section, "unknown section (expected hub, radio, web, hotspot, sync, cloud, areas)"
            )
        for name in values:
            if name not in _KNOWN[section]:
                raise ConfigError(f"{section}.{name}", "unknown key")
        merged[section] = dict(values)
    keys = {}
    for env_name, (section, name) in ENV_KEYS.items():
        if env_name in env:
            merged.setdefault(section, {})[name] = env[env_name]
            keys[(section, name)] = env_name

    def get(section: str, name: str, default: Any) -> tuple[Any, str]:
        return merged.get(section, {}).get(name, default), keys.get(
            (section, name), f"{section}.{name}"
        )

    name, k = get("hub", "name", None)
    if name is None:
        raise ConfigError("hub.name", "missing: every hub needs a name residents recognise")
    hub_name = _text(name, k, limit=80)
    data_dir, k = get("hub", "data_dir", "data")
    data_path = Path(_text(data_dir, k)).expanduser()
    languages, k = get("hub", "languages", list(DEFAULT_LANGUAGES))
    radio, k_radio = get("radio", "url", "")
    host, k_host = get("web", "host", "127.0.0.1")
    port, k_port = get("web", "port", DEFAULT_WEB_PORT)
    console_port, k_console = get("web", "console_port", DEFAULT_CONSOLE_PORT)
    sync_profile, sync = _sync(merged.get("sync", {}), get("sync", "profile", "")[1])
    emergency, emergency_translations = _emergency(merged.get("hub", {}).get("emergency", ""))
    still_needed, k_still = get("web", "still_needed_hours", 72)
    if (
        not isinstance(still_needed, int)
        or isinstance(still_needed, bool)
        or not (1 <= still_needed <= 24 * 365)
    ):
        raise ConfigError(k_still, "expected a whole number of hours, 1 to 8760")
    return Config(
        hub_name=hub_name,
        data_dir=data_path if data_path.is_absolute() else base / data_path,
        languages=_languages(languages, k),
        areas=_areas(data.get("areas", {})),
        radio_url=check_radio_url(_text(radio, k_radio, allow_empty=True), k_radio),
        web_host=_text(host, k_host),
        web_port=_port(port, k_port),
        console_port=_port(console_port, k_console),
        hotspot=_hotspot(merged.get("hotspot", {})),
        sync_profile=sync_profile,
        sync=sync,
        emergency=emergency,
        emergency_translations=emergency_translations,
        cloud=_cloud(merged.get("cloud", {}), base),
        still_needed_hours=still_needed,
        limits=_limits(merged.get("web", {})),
    )


def _limits(web: Mapping[str, Any]) -> ServerLimits:
    """The server limits set in ``[web]``: seconds (or connections) more than 0 up to a cap."""
    given: dict[str, Any] = {}
    for name, (key, most) in LIMIT_KEYS.items():
        if key not in web:
            continue
        value = web[key]
        whole = name == "max_connections"
        if (not isinstance(value, int if whole else int | float) or isinstance(value, bool)
                or not 0 < value <= most):  # fmt: skip
            what = "a whole number of connections" if whole else "seconds"
            raise ConfigError(f"web.{key}", f"expected {what} more than 0 up to {most:g}, "
                                            f"got {value!r}")  # fmt: skip
        given[name] = value if whole else float(value)
    return ServerLimits(**given)


def _cloud(value: Mapping[str, Any], base: Path) -> CloudSettings:
    """``[cloud]``: the cloud role's database and serving, a hub's probing of its cloud.
    Relative paths (an SQLite database, certificate files) are taken from ``base``."""
    defaults = CloudSettings()
    database = _text(value.get("database", ""), "cloud.database", allow_empty=True, limit=1000)
    if database and not database.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ConfigError(
            "cloud.database", f"expected sqlite:///PATH or postgresql://…, got {database!r}"
        )
    if database.startswith("sqlite:///"):
        path = Path(database.removeprefix("sqlite:///")).expanduser()
        database = f"sqlite:///{path if path.is_absolute() else base / path}"
    schema = _text(value.get("schema", ""), "cloud.schema", allow_empty=True, limit=63)
    if schema and not re.match(r"^[a-z_][a-z0-9_]*$", schema):
        raise ConfigError("cloud.schema", "lower-case letters, digits and _")
    hostname = _text(value.get("hostname", defaults.hostname), "cloud.hostname", limit=253)
    seconds = {}
    for name in ("retry_min_s", "retry_max_s", "interval_s", "timeout_s"):
        given = value.get(name, getattr(defaults, name))
        if (not isinstance(given, int | float) or isinstance(given, bool)
                or not 0 < given <= MAX_TIMING_S):  # fmt: skip
            raise ConfigError(
                f"cloud.{name}", f"expected seconds more than 0 up to {MAX_TIMING_S}, got {given!r}"
            )
        seconds[name] = float(given)
    if seconds["retry_min_s"] > seconds["retry_max_s"]:
        raise ConfigError("cloud.retry_min_s", "must not exceed cloud.retry_max_s")
    cert_file, key_file = (
        str(base / text) if (text := _text(value.get(name, ""), f"cloud.{name}",
                                           allow_empty=True, limit=1000)) else ""
        for name in ("cert_file", "key_file")
    )  # fmt: skip
    if bool(cert_file) != bool(key_file):
        raise ConfigError("cloud.key_file" if cert_file else "cloud.cert_file",
                          "give cloud.cert_file and cloud.key_file both")  # fmt: skip
    return CloudSettings(
        database, schema, hostname, _port(value.get("port", defaults.port), "cloud.port"),
        cert_file, key_file, seconds["retry_min_s"], seconds["retry_max_s"],
        seconds["interval_s"], seconds["timeout_s"],
    )  # fmt: skip


def load_config(path: Path, env: Mapping[str, str]) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            str(path), "no such file: run `fieldkit init` here, or pass --config PATH"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    return parse_config(data, env, path.parent.resolve())


def _q(text: str) -> str:
    """A TOML basic string (JSON string escapes are valid TOML)."""
    return json.dumps(text, ensure_ascii=False)


def areas_toml(areas: tuple[Area, ...]) -> str:
    """The ``[areas.ID]`` tables of a config file."""
    tables = []
    for area in areas:
        adjacent = ", ".join(_q(a) for a in area.adjacent)
        table = f"[areas.{area.id}]\nname = {_q(area.name)}\nadjacent = [{adjacent}]\n"
        if area.lat is not None and area.lon is not None:
            table += f"lat = {area.lat!r}\nlon = {area.lon!r}\n"
        tables.append(table)
    return "\n".join(tables)


def add_areas(path: Path, areas: tuple[Area, ...], env: Mapping[str, str]) -> Config:
    """Append ``areas`` to the config file at ``path`` (which names none yet), written whole
    or not at all, and return the config as it now reads."""
    text = path.read_text(encoding="utf-8")
    new_text = (
        text.rstrip("\n") + "\n\n# The network's areas (from its join code).\n" + areas_toml(areas)
    )
    config = parse_config(tomllib.loads(new_text), env, path.parent.resolve())
    temporary = path.with_name(path.name + ".new")
    temporary.write_text(new_text, encoding="utf-8")
    temporary.replace(path)
    return config


def render_config(name: str, areas: tuple[Area, ...] = (), data_dir: str = "data",
                  radio_url: str = "", port: int = DEFAULT_WEB_PORT,
                  console_port: int = DEFAULT_CONSOLE_PORT) -> str:  # fmt: skip
    """The commented config file ``fieldkit init`` writes."""
    areas_text = areas_toml(areas) or (
        '# [areas.riverside]\n# name = "Riverside"\n# adjacent = ["downtown"]\n'
    )
    return f"""\
# fieldkit hub configuration. Every key can be overridden by an environment variable,
# named beside it (e.g. FIELDKIT_WEB_PORT=9000). Lines starting with # are comments.

[hub]
# The name residents see on this hub's pages.                         FIELDKIT_HUB_NAME
name = {_q(name)}
# Where the database lives, relative to this file.                    FIELDKIT_DATA_DIR
data_dir = {_q(data_dir)}
# Languages the pages offer, first is the default.                    FIELDKIT_LANGUAGES
languages = [{", ".join(_q(lang) for lang in DEFAULT_LANGUAGES)}]
# What to do when a life is at risk, shown on the home page and after an urgent request,
# e.g. "Call 911 or go to the fire station on Main St". For other languages, replace it
# with a table: [hub.emergency] text = "…" es = "Llame al 911 …" (the rest see "text").
emergency = ""

[radio]
# The LoRa radio: "" for none, "serial://" (the one attached radio),
# "serial:///dev/ttyUSB0", "tcp://127.0.0.1:4403" (meshtasticd on a LoRa HAT),
# or "sim://127.0.0.1:4403" (fieldkit sim).                           FIELDKIT_RADIO_URL
url = {_q(radio_url)}

[web]
# "0.0.0.0" to serve the hotspot; 127.0.0.1 serves this machine only.  FIELDKIT_WEB_HOST
host = "127.0.0.1"
port = {port}                                                      # FIELDKIT_WEB_PORT
# The coordinator console, over HTTPS only (its certificate is made by `fieldkit init`;
# `fieldkit status` shows its fingerprint).                   FIELDKIT_WEB_CONSOLE_PORT
console_port = {console_port}

[hotspot]
# The open Wi-Fi `fieldkit provision render` sets up on a Pi. The Wi-Fi name residents
# see ("" is the hub's name), the Wi-Fi interface, the hub's address on it (phones get
# addresses from the same network), the country whose Wi-Fi rules apply, and the channel.
ssid = ""
interface = "wlan0"
address = "10.42.0.1/24"
country = "US"
channel = 6

[sync]
# Radio sync timings: "fixed" (a hub that stays put), "runner" (a hub carried between
# neighbourhoods) or "mains" (mains power, no duty cycle). Any timing can be set in
# seconds: debounce_s, jitter_s, forward_s, heartbeat_min_s, heartbeat_max_s,
# heartbeat_alone_s, peer_timeout_s, settle_s (see README).                   FIELDKIT_SYNC_PROFILE
profile = "fixed"

# Areas residents can pick from (they may also type their own). "adjacent" lists the areas
# next to each one, so matching can suggest help from nearby.
{areas_text}"""
