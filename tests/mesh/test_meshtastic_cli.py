"""The real ``meshtastic`` command line works against the simulator."""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from meshtastic.protobuf import apponly_pb2, channel_pb2, config_pb2, localonly_pb2

from fieldkit.app.network import channel_url, new_network
from fieldkit.mesh.airtime import TEXT_MESSAGE_APP
from fieldkit.mesh.meshtastic_transport import MeshtasticTransport
from fieldkit.mesh.radio_address import RadioAddress, handshake, open_interface
from fieldkit.mesh.simulator import Simulator
from fieldkit.mesh.transport import PRIVATE_APP
from tests.waiting import poll_until

MESHTASTIC = Path(sys.executable).with_name("meshtastic")

pytestmark = pytest.mark.skipif(not MESHTASTIC.exists(), reason="meshtastic CLI not installed")


async def meshtastic_cli(*args: str) -> tuple[int, str]:
    # The CLI asks PyPI for a newer version after --info; a dead proxy makes that fail at once.
    env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    proc = await asyncio.create_subprocess_exec(
        str(MESHTASTIC),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(60):
            out, _ = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, out.decode(errors="replace")


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(2, time_scale=50.0) as s:
        yield s


async def test_meshtastic_info_reads_the_simulated_radio(sim: Simulator) -> None:
    code, out = await meshtastic_cli("--host", f"127.0.0.1:{sim.port(0)}", "--info")
    assert code == 0, out
    assert f"!{sim.node_num(0):08x}" in out
    assert "LONG_FAST" in out or '"region": "US"' in out


async def test_meshtastic_sendtext_reaches_a_transport_on_another_node(sim: Simulator) -> None:
    t = MeshtasticTransport(sim.url(1), extra_ports=[TEXT_MESSAGE_APP])
    try:
        async with asyncio.timeout(15):
            await t.connect()
        code, out = await meshtastic_cli(
            "--host", f"127.0.0.1:{sim.port(0)}", "--sendtext", "hello"
        )
        assert code == 0, out
        async with asyncio.timeout(15):
            frame = await t.recv()
        assert (frame.port, frame.payload, frame.sender) == (
            TEXT_MESSAGE_APP,
            b"hello",
            sim.node_num(0),
        )
    finally:
        await t.close()


async def test_transport_ignores_ports_it_was_not_asked_for(sim: Simulator) -> None:
    t = MeshtasticTransport(sim.url(1))
    sender = MeshtasticTransport(sim.url(0))
    try:
        async with asyncio.timeout(15):
            await t.connect()
            await sender.connect()
        await sender.send(b"text", port=TEXT_MESSAGE_APP)
        await sender.send(b"ours")
        async with asyncio.timeout(15):
            frame = await t.recv()
        assert (frame.port, frame.payload) == (PRIVATE_APP, b"ours")
    finally:
        await t.close()
        await sender.close()


# --- the CLI's config commands change the simulated radio; the library reads them back ----


@dataclass(frozen=True)
class ReadBack:
    """What a fresh library connection sees on the radio."""

    config: localonly_pb2.LocalConfig
    modules: localonly_pb2.LocalModuleConfig
    channels: list[channel_pb2.Channel]
    long_name: str
    short_name: str
    url: str
    position: dict[str, Any]


def _read_back(port: int) -> ReadBack:
    iface = open_interface(RadioAddress("tcp", host="127.0.0.1", port=port), timeout=20)
    try:
        handshake(iface)
        node = iface.localNode
        config = localonly_pb2.LocalConfig()
        config.CopyFrom(node.localConfig)
        modules = localonly_pb2.LocalModuleConfig()
        modules.CopyFrom(node.moduleConfig)
        channels = [channel_pb2.Channel.FromString(c.SerializeToString()) for c in node.channels]
        me = iface.getMyNodeInfo() or {}
        return ReadBack(
            config, modules, channels, iface.getLongName() or "", iface.getShortName() or "",
            node.getURL(includeAll=False), dict(me.get("position") or {}),
        )  # fmt: skip
    finally:
        iface.close()


async def read_back(sim: Simulator, index: int = 0) -> ReadBack:
    return await asyncio.to_thread(_read_back, sim.port(index))


async def cli_on(sim: Simulator, *args: str, index: int = 0) -> str:
    code, out = await meshtastic_cli("--host", f"127.0.0.1:{sim.port(index)}", *args)
    assert code == 0, out
    return out


async def applied(sim: Simulator, effect: Callable[[], object]) -> None:
    """Wait for the radio to show what the CLI asked: the CLI may exit before the radio has read
    its last message (it half-closes and waits only a quarter of a second)."""
    async with asyncio.timeout(15):
        await poll_until(effect)


_LORA = config_pb2.Config.LoRaConfig


async def test_set_region_and_preset_read_back_through_the_library(sim: Simulator) -> None:
    await cli_on(sim, "--set", "lora.region", "EU_868", "--set", "lora.modem_preset", "SHORT_FAST")
    await applied(sim, lambda: sim.radio_state(0).region == "EU_868")
    got = await read_back(sim)
    assert _LORA.RegionCode.Name(got.config.lora.region) == "EU_868"
    assert _LORA.ModemPreset.Name(got.config.lora.modem_preset) == "SHORT_FAST"
    assert sim.radio_state(0).region == "EU_868"


async def test_random_psk_is_set_and_read_back(sim: Simulator) -> None:
    await cli_on(sim, "--ch-set", "psk", "random", "--ch-index", "0")
    got = await read_back(sim)
    assert len(got.channels[0].settings.psk) == 32
    assert got.channels[0].settings.psk == sim.radio_state(0).channels[0].settings.psk


async def test_seturl_sets_channel_name_key_and_lora_config(sim: Simulator) -> None:
    network = new_network(
        "fieldkit", "EU_868", "MEDIUM_FAST", random_bytes=lambda n: bytes(range(n))
    )
    await cli_on(sim, "--seturl", channel_url(network))
    await applied(sim, lambda: sim.radio_state(0).region == "EU_868")
    got = await read_back(sim)
    primary = got.channels[0]
    assert (primary.role, primary.settings.name, primary.settings.psk) == (
        channel_pb2.Channel.Role.PRIMARY, "fieldkit", network.psk,
    )  # fmt: skip
    assert _LORA.RegionCode.Name(got.config.lora.region) == "EU_868"
    assert _LORA.ModemPreset.Name(got.config.lora.modem_preset) == "MEDIUM_FAST"
    assert got.url == channel_url(network)


async def test_set_owner_reads_back_and_other_radios_learn_it(sim: Simulator) -> None:
    await cli_on(sim, "--set-owner", "Hub North", "--set-owner-short", "HN")
    got = await read_back(sim)
    assert (got.long_name, got.short_name) == ("Hub North", "HN")
    # The new NodeInfo went on air: radio 1's node database learnt it, and its client sees it.
    async with asyncio.timeout(15):
        db = await poll_until(lambda: sim.node_db(1).nodes.get(sim.node_num(0)))
    assert db.user.long_name == "Hub North"
    out = await cli_on(sim, "--nodes", index=1)
    assert "Hub North" in out


async def test_configure_yaml_then_export_config_round_trips(
    sim: Simulator, tmp_path: Path
) -> None:
    network = new_network("ops", "EU_868", "LONG_FAST", random_bytes=lambda n: bytes(n * [7]))
    profile = tmp_path / "radio.yaml"
    profile.write_text(
        "owner: Hub East\nowner_short: HE\n"
        f"channel_url: {channel_url(network)}\n"
        "location:\n  lat: 45.5\n  lon: -122.6\n  alt: 30\n"
        "config:\n  lora:\n    region: EU_868\n    hopLimit: 2\n    usePreset: true\n"
        "    txEnabled: true\n  position:\n    fixedPosition: true\n"
        "module_config:\n  telemetry:\n    deviceUpdateInterval: 1800\n"
    )
    await cli_on(sim, "--configure", str(profile))
    got = await read_back(sim)
    assert (got.long_name, got.short_name) == ("Hub East", "HE")
    assert got.channels[0].settings.name == "ops"
    assert got.config.lora.hop_limit == 2
    assert got.modules.telemetry.device_update_interval == 1800
    assert sim.radio_state(0).editing is False  # the transaction was committed
    assert got.config.position.fixed_position
    assert (got.position["latitude"], got.position["longitude"]) == (45.5, -122.6)
    exported = tmp_path / "export.yaml"
    await cli_on(sim, "--export-config", str(exported))
    data = yaml.safe_load(exported.read_text())
    assert (data["owner"], data["owner_short"]) == ("Hub East", "HE")
    b64 = data["channel_url"].split("#", 1)[1]
    exported_set = apponly_pb2.ChannelSet.FromString(
        base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
    )
    assert (exported_set.settings[0].name, exported_set.settings[0].psk) == ("ops", network.psk)
    assert exported_set.lora_config.hop_limit == 2
    assert data["config"]["lora"]["region"] == "EU_868"
    assert data["config"]["lora"]["hopLimit"] == 2
    assert data["module_config"]["telemetry"]["deviceUpdateInterval"] == 1800


async def test_device_metadata_answers(sim: Simulator) -> None:
    out = await cli_on(sim, "--device-metadata")
    assert "firmware_version: 2.7.11.fieldkit-sim" in out
    assert "hw_model: PORTDUINO" in out


async def test_traceroute_lists_the_relay_both_ways() -> None:
    async with Simulator(3, topology="line", time_scale=50.0) as sim:
        out = await cli_on(sim, "--traceroute", f"!{sim.node_num(2):08x}")
    relay = f"{sim.node_num(1):08x}"
    towards, back = out.split("Route traced back to us:")
    assert towards.count(relay) == 1
    assert back.count(relay) == 1
    assert f"{sim.node_num(2):08x}" in towards


async def test_a_radio_on_another_key_no_longer_hears_the_mesh(sim: Simulator) -> None:
    t = MeshtasticTransport(sim.url(1))
    sender = MeshtasticTransport(sim.url(0))
    try:
        await cli_on(sim, "--ch-set", "psk", "random", "--ch-index", "0")
        async with asyncio.timeout(15):
            await t.connect()
            await sender.connect()
        await sender.send(b"lost")
        async with asyncio.timeout(15):
            await poll_until(lambda: sim.stats()[1].undecodable)
        assert sim.stats()[1].frames_delivered == 0
    finally:
        await t.close()
        await sender.close()


async def test_unimplemented_admin_is_refused_and_counted(sim: Simulator) -> None:
    await cli_on(sim, "--enter-dfu")
    await applied(sim, lambda: sim.radio_state(0).unimplemented)
    assert sim.radio_state(0).unimplemented == {"enter_dfu_mode_request": 1}
    assert sim.stats()[0].admin_unimplemented == 1


async def test_an_ignored_node_is_no_longer_heard(sim: Simulator) -> None:
    await cli_on(sim, "--set-ignored-node", f"!{sim.node_num(1):08x}")
    await applied(sim, lambda: sim.node_db(0).ignores(sim.node_num(1)))
    sim.announce(1)
    async with asyncio.timeout(15):
        await poll_until(lambda: sim.stats()[0].frames_received)
    assert not sim.node_db(0).nodes[sim.node_num(1)].user.long_name  # dropped, not learnt


async def test_admin_of_another_node_over_the_air_is_not_authorized(sim: Simulator) -> None:
    _, out = await meshtastic_cli(  # the CLI exits 0 after a NAK: read what it said
        "--host", f"127.0.0.1:{sim.port(0)}", "--dest", f"!{sim.node_num(1):08x}",
        "--set", "lora.region", "EU_868",
    )  # fmt: skip
    assert "NOT_AUTHORIZED" in out, out
    assert sim.radio_state(1).region == "US"


async def test_reboot_and_factory_reset_happen_after_their_delay(sim: Simulator) -> None:
    t = MeshtasticTransport(sim.url(0))
    try:
        async with asyncio.timeout(15):
            await t.connect()
        await cli_on(sim, "--ch-set", "psk", "random", "--ch-index", "0")
        await cli_on(sim, "--factory-reset")
        async with asyncio.timeout(15):  # 5 s of radio time later it reboots: clients drop
            await poll_until(lambda: t.stats().reconnects)
        got = await read_back(sim)
        assert got.channels[0].settings.psk == b"\x01"  # the public default key again
    finally:
        await t.close()
