"""A network and its join code: lossless, typo-proof, the channel URL Meshtastic itself makes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from meshtastic.node import Node
from meshtastic.protobuf import channel_pb2

from fieldkit.app.config import Area
from fieldkit.app.network import (
    JOIN_PREFIX,
    PRESETS,
    REGIONS,
    Network,
    channel_settings,
    channel_url,
    join_code,
    new_network,
    parse_join_code,
)
from fieldkit.errors import ConfigError

AREAS = (Area("riverside", "Riverside", ("downtown",)), Area("downtown", "Down “town”"))
NETWORK = new_network(
    "fieldkit", "US", areas=AREAS, emergency="Call 911 or go to the fire station on Main St"
)

networks = st.builds(
    new_network,
    channel=st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF), min_size=1, max_size=3),
    region=st.sampled_from(REGIONS),
    preset=st.sampled_from(PRESETS),
    areas=st.just(AREAS) | st.just(()),
    emergency=st.text(max_size=80),
)


@given(networks)
def test_a_join_code_carries_the_whole_network_and_nothing_is_lost(network: Network) -> None:
    assert parse_join_code(join_code(network)) == network


def test_two_new_networks_never_share_a_key() -> None:
    other = new_network("fieldkit", "US")
    assert (other.psk, other.key) != (NETWORK.psk, NETWORK.key)
    assert len(NETWORK.psk) == len(NETWORK.key) == 32


@given(st.data())
def test_any_mistyped_character_is_refused_as_damage_not_read_as_another_network(
    data: st.DataObject,
) -> None:
    code = join_code(NETWORK)
    body = code.removeprefix(JOIN_PREFIX)
    at = data.draw(st.integers(0, len(body) - 1))
    typo = data.draw(st.sampled_from("ABCxyz019-_").filter(lambda ch: ch != body[at]))
    mistyped = JOIN_PREFIX + body[:at] + typo + body[at + 1 :]
    try:
        outcome = parse_join_code(mistyped)
    except ConfigError as exc:
        outcome = str(exc)
    # Refused as damaged, or (base64's last symbol has spare bits) the very same network.
    assert outcome == NETWORK or "damaged" in str(outcome) or "not readable" in str(outcome)


def test_a_code_cut_short_says_so() -> None:
    with pytest.raises(ConfigError, match="cut short or mistyped"):
        parse_join_code(join_code(NETWORK)[:-10])


def test_line_breaks_and_spaces_from_copying_are_forgiven() -> None:
    code = join_code(NETWORK)
    assert parse_join_code(" " + code[:30] + "\n" + code[30:] + "\n") == NETWORK


def test_a_newer_code_asks_for_an_upgrade_and_anything_else_is_named() -> None:
    with pytest.raises(ConfigError, match="newer fieldkit"):
        parse_join_code("fkjoin2.AAAA")
    with pytest.raises(ConfigError, match="not a fieldkit join code"):
        parse_join_code("https://meshtastic.org/e/#CgMSAQE")


@pytest.mark.parametrize(
    ("changes", "key"),
    [({"channel": "much too long a name"}, "network.channel"), ({"channel": ""}, "network.channel"),
     ({"region": "MARS"}, "network.region"), ({"preset": "FAST"}, "network.preset")],
)  # fmt: skip
def test_a_bad_setting_names_itself(changes: dict[str, str], key: str) -> None:
    base = {"channel": "fieldkit", "region": "US", "preset": "LONG_FAST"}
    with pytest.raises(ConfigError) as caught:
        new_network(**(base | changes))
    assert caught.value.key == key


def test_the_channel_url_is_the_one_the_meshtastic_library_makes_for_that_channel() -> None:
    node = Node(None, 1, noProto=True)
    settings = channel_settings(NETWORK)
    node.channels = [
        channel_pb2.Channel(
            index=0, role=channel_pb2.Channel.Role.PRIMARY, settings=settings.settings[0]
        )
    ]
    node.localConfig.lora.CopyFrom(settings.lora_config)
    assert channel_url(NETWORK) == node.getURL()
    assert settings.settings[0].psk == NETWORK.psk
