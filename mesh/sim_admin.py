"""A simulated radio's settings and how it answers admin messages, as the firmware does (pure).

:class:`RadioState` is what a Meshtastic radio keeps in flash: every config section and module
config, its 8 channels, its owner (long and short name), a fixed position, the ringtone and
canned messages. :func:`handle_admin` applies one ``AdminMessage`` sent by the radio's own
client (the local admin of the firmware's ``AdminModule``) and returns the answer:

- getters (config section, module config, channel, owner, device metadata, ringtone, canned
  messages, session key) answer with the matching ``get_*_response``, carrying the session
  passkey the library keeps and sends back;
- setters change the state and answer with an ACK (``Routing`` error ``NONE``) when a response
  was asked for; inside ``begin_edit_settings`` … ``commit_edit_settings`` the change of the
  radio's air settings (region, preset, channels) waits for the commit, as in flash;
- the node database (:class:`~fieldkit.mesh.sim_nodedb.NodeDB`, part of the state): remove a
  node, reset it, mark a node favourite, ignored (its packets are dropped) or muted;
- ``reboot_seconds``, ``factory_reset_config`` / ``factory_reset_device``, ``nodedb_reset``
  and ``shutdown`` are returned as :class:`Effect` for the simulator to carry out;
- admin from another node over the air is refused with NOT_AUTHORIZED (:func:`refuse_remote`:
  the radios have no admin key nor "admin" channel);
- anything else is answered with the Routing error ``NO_RESPONSE`` (what a real radio says
  when nothing handled a request) and counted in :attr:`RadioState.unimplemented`: never
  silently accepted.
"""

from __future__ import annotations

import enum
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from meshtastic.protobuf import (
    admin_pb2,
    channel_pb2,
    config_pb2,
    localonly_pb2,
    mesh_pb2,
    portnums_pb2,
)

from fieldkit.mesh import airtime
from fieldkit.mesh.sim_nodedb import NodeDB
from fieldkit.mesh.sim_radio import AirPacket

MAX_CHANNELS = 8
PASSKEY_BYTES = 8
FIRMWARE_VERSION = "2.7.11.fieldkit-sim"
DEVICE_STATE_VERSION = 24
HW_MODEL = mesh_pb2.HardwareModel.Value("PORTDUINO")
DEFAULT_PSK = b"\x01"  # the public default key, "AQ=="
DEFAULT_REBOOT_SECONDS = 5  # the firmware's, after a factory or node database reset
_LORA = config_pb2.Config.LoRaConfig
ADMIN_APP = portnums_pb2.PortNum.Value("ADMIN_APP")

# AdminMessage.ConfigType / ModuleConfigType values, in order, name the Config / ModuleConfig
# oneof fields (checked against the protobufs at import).
CONFIG_SECTIONS = ("device", "position", "power", "network", "display", "lora", "bluetooth",
                   "security", "sessionkey", "device_ui")  # fmt: skip
STORED_SECTIONS = tuple(
    f.name for f in localonly_pb2.LocalConfig.DESCRIPTOR.fields if f.name != "version"
)
MODULE_SECTIONS = tuple(
    f.name for f in localonly_pb2.LocalModuleConfig.DESCRIPTOR.fields if f.name != "version"
)
assert len(admin_pb2.AdminMessage.ConfigType.keys()) == len(CONFIG_SECTIONS)
assert len(admin_pb2.AdminMessage.ModuleConfigType.keys()) == len(MODULE_SECTIONS)


class Effect(enum.Enum):
    """What the simulator must do after an admin message."""

    AIR_CHANGED = "air_changed"  # region, preset or channels changed: re-tune the radio
    OWNER_CHANGED = "owner_changed"  # announce the new NodeInfo
    REBOOT = "reboot"
    SHUTDOWN = "shutdown"


