"""Configuration: the file init writes loads back; bad values name their key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from fieldkit.app.config import (
    _KNOWN,
    LIMIT_KEYS,
    Area,
    ServerLimits,
    load_config,
    parse_config,
    render_config,
)
from fieldkit.errors import ConfigError
from fieldkit.sync.engine import SYNC_PROFILES

README = Path(__file__).parents[2] / "README.md"

BASE = Path("/srv/hub")


def parse(data: dict[str, object], env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return parse_config({"hub": {"name": "St. Mary's"}} | data, env or {}, BASE)


def test_the_file_init_writes_loads_back_with_its_values(tmp_path: Path) -> None:
    areas = (
        Area("riverside", "Riverside", ("downtown",), lat=29.95, lon=-90.07),
        Area("downtown", 'Down "town"'),
    )
    path = tmp_path / "fieldkit.toml"
    path.write_text(render_config('Hub "1" · ñ', areas, radio_url="sim://127.0.0.1:4403"))
    config = load_config(path, {})
    assert config.hub_name == 'Hub "1" · ñ'
    assert config.areas == areas
    assert config.radio_url == "sim://127.0.0.1:4403"
    assert config.data_dir == tmp_path / "data"
    assert (config.web_host, config.web_port, config.console_port) == ("127.0.0.1", 8080, 8443)


def test_the_hotspot_section_init_writes_holds_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "fieldkit.toml"
    path.write_text(render_config("St. Mary's"))
    hotspot = load_config(path, {}).hotspot
    assert (hotspot.interface, hotspot.address, hotspot.country, hotspot.channel) == (
        "wlan0", "10.42.0.1/24", "US", 6,
    )  # fmt: skip
    assert load_config(path, {}).ssid == "St. Mary's"


def test_the_written_file_is_commented() -> None:
    text = render_config("x")
    assert text.count("#") > 10
    assert "FIELDKIT_WEB_PORT" in text
    tomllib.loads(text)


def test_environment_overrides_beat_the_file() -> None:
    config = parse(
        {"web": {"port": 8080}}, {"FIELDKIT_WEB_PORT": "9000", "FIELDKIT_LANGUAGES": "es, ht"}
    )
    assert config.web_port == 9000
    assert config.languages == ("es", "ht")
    assert parse({}).console_port == 8443  # the coordinator console's HTTPS port
    assert parse({"web": {"console_port": 9443}}).console_port == 9443
    assert parse({}, {"FIELDKIT_WEB_CONSOLE_PORT": "8444"}).console_port == 8444


@pytest.mark.parametrize(
    ("data", "env", "key"),
    [
        ({"web": {"port": 70000}}, {}, "web.port"),
        ({"web": {"port": "eighty"}}, {}, "web.port"),
        ({}, {"FIELDKIT_WEB_PORT": "0"}, "FIELDKIT_WEB_PORT"),
        ({"web": {"prot": 80}}, {}, "web.prot"),
        ({"radio": {"url": "usb:/dev/ttyUSB0"}}, {}, "radio.url"),
        ({"radio": {"url": "tcp://:4403"}}, {}, "radio.url"),
        ({"hub": {"name": "x", "languages": ["english"]}}, {}, "hub.languages"),
        ({"hub": {"name": ""}}, {}, "hub.name"),
        ({"areas": {"Bad Id": {"name": "x"}}}, {}, "areas.Bad Id"),
        ({"areas": {"north": {"adjacent": ["south"]}}}, {}, "areas.north.adjacent"),
        ({"mesh": {}}, {}, "mesh"),
        ({"hotspot": {"ssid": "x" * 33}}, {}, "hotspot.ssid"),
        ({"hotspot": {"ssid": "line\nbreak"}}, {}, "hotspot.ssid"),
        ({"hotspot": {"interface": "wlan0; rm -rf /"}}, {}, "hotspot.interface"),
        ({"hotspot": {"address": "10.42.0.1"}}, {}, "hotspot.address"),  # /32: no phones
        ({"hotspot": {"address": "8.8.8.1/24"}}, {}, "hotspot.address"),  # not private
        ({"hotspot": {"address": "10.42.0.0/24"}}, {}, "hotspot.address"),  # the network
        ({"hotspot": {"address": "hub"}}, {}, "hotspot.address"),
        ({"hotspot": {"country": "USA"}}, {}, "hotspot.country"),
        ({"hotspot": {"channel": 14}}, {}, "hotspot.channel"),
        ({"hotspot": {"chanel": 6}}, {}, "hotspot.chanel"),
        ({"areas": {"north": {"lat": 91, "lon": 0}}}, {}, "areas.north.lat"),
        ({"areas": {"north": {"lat": 10, "lon": "west"}}}, {}, "areas.north.lon"),
        ({"areas": {"north": {"lat": 10}}}, {}, "areas.north.lon"),  # both or neither
        ({"areas": {"north": {"lon": 10}}}, {}, "areas.north.lat"),
        ({"sync": {"profile": "fast"}}, {}, "sync.profile"),
        ({}, {"FIELDKIT_SYNC_PROFILE": "walker"}, "FIELDKIT_SYNC_PROFILE"),
        ({"sync": {"debounce_s": -1}}, {}, "sync.debounce_s"),
        ({"sync": {"debounce_s": "ten"}}, {}, "sync.debounce_s"),
        ({"sync": {"debounce_s": True}}, {}, "sync.debounce_s"),
        ({"sync": {"forward_s": 0}}, {}, "sync.forward_s"),
        ({"sync": {"peer_timeout_s": 10**9}}, {}, "sync.peer_timeout_s"),
        ({"sync": {"heartbeat_min_s": 600, "heartbeat_max_s": 60}}, {}, "sync.heartbeat_min_s"),
        ({"sync": {"debounce": 60}}, {}, "sync.debounce"),  # seconds say so: debounce_s
        ({"web": {"console_port": 0}}, {}, "web.console_port"),
        ({}, {"FIELDKIT_WEB_CONSOLE_PORT": "https"}, "FIELDKIT_WEB_CONSOLE_PORT"),
        ({"web": {"header_timeout_s": 0}}, {}, "web.header_timeout_s"),
        ({"web": {"idle_timeout_s": "30"}}, {}, "web.idle_timeout_s"),
        ({"web": {"keep_alive_s": 10**6}}, {}, "web.keep_alive_s"),
        ({"web": {"max_connections": 2.5}}, {}, "web.max_connections"),
        ({"web": {"max_connections": True}}, {}, "web.max_connections"),
    ],
)
def test_a_bad_value_gets_one_clear_error_naming_the_key(data, env, key) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as caught:
        parse(data, env)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"config {key}: ")


def test_a_missing_or_broken_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="fieldkit init"):
        load_config(tmp_path / "nope.toml", {})
    broken = tmp_path / "broken.toml"
    broken.write_text("[hub\nname = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken, {})


def test_sync_timings_default_to_the_fixed_profile(tmp_path: Path) -> None:
    path = tmp_path / "fieldkit.toml"
    path.write_text(render_config("x"))
    config = load_config(path, {})
    assert (config.sync_profile, config.sync) == ("fixed", SYNC_PROFILES["fixed"])


def test_a_profile_sets_every_timing_and_seconds_override_one() -> None:
    config = parse({"sync": {"profile": "runner", "debounce_s": 30}})
    runner = SYNC_PROFILES["runner"]
    assert config.sync.debounce == 30_000
    assert config.sync.heartbeat_alone == runner.heartbeat_alone
    assert config.sync.heartbeat_alone < SYNC_PROFILES["fixed"].heartbeat_alone
    assert parse({}, {"FIELDKIT_SYNC_PROFILE": "mains"}).sync == SYNC_PROFILES["mains"]


def test_the_profiles_keep_their_own_rules() -> None:
    for name, settings in SYNC_PROFILES.items():
        assert 0 < settings.heartbeat_min <= settings.heartbeat_max, name
        assert settings.jitter < settings.forward < settings.debounce, name


def test_the_readme_documents_every_config_key() -> None:
    text = README.read_text()
    table = text[text.index("| key |") :].split("\n\n", 1)[0]
    for section, names in _KNOWN.items():
        for name in names:
            assert f"`{section}.{name}`" in table, f"{section}.{name} is not in README's table"


def test_still_needed_hours_is_a_whole_number_of_hours() -> None:
    from fieldkit.app.config import parse_config
    from fieldkit.errors import ConfigError

    base = {"hub": {"name": "x"}}
    assert parse_config(base, {}, Path(".")).still_needed_hours == 72
    assert (
        parse_config({**base, "web": {"still_needed_hours": 24}}, {}, Path(".")).still_needed_hours
        == 24
    )
    with pytest.raises(ConfigError, match=r"web\.still_needed_hours"):
        parse_config({**base, "web": {"still_needed_hours": 0}}, {}, Path("."))


def test_server_limits_are_set_in_the_web_section_and_default_to_the_documented_values() -> None:
    assert parse({}).limits == ServerLimits()
    limits = parse({"web": {"header_timeout_s": 4, "keep_alive_s": 2.5, "max_connections": 64}})
    assert limits.limits == ServerLimits(header_timeout=4.0, keep_alive=2.5, max_connections=64)
    table = README.read_text()
    for name, (key, _) in LIMIT_KEYS.items():
        default = getattr(ServerLimits(), name)
        assert f"| `web.{key}` | | `{default:g}` |" in table, key
