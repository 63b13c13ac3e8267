"""`fieldkit network` and `fieldkit provision`, as a volunteer types them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fieldkit.app.network import parse_join_code
from fieldkit.provisioning.render import PATHS

from .conftest import Fieldkit, free_port

AREA = ["--area", "riverside=Riverside"]


def init(fieldkit: Fieldkit, folder: Path, name: str) -> Path:
    folder.mkdir()
    assert fieldkit(folder, "init", "--name", name, *AREA).code == 0
    return folder


def code_in(text: str) -> str:
    found = re.search(r"fkjoin1\.[A-Za-z0-9_-]+", text)
    assert found, text
    return found.group(0)


def test_a_new_network_prints_its_join_code_with_a_warning_and_writes_qr_and_page(
    fieldkit: Fieldkit, tmp_path: Path
) -> None:
    hub = init(fieldkit, tmp_path / "a", "Hub A")
    done = fieldkit(hub, "network", "new", "--region", "EU_868", "--emergency", "Call 112")
    assert done.code == 0, done.err
    network = parse_join_code(code_in(done.out))
    assert (network.region, network.preset, network.emergency) == (
        "EU_868",
        "LONG_FAST",
        "Call 112",
    )
    assert [a.id for a in network.areas] == ["riverside"]
    assert "speak for the network" in done.err  # the code is a secret, and we say so
    data = hub / "data"
    for name in ("join.svg", "join.png", "join.html"):
        assert (data / name).stat().st_mode & 0o777 == 0o600
    page = (data / "join.html").read_text()
    assert code_in(done.out) in page
    assert "<svg" in page
    assert "speak for the network" in page


def test_another_hub_joins_with_the_code_and_then_shares_the_network_key(
    fieldkit: Fieldkit, tmp_path: Path
) -> None:
    a, b = init(fieldkit, tmp_path / "a", "Hub A"), init(fieldkit, tmp_path / "b", "Hub B")
    code = code_in(fieldkit(a, "network", "new", "--region", "US").out)
    assert fieldkit(b, "network", "join", code).code == 0
    assert fieldkit(a, "key").out == fieldkit(b, "key").out
    shown = fieldkit(b, "network", "show", "--secrets")
    assert code_in(shown.out) == code
    assert "https://meshtastic.org/e/#" in shown.out
    assert "fkjoin1" not in fieldkit(b, "network", "show").out  # secrets only when asked
    again = fieldkit(b, "network", "join", code)
    assert (again.code, again.out.strip()) == (0, "already on the “fieldkit” network")


def test_a_hub_on_a_network_leaves_it_only_when_told(fieldkit: Fieldkit, tmp_path: Path) -> None:
    hub = init(fieldkit, tmp_path / "a", "Hub A")
    assert fieldkit(hub, "network", "new", "--region", "US").code == 0
    key = fieldkit(hub, "key").out
    refused = fieldkit(hub, "network", "new", "--region", "US")
    assert (refused.code, "--force" in refused.err) == (2, True)
    assert fieldkit(hub, "key").out == key
    assert fieldkit(hub, "network", "new", "--region", "US", "--force").code == 0
    assert fieldkit(hub, "key").out != key


def test_a_hub_without_areas_takes_the_networks_areas_with_their_centroids(
    fieldkit: Fieldkit, tmp_path: Path
) -> None:
    from fieldkit.app.config import load_config

    first = tmp_path / "a"
    first.mkdir()
    assert fieldkit(first, "init", "--name", "Hub A").code == 0
    with (first / "fieldkit.toml").open("a") as config:
        config.write('[areas.riverside]\nname = "Riverside"\nadjacent = ["hillside"]\n'
                     "lat = 29.95\nlon = -90.07\n"
                     '[areas.hillside]\nname = "Hillside"\nadjacent = ["riverside"]\n')  # fmt: skip
    made = fieldkit(first, "network", "new", "--region", "US", "--cloud", "https://aid.example/")
    code = code_in(made.out)
    assert parse_join_code(code).cloud == "https://aid.example"
    second = tmp_path / "b"
    second.mkdir()
    assert fieldkit(second, "init", "--name", "Hub B").code == 0
    joined = fieldkit(second, "network", "join", code)
    assert joined.code == 0, joined.err
    assert "riverside, hillside" in joined.out
    mine = load_config(second / "fieldkit.toml", {}).areas
    assert mine == load_config(first / "fieldkit.toml", {}).areas
    assert (mine[0].lat, mine[0].lon, mine[1].lat) == (29.95, -90.07, None)


def test_a_cloud_url_must_be_https(fieldkit: Fieldkit, tmp_path: Path) -> None:
    hub = init(fieldkit, tmp_path / "a", "Hub A")
    done = fieldkit(hub, "network", "new", "--region", "US", "--cloud", "http://aid.example")
    assert (done.code, "https://" in done.err) == (2, True)


@pytest.mark.parametrize(
    ("code", "message"),
    [("fkjoin1.AAAAAAAAAAAAAAAA", "damaged"), ("hello", "not a fieldkit join code")],
)
def test_a_bad_join_code_is_refused_and_changes_nothing(
    fieldkit: Fieldkit, tmp_path: Path, code: str, message: str
) -> None:
    hub = init(fieldkit, tmp_path / "a", "Hub A")
    key = fieldkit(hub, "key").out
    done = fieldkit(hub, "network", "join", code)
    assert done.code != 0
    assert message in done.err
    assert "Traceback" not in done.err
    assert fieldkit(hub, "key").out == key


def test_render_writes_a_tree_that_mirrors_the_pi_and_says_what_next(
    fieldkit: Fieldkit, tmp_path: Path
) -> None:
    hub = init(fieldkit, tmp_path / "a", "Hub A")
    done = fieldkit(hub, "provision", "render", "--out", str(tmp_path / "out"))
    assert done.code == 0, done.err
    for name in ("hotspot.nmconnection", "fieldkit.nft", "fieldkit.service"):
        assert (tmp_path / "out" / PATHS[name]).is_file()
        assert str(PATHS[name]) in done.out
    assert "provision apply" in done.out
    again = fieldkit(hub, "provision", "render", "--out", str(tmp_path / "out"))
    assert "create" not in again.out
    assert "unchanged" in again.out


def test_apply_as_dry_run_changes_nothing_and_apply_then_check_agree(
    fieldkit: Fieldkit, tmp_path: Path
) -> None:
    hub = init(fieldkit, tmp_path / "a", "Hub A")
    root = tmp_path / "pi"
    prefix = tmp_path / "opt"  # an installed fieldkit: systemd-analyze checks ExecStart exists
    (prefix / "venv" / "bin").mkdir(parents=True)
    (prefix / "venv" / "bin" / "fieldkit").symlink_to("/bin/true")
    where = ["--root", str(root), "--prefix", str(prefix)]
    env = {"FIELDKIT_WEB_PORT": str(free_port())}  # nothing answers there
    dry = fieldkit(hub, "provision", "apply", "--dry-run", *where, env=env)
    assert (dry.code, "nothing changed" in dry.out, root.exists()) == (0, True, False)
    before = fieldkit(hub, "provision", "check", *where, env=env)
    assert before.code == 1
    assert "missing" in before.out
    assert "provision apply" in before.out
    done = fieldkit(hub, "provision", "apply", *where, env=env)
    assert done.code == 0, done.err
    after = fieldkit(hub, "provision", "check", *where, env=env)
    assert "missing" not in after.out
    assert "✗ the hub answers" in after.out
    assert "systemctl start fieldkit" in after.out
    assert "– the radio" in after.out  # not checked, and it says so
    failures = [line for line in after.out.splitlines() if line.startswith("✗")]
    assert len(failures) == 1, after.out  # every installed file passed its own validator


def test_apply_refuses_the_hostapd_stack_before_changing_anything(
    fieldkit: Fieldkit, tmp_path: Path
) -> None:
    hub = init(fieldkit, tmp_path / "a", "Hub A")
    done = fieldkit(hub, "provision", "apply", "--wifi", "hostapd", "--root", str(tmp_path / "pi"))
    assert done.code != 0
    assert "hostapd" in done.err
    assert not (tmp_path / "pi").exists()
