"""`fieldkit provision radio` and the radio line of `provision check`, against the simulator."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fieldkit.app.network import parse_join_code
from fieldkit.provisioning.render import RADIO_YAML
from tests.simulated_radio import SimThread, simulator_in_thread

from .conftest import Fieldkit, free_port
from .test_network_and_provision import code_in, init


@pytest.fixture
def sim() -> Iterator[SimThread]:
    with simulator_in_thread(2, time_scale=50.0) as s:
        yield s


def hub_on_network(
    fieldkit: Fieldkit, tmp_path: Path, sim: SimThread
) -> tuple[Path, dict[str, str]]:
    hub = init(fieldkit, tmp_path / "hub", "Fire station")
    env = {"FIELDKIT_RADIO_URL": sim.url(0), "FIELDKIT_WEB_PORT": str(free_port())}
    made = fieldkit(hub, "network", "new", "--region", "EU_868", "--channel", "aid", env=env)
    assert made.code == 0, made.err
    return hub, env


def test_provision_radio_sets_and_reads_back_the_networks_settings(
    fieldkit: Fieldkit, tmp_path: Path, sim: SimThread
) -> None:
    hub, env = hub_on_network(fieldkit, tmp_path, sim)
    network = parse_join_code(code_in(fieldkit(hub, "network", "show", "--secrets").out))
    done = fieldkit(hub, "provision", "radio", env=env)
    assert done.code == 0, done.err
    assert "✓ the radio reads back region EU_868, preset LONG_FAST, channel “aid”" in done.out
    state = sim.call(lambda: sim.sim.radio_state(0))
    assert state.channels[0].settings.psk == network.psk
    assert (state.owner.long_name, state.owner.short_name) == ("Fire station", "FS")
    assert network.psk.hex() not in done.out  # the key is never printed


def test_check_passes_for_a_provisioned_radio_and_names_what_differs_otherwise(
    fieldkit: Fieldkit, tmp_path: Path, sim: SimThread
) -> None:
    hub, env = hub_on_network(fieldkit, tmp_path, sim)
    before = fieldkit(hub, "provision", "check", "--root", str(tmp_path / "pi"), env=env)
    assert "✗ the radio has the network's region, preset, channel and key" in before.out
    assert "region US, not EU_868" in before.out
    assert "another channel key" in before.out
    assert "fieldkit provision radio" in before.out
    assert fieldkit(hub, "provision", "radio", env=env).code == 0
    after = fieldkit(hub, "provision", "check", "--root", str(tmp_path / "pi"), env=env)
    assert "✓ the radio has the network's region, preset, channel and key: EU_868" in after.out


def test_a_radio_that_is_not_there_fails_the_check_with_what_to_do(
    fieldkit: Fieldkit, tmp_path: Path, sim: SimThread
) -> None:
    hub, env = hub_on_network(fieldkit, tmp_path, sim)
    env = {**env, "FIELDKIT_RADIO_URL": f"tcp://127.0.0.1:{free_port()}"}
    out = fieldkit(hub, "provision", "check", "--root", str(tmp_path / "pi"), env=env).out
    assert "✗ the radio has the network's region, preset, channel and key" in out
    assert "does not answer" in out
    assert "plug the radio in" in out


class _RunningHub(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"radio": {"connected": True}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


def test_provision_radio_never_fights_a_running_hub_for_the_radio(
    fieldkit: Fieldkit, tmp_path: Path, sim: SimThread
) -> None:
    hub, env = hub_on_network(fieldkit, tmp_path, sim)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RunningHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {**env, "FIELDKIT_WEB_PORT": str(server.server_address[1])}
        done = fieldkit(hub, "provision", "radio", env=env)
        assert done.code == 1
        assert "`fieldkit run` is using the radio: stop it first" in done.err
        check = fieldkit(hub, "provision", "check", "--root", str(tmp_path / "pi"), env=env)
        assert "– the radio has the network's region, preset, channel and key" in check.out
    finally:
        server.shutdown()
        server.server_close()
    assert sim.call(lambda: sim.sim.radio_state(0).region) == "US"  # untouched


def test_provision_radio_needs_a_radio_and_a_network(fieldkit: Fieldkit, tmp_path: Path) -> None:
    hub = init(fieldkit, tmp_path / "hub", "Library")
    done = fieldkit(hub, "provision", "radio")
    assert (done.code, "radio.url" in done.err) == (2, True)
    done = fieldkit(hub, "provision", "radio", "--radio", "tcp://127.0.0.1:9")
    assert (done.code, "no network" in done.err) == (2, True)


def test_render_writes_the_radio_settings_of_a_hub_on_a_network(
    fieldkit: Fieldkit, tmp_path: Path, sim: SimThread
) -> None:
    hub, env = hub_on_network(fieldkit, tmp_path, sim)
    out = tmp_path / "out"
    assert fieldkit(hub, "provision", "render", "--out", str(out), env=env).code == 0
    radio_yaml = out / RADIO_YAML
    assert radio_yaml.stat().st_mode & 0o777 == 0o600
    assert "channel_url:" in radio_yaml.read_text(encoding="utf-8")
