"""A simulated radio answers its client's admin messages as the firmware's AdminModule does."""

from __future__ import annotations

from meshtastic.protobuf import admin_pb2, channel_pb2, config_pb2, mesh_pb2

from fieldkit.mesh import sim_admin
from fieldkit.mesh.sim_admin import Effect, handle_admin
from fieldkit.mesh.sim_nodedb import NODEINFO_APP, NodeDB

Admin = admin_pb2.AdminMessage
_LORA = config_pb2.Config.LoRaConfig


def radio() -> sim_admin.RadioState:
    return sim_admin.factory_state(0x10000001, random_bytes=lambda n: b"k" * n)


def test_every_getter_answers_with_the_session_passkey() -> None:
    state = radio()
    for msg in (
        Admin(get_config_request=Admin.ConfigType.Value("LORA_CONFIG")),
        Admin(get_config_request=Admin.ConfigType.Value("SESSIONKEY_CONFIG")),
        Admin(get_module_config_request=Admin.ModuleConfigType.Value("TELEMETRY_CONFIG")),
        Admin(get_channel_request=1),
        Admin(get_owner_request=True),
        Admin(get_device_metadata_request=True),
        Admin(get_ringtone_request=True),
        Admin(get_canned_message_module_messages_request=True),
    ):
        result = handle_admin(state, msg, want_response=True)
        assert result.reply is not None, msg
        assert result.reply.session_passkey == b"k" * 8


def test_set_config_changes_the_section_and_retunes_the_radio() -> None:
    state = radio()
    msg = Admin()
    msg.set_config.lora.CopyFrom(state.config.lora)
    msg.set_config.lora.region = _LORA.RegionCode.Value("EU_868")
    result = handle_admin(state, msg, want_response=True)
    assert (result.routing, result.effects) == ("NONE", frozenset({Effect.AIR_CHANGED}))
    assert state.region == "EU_868"
    got = handle_admin(state, Admin(get_config_request=5), want_response=True).reply
    assert got is not None
    assert got.get_config_response.lora.region == _LORA.RegionCode.Value("EU_868")


def test_an_edit_transaction_retunes_only_at_commit() -> None:
    state = radio()
    handle_admin(state, Admin(begin_edit_settings=True), want_response=False)
    channel = channel_pb2.Channel(index=1, role=channel_pb2.Channel.Role.SECONDARY)
    channel.settings.name = "ops"
    assert handle_admin(state, Admin(set_channel=channel), want_response=False).effects == set()
    assert state.channels[1].settings.name == "ops"
    commit = handle_admin(state, Admin(commit_edit_settings=True), want_response=False)
    assert commit.effects == {Effect.AIR_CHANGED}
    assert not state.editing


def test_channels_are_added_disabled_and_channel_zero_stays_primary() -> None:
    state = radio()
    disabled = channel_pb2.Channel(index=0, role=channel_pb2.Channel.Role.DISABLED)
    assert handle_admin(state, Admin(set_channel=disabled), want_response=True).routing == (
        "BAD_REQUEST"
    )
    out_of_range = channel_pb2.Channel(index=8, role=channel_pb2.Channel.Role.SECONDARY)
    assert handle_admin(state, Admin(set_channel=out_of_range), want_response=True).routing == (
        "BAD_REQUEST"
    )
    assert len(state.enabled_channels()) == 1


def test_owner_and_fixed_position() -> None:
    state = radio()
    result = handle_admin(
        state, Admin(set_owner=mesh_pb2.User(long_name="Hub North", short_name="HN")),
        want_response=False,
    )  # fmt: skip
    assert result.effects == {Effect.OWNER_CHANGED}
    assert (state.owner.long_name, state.owner.short_name) == ("Hub North", "HN")
    blank = Admin(set_owner=mesh_pb2.User(long_name="   "))
    assert handle_admin(state, blank, want_response=True).routing == "BAD_REQUEST"
    assert state.owner.long_name == "Hub North"
    handle_admin(
        state,
        Admin(set_fixed_position=mesh_pb2.Position(latitude_i=455000000)),
        want_response=False,
    )
    assert state.config.position.fixed_position
    assert state.node_info(0).position.latitude_i == 455000000
    handle_admin(state, Admin(remove_fixed_position=True), want_response=False)
    assert state.fixed_position is None


def test_factory_reset_restores_defaults_and_reboots() -> None:
    state = radio()
    handle_admin(state, Admin(set_owner=mesh_pb2.User(long_name="X")), want_response=False)
    state.channels[0].settings.psk = b"secret"
    state.config.lora.region = _LORA.RegionCode.Value("EU_868")
    state.nodes.heard(7, 256, b"", now=1, snr=1.0, hops_away=0)
    result = handle_admin(state, Admin(factory_reset_config=1), want_response=False)
    assert Effect.REBOOT in result.effects
    assert state.channels[0].settings.psk == sim_admin.DEFAULT_PSK
    assert state.region == "US"  # as the radio came: the simulator's region
    assert state.nodes.entries() == []
    assert state.owner.long_name == "fieldkit sim 0001"


def test_what_the_simulator_cannot_do_is_refused_and_counted() -> None:
    state = radio()
    for _ in range(2):
        result = handle_admin(state, Admin(enter_dfu_mode_request=True), want_response=True)
        assert result.routing == "NO_RESPONSE"
    assert state.unimplemented == {"enter_dfu_mode_request": 2}


def test_nodes_are_flagged_removed_and_reset() -> None:
    state = radio()
    user = mesh_pb2.User(id="!00000007", long_name="Seven").SerializeToString()
    state.nodes.heard(7, NODEINFO_APP, user, now=1, snr=1.0, hops_away=0)
    handle_admin(state, Admin(set_favorite_node=7), want_response=False)
    handle_admin(state, Admin(set_ignored_node=9), want_response=False)
    assert state.nodes.nodes[7].is_favorite
    assert state.nodes.ignores(9)
    assert not state.nodes.ignores(7)
    mine = Admin(set_ignored_node=state.node_num)
    assert handle_admin(state, mine, want_response=True).routing == "BAD_REQUEST"
    handle_admin(state, Admin(remove_by_nodenum=9), want_response=False)
    assert sorted(state.nodes.nodes) == [7]
    reset = handle_admin(state, Admin(nodedb_reset=True), want_response=False)
    assert reset.effects == {Effect.REBOOT}
    assert state.nodes.entries() == []


def test_node_database_learns_names_only_from_the_senders_own_nodeinfo() -> None:
    db = NodeDB()
    own = mesh_pb2.User(id="!00000002", long_name="Hub B").SerializeToString()
    forged = mesh_pb2.User(id="!00000003", long_name="Forged").SerializeToString()
    db.heard(2, NODEINFO_APP, own, now=10, snr=5.0, hops_away=1)
    db.heard(2, NODEINFO_APP, forged, now=11, snr=4.0, hops_away=0)
    db.heard(9, 256, b"\xff", now=12, snr=1.0, hops_away=0)
    assert [(n.num, n.user.long_name, n.last_heard) for n in db.entries()] == [
        (2, "Hub B", 11),
        (9, "", 12),
    ]
