"""What `fieldkit run` takes from the hub's network when its own config is silent."""

from __future__ import annotations

from pathlib import Path

from fieldkit.app.config import parse_config
from fieldkit.app.hub import Hub
from fieldkit.app.network import new_network, save_network
from fieldkit.app.serve import with_network_emergency


def config(**hub: object):  # type: ignore[no-untyped-def]
    return parse_config({"hub": {"name": "Library", **hub}}, {}, Path("/srv/hub"))


async def test_the_networks_emergency_line_shows_where_the_hub_sets_none(hub: Hub) -> None:
    assert (await with_network_emergency(hub, config())).emergency == ""
    await save_network(hub.store, new_network("relief", "EU_868", emergency="Call 112"))
    assert (await with_network_emergency(hub, config())).emergency == "Call 112"
    own = await with_network_emergency(hub, config(emergency="Go to the fire station"))
    assert own.emergency == "Go to the fire station"  # the hub's own line wins