@dataclass
class RadioState:
    """A radio's stored settings. Build one with :func:`factory_state`."""

    node_num: int
    config: localonly_pb2.LocalConfig
    modules: localonly_pb2.LocalModuleConfig
    channels: list[channel_pb2.Channel]
    owner: mesh_pb2.User
    fixed_position: mesh_pb2.Position | None = None
    ringtone: str = ""
    canned_messages: str = ""
    passkey: bytes = b""
    editing: bool = False
    edit_touched_air: bool = False
    reboot_seconds: int = 0
    nodes: NodeDB = field(default_factory=NodeDB)
    factory_lora: config_pb2.Config.LoRaConfig = field(default_factory=config_pb2.Config.LoRaConfig)
    unimplemented: Counter[str] = field(default_factory=Counter)

    @property
    def user_id(self) -> str:
        return f"!{self.node_num:08x}"

    @property
    def region(self) -> str:
        return str(_LORA.RegionCode.Name(self.config.lora.region))

    @property
    def preset(self) -> str:
        return str(_LORA.ModemPreset.Name(self.config.lora.modem_preset))

    @property
    def hop_limit(self) -> int:
        return int(self.config.lora.hop_limit)

    def enabled_channels(self) -> list[channel_pb2.Channel]:
        return [c for c in self.channels if c.role != channel_pb2.Channel.Role.DISABLED]

    def metadata(self) -> mesh_pb2.DeviceMetadata:
        return mesh_pb2.DeviceMetadata(
            firmware_version=FIRMWARE_VERSION,
            device_state_version=DEVICE_STATE_VERSION,
            hw_model=HW_MODEL,
            role=self.config.device.role,
            hasWifi=False,
            hasBluetooth=False,
            hasPKC=False,
        )

    def node_info(self, now: int) -> mesh_pb2.NodeInfo:
        info = mesh_pb2.NodeInfo(num=self.node_num, last_heard=now)
        info.user.CopyFrom(self.owner)
        if self.fixed_position is not None:
            info.position.CopyFrom(self.fixed_position)
        return info


def default_owner(node_num: int) -> mesh_pb2.User:
    user_id = f"!{node_num:08x}"
    return mesh_pb2.User(
        id=user_id, long_name=f"fieldkit sim {user_id[-4:]}", short_name=user_id[-4:],
        hw_model=HW_MODEL,
    )  # fmt: skip


