"""The hub's radio settings: rendered for `meshtastic --configure`, set and read back."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldkit.app.config import parse_config
from fieldkit.app.network import Network, new_network
from fieldkit.errors import FieldkitError
from fieldkit.mesh.simulator import Simulator
from fieldkit.provisioning import radio
from fieldkit.provisioning.render import RADIO_YAML, radio_yaml, render

GOLDEN = Path(__file__).parents[1] / "data" / "provisioning" / "radio" / "radio.yaml"
MESHTASTIC = Path(sys.executable).with_name("meshtastic")
NETWORK = new_network("fieldkit", "EU_868", "MEDIUM_FAST", random_bytes=lambda n: bytes(range(n)))


def test_radio_yaml_renders_as_its_golden_file() -> None:
    text = radio_yaml(NETWORK, 'St. Mary\'s "Hall"')
    if os.environ.get("FIELDKIT_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_render_adds_the_radio_settings_only_for_a_hub_on_a_network_and_keeps_them_private() -> (
    None
):
    config = parse_config({"hub": {"name": "Library"}}, {}, Path("/etc/fieldkit"))
    assert RADIO_YAML not in render(config)
    rendered = render(config, network=NETWORK)[RADIO_YAML]
    assert rendered.mode == 0o600  # it holds the channel key
    assert "SECRET" in rendered.text


@given(st.text(min_size=0, max_size=80))
def test_owner_names_fit_what_the_firmware_keeps(hub_name: str) -> None:
    assert 0 < len(radio.long_name(hub_name).encode()) <= radio.LONG_NAME_MAX_BYTES
    assert 0 < len(radio.short_name(hub_name)) <= radio.SHORT_NAME_MAX


def test_short_name_is_the_initials() -> None:
    assert radio.short_name("St. Mary's Hall") == "SMSH"
    assert radio.short_name("Library") == "LIBR"
    assert radio.short_name("Fire station") == "FS"


def test_differences_name_what_is_wrong_without_printing_the_key() -> None:
    want = radio.wanted(NETWORK, "Library")
    got = radio.RadioSettings("US", "LONG_FAST", "fieldkit", b"\x01", "x", "X")
    wrong = radio.differences(want, got)
    assert wrong[:3] == ["region US, not EU_868", "preset LONG_FAST, not MEDIUM_FAST",
                         "another channel key"]  # fmt: skip
    assert len(wrong) == 5
    assert radio.differences(want, got, owner=False) == wrong[:3]
    assert not any(NETWORK.psk.hex() in w for w in wrong)


@pytest.fixture
async def sim() -> Simulator:
    async with Simulator(2, time_scale=50.0) as s:
        yield s  # type: ignore[misc]


def _check(sim: Simulator, network: Network, got: radio.RadioSettings, hub: str) -> None:
    assert radio.differences(radio.wanted(network, hub), got) == []
    state = sim.radio_state(0)
    assert (state.region, state.preset, state.channels[0].settings.psk) == (
        network.region, network.preset, network.psk,
    )  # fmt: skip


async def test_provision_sets_the_radio_and_reads_it_back(sim: Simulator) -> None:
    want = radio.wanted(NETWORK, "Library")
    got = await asyncio.to_thread(radio.provision, sim.url(0), want, NETWORK)
    _check(sim, NETWORK, got, "Library")
    assert sim.radio_state(0).owner.long_name == "Library"
    assert sim.radio_state(0).editing is False
    again = await asyncio.to_thread(radio.read, sim.url(0))
    assert again == got


@pytest.mark.skipif(not MESHTASTIC.exists(), reason="meshtastic CLI not installed")
async def test_the_rendered_yaml_configures_a_radio_with_the_real_cli(
    sim: Simulator, tmp_path: Path
) -> None:
    profile = tmp_path / "radio.yaml"
    profile.write_text(radio_yaml(NETWORK, "Fire station"), encoding="utf-8")
    env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    proc = await asyncio.create_subprocess_exec(
        str(MESHTASTIC), "--host", f"127.0.0.1:{sim.port(0)}", "--configure", str(profile),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    async with asyncio.timeout(60):
        out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()
    got = await asyncio.to_thread(radio.read, sim.url(0))
    _check(sim, NETWORK, got, "Fire station")


async def test_a_radio_that_does_not_answer_is_a_clear_error() -> None:
    async with Simulator(1) as sim:
        url = sim.url(0)
        await sim.stop_node(0)
        with pytest.raises(FieldkitError, match="does not answer"):
            await asyncio.to_thread(radio.read, url, 5)


async def test_provision_works_over_a_serial_line_as_on_a_usb_radio(sim: Simulator) -> None:
    path = await sim.open_serial(0)
    want = radio.wanted(NETWORK, "Library")
    got = await asyncio.to_thread(radio.provision, f"serial://{path}", want, NETWORK)
    _check(sim, NETWORK, got, "Library")