def factory_state(
    node_num: int,
    region: str = "US",
    preset: str = "LONG_FAST",
    hop_limit: int = 3,
    *,
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> RadioState:
    """A radio as it leaves the factory (with the simulator's region, preset and hop limit)."""
    config = localonly_pb2.LocalConfig()
    for name in STORED_SECTIONS:  # every section present, as the firmware sends them all
        getattr(config, name).SetInParent()
    config.lora.CopyFrom(
        _LORA(
            use_preset=True, region=_LORA.RegionCode.Value(region),
            modem_preset=_LORA.ModemPreset.Value(preset), hop_limit=hop_limit, tx_enabled=True,
        )
    )  # fmt: skip
    config.device.role = config_pb2.Config.DeviceConfig.Role.Value("CLIENT")
    config.position.position_broadcast_secs = 900
    config.bluetooth.enabled = False
    modules = localonly_pb2.LocalModuleConfig()
    for name in MODULE_SECTIONS:
        getattr(modules, name).SetInParent()
    channels = [
        channel_pb2.Channel(index=i, role=channel_pb2.Channel.Role.DISABLED)
        for i in range(MAX_CHANNELS)
    ]
    channels[0].role = channel_pb2.Channel.Role.PRIMARY
    channels[0].settings.psk = DEFAULT_PSK
    state = RadioState(
        node_num, config, modules, channels, default_owner(node_num),
        passkey=random_bytes(PASSKEY_BYTES),
    )  # fmt: skip
    state.factory_lora.CopyFrom(config.lora)  # what a factory reset goes back to
    return state


@dataclass(frozen=True)
class AdminResult:
    """The answer: an ``AdminMessage`` reply, or a Routing error name (``NONE`` = ACK), or
    nothing; and what the simulator must do."""

    reply: admin_pb2.AdminMessage | None = None
    routing: str | None = None
    effects: frozenset[Effect] = frozenset()


_Handler = Callable[[RadioState, admin_pb2.AdminMessage], AdminResult]


def handle_admin(
    state: RadioState, msg: admin_pb2.AdminMessage, *, want_response: bool
) -> AdminResult:
    """Apply ``msg`` from the radio's own client to ``state``; what the radio answers."""
    kind = msg.WhichOneof("payload_variant")
    handler = _HANDLERS.get(kind or "")
    if handler is None:
        state.unimplemented[kind or "empty"] += 1
        return AdminResult(routing="NO_RESPONSE")
    result = handler(state, msg)
    if result.reply is not None:
        result.reply.session_passkey = state.passkey
        return result
    if result.routing is None and want_response:
        return AdminResult(routing="NONE", effects=result.effects)
    return result


def _reply(**fields: object) -> AdminResult:
    return AdminResult(reply=admin_pb2.AdminMessage(**fields))


def _get_config(state: RadioState, msg: admin_pb2.AdminMessage) -> AdminResult:
    index = msg.get_config_request
    if not 0 <= index < len(CONFIG_SECTIONS):
        return AdminResult(routing="BAD_REQUEST")
    name = CONFIG_SECTIONS[index]
    reply = admin_pb2.AdminMessage()
    section = getattr(reply.get_config_response, name)
    if name in STORED_SECTIONS:
        section.CopyFrom(getattr(state.config, name))
    else:
        section.SetInParent()  # sessionkey, device_ui: empty, as on a headless radio
    return AdminResult(reply=reply)


def _get_module_config(state: RadioState, msg: admin_pb2.AdminMessage) -> AdminResult:
    index = msg.get_module_config_request
    if not 0 <= index < len(MODULE_SECTIONS):
        return AdminResult(routing="BAD_REQUEST")
    name = MODULE_SECTIONS[index]
    reply = admin_pb2.AdminMessage()
    getattr(reply.get_module_config_response, name).CopyFrom(getattr(state.modules, name))
    return AdminResult(reply=reply)


def _get_channel(state: RadioState, msg: admin_pb2.AdminMessage) -> AdminResult:
    index = msg.get_channel_request - 1  # the request counts from 1
    if not 0 <= index < MAX_CHANNELS:
        return AdminResult(routing="BAD_REQUEST")
    return _reply(get_channel_response=state.channels[index])


def _air_changed(state: RadioState) -> AdminResult:
    if state.editing:
        state.edit_touched_air = True
        return AdminResult()
    return AdminResult(effects=frozenset({Effect.AIR_CHANGED}))


def _set_config(state: RadioState, msg: admin_pb2.AdminMessage) -> AdminResult:
    name = msg.set_config.WhichOneof("payload_variant")
    if name not in STORED_SECTIONS:
        return AdminResult(routing="BAD_REQUEST")
    if name == "lora" and msg.set_config.lora.region == _LORA.RegionCode.Value("LORA_24"):
        return AdminResult(routing="BAD_REQUEST")  # no 2.4 GHz radio in the simulator
    getattr(state.config, name).CopyFrom(getattr(msg.set_config, name))
    return _air_changed(state) if name == "lora" else AdminResult()


def _set_module_config(state: RadioState, msg: admin_pb2.AdminMessage) -> AdminResult:
    name = msg.set_module_config.WhichOneof("payload_variant")
    if name not in MODULE_SECTIONS:
        return AdminResult(routing="BAD_REQUEST")
    getattr(state.modules, name).CopyFrom(getattr(msg.set_module_config, name))
    return AdminResult()


def _set_channel(state: RadioState, msg: admin_pb2.AdminMessage) -> AdminResult:
    channel = msg.set_channel
    if not 0 <= channel.index < MAX_CHANNELS:
        return AdminResult(routing="BAD_REQUEST")
    if channel.index == 0 and channel.role != channel_pb2.Channel.Role.PRIMARY:
        return AdminResult(routing="BAD_REQUEST")  # the firmware keeps channel 0 primary
    state.channels[channel.index].CopyFrom(channel)
    return _air_changed(state)


def _set_owner(state: RadioState, msg: admin_pb2.AdminMessage) -> AdminResult:
    new = msg.set_owner
    for name in (new.long_name, new.short_name):
        if name and not name.strip():
            return AdminResult(routing="BAD_REQUEST")
    if new.long_name:
        state.owner.long_name = new.long_name
    if new.short_name:
        state.owner.short_name = new.short_name
    state.owner.is_licensed = new.is_licensed
    if new.HasField("is_unmessagable"):
        state.owner.is_unmessagable = new.is_unmessagable
    return AdminResult(effects=frozenset({Effect.OWNER_CHANGED}))


def _set_fixed_position(state: RadioState, msg: admin_pb2.AdminMessage) -> AdminResult:
    state.fixed_position = mesh_pb2.Position()
    state.fixed_position.CopyFrom(msg.set_fixed_position)
    state.config.position.fixed_position = True
    return AdminResult()


def _remove_fixed_position(state: RadioState, _: admin_pb2.AdminMessage) -> AdminResult:
    state.fixed_position = None
    state.config.position.fixed_position = False
    return AdminResult()


def _begin_edit(state: RadioState, _: admin_pb2.AdminMessage) -> AdminResult:
    state.editing = True
    return AdminResult()


def _commit_edit(state: RadioState, _: admin_pb2.AdminMessage) -> AdminResult:
    touched = state.edit_touched_air
    state.editing = state.edit_touched_air = False
    return AdminResult(effects=frozenset({Effect.AIR_CHANGED}) if touched else frozenset())


def _reboot(state: RadioState, msg: admin_pb2.AdminMessage) -> AdminResult:
    state.reboot_seconds = max(0, msg.reboot_seconds)
    return AdminResult(effects=frozenset({Effect.REBOOT}))


def _shutdown(state: RadioState, msg: admin_pb2.AdminMessage) -> AdminResult:
    state.reboot_seconds = max(0, msg.shutdown_seconds)
    return AdminResult(effects=frozenset({Effect.SHUTDOWN}))


def _factory_reset(state: RadioState, _: admin_pb2.AdminMessage) -> AdminResult:
    lora = state.factory_lora
    region, preset = _LORA.RegionCode.Name(lora.region), _LORA.ModemPreset.Name(lora.modem_preset)
    fresh = factory_state(
        state.node_num, region, preset, lora.hop_limit, random_bytes=lambda n: state.passkey
    )
    state.config, state.modules, state.channels = fresh.config, fresh.modules, fresh.channels
    state.owner, state.fixed_position = fresh.owner, None
    state.ringtone = state.canned_messages = ""
    state.editing = state.edit_touched_air = False
    state.nodes.clear()
    state.reboot_seconds = DEFAULT_REBOOT_SECONDS
    return AdminResult(effects=frozenset({Effect.AIR_CHANGED, Effect.OWNER_CHANGED, Effect.REBOOT}))


def _nodedb_reset(state: RadioState, _: admin_pb2.AdminMessage) -> AdminResult:
    state.nodes.clear()
    state.reboot_seconds = DEFAULT_REBOOT_SECONDS
    return AdminResult(effects=frozenset({Effect.REBOOT}))


def _remove_node(state: RadioState, msg: admin_pb2.AdminMessage) -> AdminResult:
    state.nodes.forget(msg.remove_by_nodenum)
    return AdminResult()


def _flag(flag: str, value: bool, field_name: str) -> _Handler:
    """Set a NodeInfo flag of the node the message names (``set_favorite_node`` …)."""

    def handle(state: RadioState, msg: admin_pb2.AdminMessage) -> AdminResult:
        num = getattr(msg, field_name)
        if num == state.node_num:
            return AdminResult(routing="BAD_REQUEST")  # the firmware refuses to flag itself
        state.nodes.flag(num, flag, value)
        return AdminResult()

    return handle


def _toggle_muted(state: RadioState, msg: admin_pb2.AdminMessage) -> AdminResult:
    info = state.nodes.nodes.get(msg.toggle_muted_node)
    state.nodes.flag(msg.toggle_muted_node, "is_muted", not (info is not None and info.is_muted))
    return AdminResult()


def _set_ringtone(state: RadioState, msg: admin_pb2.AdminMessage) -> AdminResult:
    state.ringtone = msg.set_ringtone_message
    return AdminResult()


def _set_canned(state: RadioState, msg: admin_pb2.AdminMessage) -> AdminResult:
    state.canned_messages = msg.set_canned_message_module_messages
    return AdminResult()


def _set_time(state: RadioState, _: admin_pb2.AdminMessage) -> AdminResult:
    return AdminResult()  # the simulator's radios take the host's clock


_HANDLERS: dict[str, _Handler] = {
    "get_config_request": _get_config,
    "get_module_config_request": _get_module_config,
    "get_channel_request": _get_channel,
    "get_owner_request": lambda s, _: _reply(get_owner_response=s.owner),
    "get_device_metadata_request": lambda s, _: _reply(get_device_metadata_response=s.metadata()),
    "get_ringtone_request": lambda s, _: _reply(get_ringtone_response=s.ringtone),
    "get_canned_message_module_messages_request": lambda s, _: _reply(
        get_canned_message_module_messages_response=s.canned_messages
    ),
    "set_config": _set_config,
    "set_module_config": _set_module_config,
    "set_channel": _set_channel,
    "set_owner": _set_owner,
    "set_fixed_position": _set_fixed_position,
    "remove_fixed_position": _remove_fixed_position,
    "set_ringtone_message": _set_ringtone,
    "set_canned_message_module_messages": _set_canned,
    "set_time_only": _set_time,
    "begin_edit_settings": _begin_edit,
    "commit_edit_settings": _commit_edit,
    "reboot_seconds": _reboot,
    "shutdown_seconds": _shutdown,
    "factory_reset_config": _factory_reset,
    "factory_reset_device": _factory_reset,
    "nodedb_reset": _nodedb_reset,
    "remove_by_nodenum": _remove_node,
    "set_favorite_node": _flag("is_favorite", True, "set_favorite_node"),
    "remove_favorite_node": _flag("is_favorite", False, "remove_favorite_node"),
    "set_ignored_node": _flag("is_ignored", True, "set_ignored_node"),
    "remove_ignored_node": _flag("is_ignored", False, "remove_ignored_node"),
    "toggle_muted_node": _toggle_muted,
}


def refuse_remote(request: AirPacket, me: int, packet_id: int, hop_limit: int) -> AirPacket | None:
    """A radio's answer to an admin message from another node over the air: the firmware takes
    those only with an admin key or on an "admin" channel, which the simulator's radios have
    neither of, so it answers NOT_AUTHORIZED (to ``request.origin``); None for other packets."""
    if request.portnum != ADMIN_APP or request.dest != me or request.request_id:
        return None
    error = "NOT_AUTHORIZED"
    payload = mesh_pb2.Routing(error_reason=mesh_pb2.Routing.Error.Value(error))
    return AirPacket(
        origin=me, dest=request.origin, packet_id=packet_id, portnum=airtime.ROUTING_APP,
        payload=payload.SerializeToString(), hop_limit=hop_limit, hop_start=hop_limit,
        size=airtime.frame_size(2, airtime.ROUTING_APP, request_id=True),
        channel=request.channel, request_id=request.packet_id, routing_error=error,
        key=request.key,
    )  # fmt: skip
