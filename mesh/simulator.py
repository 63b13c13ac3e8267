"""The LoRa mesh simulator: N virtual Meshtastic radios the real library can connect to.

Each radio listens on TCP (``127.0.0.1:port``, like ``meshtasticd`` on 4403) and optionally on
a pseudo-terminal (a serial device for ``SerialInterface``), speaks the device stream protocol
(:mod:`fieldkit.mesh.sim_device`) and shares one simulated channel
(:class:`~fieldkit.mesh.sim_radio.RadioModel`). Simulated time runs ``time_scale`` times faster
than the event loop's clock; event order is preserved.

Use it in-process::

    async with Simulator(nodes=3, topology="line", time_scale=50) as sim:
        url = sim.url(0)               # "sim://127.0.0.1:<port>"
        path = await sim.open_serial(1)  # a stable symlink to a pty slave
        ...
        print(format_stats(sim.stats()))

Each radio keeps real settings (:mod:`fieldkit.mesh.sim_admin`): its client's admin messages
(``meshtastic --set``, ``--ch-set``, ``--seturl``, ``--set-owner``, ``--configure``, the
library's ``localNode`` calls) change them, the handshake reports them, and a radio re-tuned to
another region, preset or channel stops hearing the others (:meth:`RadioModel.hears
<fieldkit.mesh.sim_radio.RadioModel.hears>`). Admin messages the simulator does not implement
are answered with a Routing error, logged and counted (``unimpl`` in the statistics). Each radio
learns its node database from what it hears (:mod:`fieldkit.mesh.sim_nodedb`); radios announce
their NodeInfo when their owner changes or :meth:`Simulator.announce` is called. Traceroute
works as in the firmware (:mod:`fieldkit.mesh.sim_traceroute`).

Nothing is global: several simulators can run in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import shutil
import tempfile
import termios
import time
import tty
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from types import TracebackType

from google.protobuf.message import DecodeError
from meshtastic.protobuf import admin_pb2, mesh_pb2

from fieldkit.mesh import airtime, sim_device, sim_radio, sim_topology, sim_traceroute
from fieldkit.mesh.sim_admin import (
    ADMIN_APP,
    Effect,
    RadioState,
    factory_state,
    handle_admin,
    refuse_remote,
)
from fieldkit.mesh.sim_nodedb import NodeDB
from fieldkit.mesh.sim_radio import (
    AirPacket,
    Delivery,
    Event,
    NodeStats,
    RadioModel,
    RoutingReport,
)

log = logging.getLogger(__name__)

_PENDING_MAX = 32  # the device→client queue of a real radio holds 8..32 packets
_WRITE_BUFFER_MAX = 1 << 20
_READ_CHUNK = 4096  # bytes read from a client at a time (TCP or pty)


class _Session:
    """One client attached to a radio (a TCP connection or the serial line)."""

    def __init__(
        self,
        radio: _Radio,
        write: Callable[[bytes], None],
        close: Callable[[], None],
        on_config: Callable[[], None] | None = None,
    ) -> None:
        self.radio = radio
        self.configured = False
        self._write = write
        self._close = close
        self._on_config = on_config
        self._decoder = sim_device.FrameDecoder()

    def send(self, message: mesh_pb2.FromRadio) -> None:
        self._write(sim_device.encode(message))

    def close(self) -> None:
        self.configured = False
        self._close()

    def feed(self, data: bytes) -> None:
        if self.radio.stalled is not None:  # a hung firmware reads nothing: it waits
            self.radio.stalled.append((self, data))
            return
        for frame in self._decoder.feed(data):
            msg = mesh_pb2.ToRadio()
            try:
                msg.ParseFromString(frame)
            except Exception:  # a garbled frame: a real device ignores it too
                log.debug("radio %d: undecodable ToRadio frame", self.radio.index)
                continue
            self.radio.sim._handle(self, msg)


@dataclass
class _Radio:
    sim: Simulator
    index: int
    state: RadioState
    port: int
    server: asyncio.Server | None = None
    sessions: set[_Session] = field(default_factory=set)
    pending: deque[mesh_pb2.FromRadio] = field(default_factory=lambda: deque(maxlen=_PENDING_MAX))
    serial_link: str | None = None
    pty: tuple[int, int] | None = None
    serial_session: _Session | None = None
    serial_out: bytearray = field(default_factory=bytearray)
    #: The radio's clock for its packets' rxTime (s since the epoch; None: it has no time).
    clock: Callable[[], float] | None = time.time
    #: While the radio is hung (:meth:`Simulator.stall_node`): what its clients wrote meanwhile.
    stalled: list[tuple[_Session, bytes]] | None = None

    def push(self, message: mesh_pb2.FromRadio) -> None:
        live = [s for s in self.sessions if s.configured]
        if self.stalled is not None:  # nothing comes out of a hung radio
            self.pending.append(message)
            return
        if not live:
            self.pending.append(message)
        for s in live:
            s.send(message)


class _TcpClient(asyncio.Protocol):
    """One TCP client of a radio. Bytes are handed to the radio as they arrive, so what a
    client wrote just before it reset the connection is still handled: Linux delivers it before
    the reset, as a real radio's network stack would (a stream reader would drop it, raising
    the reset first)."""

    def __init__(self, radio: _Radio) -> None:
        self._radio = radio
        self._transport: asyncio.Transport | None = None
        self._session: _Session | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

        def write(data: bytes) -> None:
            if not transport.is_closing() and transport.get_write_buffer_size() < _WRITE_BUFFER_MAX:
                transport.write(data)

        self._session = _Session(self._radio, write, transport.close)
        self._radio.sessions.add(self._session)

    def data_received(self, data: bytes) -> None:
        if self._session is not None:
            self._session.feed(data)

    def eof_received(self) -> bool | None:
        return False  # the client is done writing: close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if self._session is not None:
            self._radio.sessions.discard(self._session)
            self._session = None


class Simulator:
    """N simulated radios on one channel. ``port=0`` picks ephemeral ports."""

    def __init__(
        self,
        nodes: int = 2,
        *,
        topology: str | sim_topology.Topology = "full",
        preset: str = "LONG_FAST",
        region: str = "US",
        hop_limit: int = 3,
        loss: float = 0.0,
        time_scale: float = 1.0,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        duty_cycle_budget_s: float | None = None,
        node_nums: list[int] | None = None,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.rng = random.Random(seed)
        topo = (
            topology
            if isinstance(topology, sim_topology.Topology)
            else sim_topology.parse(topology, nodes, loss, self.rng)
        )
        self.topology = topo
        self.modem = airtime.preset(preset)
        self.region = region.upper()
        self._budget_override = duty_cycle_budget_s
        nums = node_nums or [0x10000001 + i for i in range(topo.n)]
        self.model = RadioModel(
            topo, self.modem, self.rng, node_nums=nums,
            duty_cycle_budget_s=self._budget(self.region),
            alter=sim_traceroute.alter, answer=_answer,
        )  # fmt: skip
        self.time_scale = time_scale
        self.host = host
        self._ids = random.Random(seed ^ 0x5EED)
        states = [
            factory_state(
                num, self.region, self.modem.name, hop_limit, random_bytes=self._ids.randbytes
            )
            for num in nums
        ]
        self._radios = [
            _Radio(self, i, state, port + i if port else 0) for i, state in enumerate(states)
        ]
        for radio in self._radios:
            self.model.set_air(radio.index, self._air(radio), 0.0)
        self._timers: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._t0 = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._driver: asyncio.Task[None] | None = None
        self._tmpdir: str | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._t0 = self._loop.time()
        for radio in self._radios:
            await self._listen(radio)
        self._driver = asyncio.create_task(self._drive(), name="mesh-sim-driver")

    async def close(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._driver is not None:
            self._driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._driver
            self._driver = None
        for radio in self._radios:
            await self._shutdown(radio, keep_link=False)
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- queries ------------------------------------------------------------------------------

    @property
    def nodes(self) -> int:
        return len(self._radios)

    def port(self, index: int) -> int:
        return self._radios[index].port

    def url(self, index: int) -> str:
        return f"sim://{self.host}:{self._radios[index].port}"

    def node_num(self, index: int) -> int:
        return self._radios[index].state.node_num

    def radio_state(self, index: int) -> RadioState:
        """Radio ``index``'s settings, as its admin messages left them (read them; change them
        through admin messages)."""
        return self._radios[index].state

    def node_db(self, index: int) -> NodeDB:
        """What radio ``index`` learnt about the other nodes."""
        return self._radios[index].state.nodes

    def announce(self, index: int | None = None) -> None:
        """Radio ``index`` (None: every radio) broadcasts its NodeInfo, as at boot."""
        for radio in self._radios if index is None else [self._radios[index]]:
            packet = sim_device.node_info_packet(radio.state, self._ids.getrandbits(32) | 1)
            self._dispatch(self.model.submit(radio.index, packet, self.sim_now()))
        self._wake.set()

    def sim_now(self) -> float:
        """Simulated seconds since start."""
        loop = self._loop or asyncio.get_running_loop()
        return (loop.time() - self._t0) * self.time_scale

    def stats(self) -> list[NodeStats]:
        self._advance()
        return [
            replace(s, admin_unimplemented=sum(r.state.unimplemented.values()))
            for s, r in zip(self.model.stats(), self._radios, strict=True)
        ]

    # -- radios going away and coming back ---------------------------------------------------

    async def stop_node(self, index: int) -> None:
        """Kill radio ``index``: drop its clients, stop listening, power the radio off."""
        radio = self._radios[index]
        self._dispatch(self.model.set_online(index, False, self.sim_now()))
        await self._shutdown(radio, keep_link=True)

    async def start_node(self, index: int) -> None:
        """Bring a stopped radio back on the same TCP port (and serial path)."""
        radio = self._radios[index]
        self._dispatch(self.model.set_online(index, True, self.sim_now()))
        await self._listen(radio)
        if radio.serial_link is not None:
            self._open_pty(radio)

    def set_radio_clock(self, index: int, clock: Callable[[], float] | None) -> None:
        """Radio ``index`` stamps the packets it receives with ``clock()`` (its GPS time, s
        since the epoch), or, with None, with 0 like a radio that has no time."""
        self._radios[index].clock = clock

    def stall_node(self, index: int, stalled: bool = True) -> None:
        """Hang radio ``index`` (``stalled``) or let it go on: while hung it stays connected
        but reads nothing from its clients, tells them nothing and is off the air; then it
        takes what they wrote meanwhile, as a firmware stuck in a loop does when it recovers."""
        radio = self._radios[index]
        if stalled == (radio.stalled is not None):
            return
        self._dispatch(self.model.set_online(index, not stalled, self.sim_now()))
        if stalled:
            radio.stalled = []
            return
        waiting, radio.stalled = radio.stalled or [], None
        for session, data in waiting:
            if session in radio.sessions or session is radio.serial_session:
                session.feed(data)
        live = [s for s in radio.sessions if s.configured]
        while live and radio.pending:
            message = radio.pending.popleft()
            for session in live:
                session.send(message)

    async def reboot_node(self, index: int) -> None:
        """Reboot radio ``index``: it tells its clients ``rebooted``, forgets its queue and state,
        and drops TCP clients (a serial client stays attached, as on a real USB radio)."""
        self._reboot(index)

    def _reboot(self, index: int) -> None:
        radio = self._radios[index]
        radio.state.editing = radio.state.edit_touched_air = False
        for session in list(radio.sessions):
            if session.configured:
                session.send(mesh_pb2.FromRadio(rebooted=True))
            session.configured = False
            if session is not radio.serial_session:
                session.close()
        radio.pending.clear()
        now = self.sim_now()
        self._dispatch(self.model.set_online(index, False, now))
        self._dispatch(self.model.set_online(index, True, now))

    async def open_serial(self, index: int) -> str:
        """Expose radio ``index`` as a serial device; returns a stable path (a pty symlink)."""
        radio = self._radios[index]
        if radio.serial_link is None:
            if self._tmpdir is None:
                self._tmpdir = tempfile.mkdtemp(prefix="fieldkit-sim-")
            radio.serial_link = os.path.join(self._tmpdir, f"radio{index}")
            self._open_pty(radio)
        return radio.serial_link

    # -- networking ---------------------------------------------------------------------------

    async def _listen(self, radio: _Radio) -> None:
        loop = asyncio.get_running_loop()
        radio.server = await loop.create_server(
            lambda: _TcpClient(radio), self.host, radio.port, reuse_address=True
        )
        radio.port = radio.server.sockets[0].getsockname()[1]

    async def _shutdown(self, radio: _Radio, *, keep_link: bool) -> None:
        if radio.server is not None:
            radio.server.close()
            await radio.server.wait_closed()
            radio.server = None
        for session in list(radio.sessions):
            session.close()
        radio.sessions.clear()
        radio.pending.clear()
        self._close_pty(radio)
        if not keep_link and radio.serial_link is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(radio.serial_link)
            radio.serial_link = None

    def _open_pty(self, radio: _Radio) -> None:
        assert self._loop is not None
        assert radio.serial_link is not None
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        radio.pty = (master, slave)
        radio.serial_out = bytearray()
        tmp = radio.serial_link + ".new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, radio.serial_link)

        def flush() -> None:
            if radio.pty is None:
                return
            try:
                written = os.write(master, radio.serial_out)
            except BlockingIOError:
                written = 0
            except OSError:
                radio.serial_out.clear()
                written = 0
            del radio.serial_out[:written]
            if radio.serial_out:
                self._loop.add_writer(master, flush)  # type: ignore[union-attr]
            else:
                self._loop.remove_writer(master)  # type: ignore[union-attr]

        def write(data: bytes) -> None:
            if len(radio.serial_out) < _WRITE_BUFFER_MAX:
                radio.serial_out += data
                flush()

        def on_config() -> None:  # discard stale output the previous client never read
            with contextlib.suppress(termios.error):
                termios.tcflush(slave, termios.TCIFLUSH)
            radio.serial_out.clear()

        session = _Session(radio, write, lambda: None, on_config)
        radio.serial_session = session
        radio.sessions.add(session)

        def readable() -> None:
            try:
                data = os.read(master, _READ_CHUNK)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if data:
                session.feed(data)

        self._loop.add_reader(master, readable)

    def _close_pty(self, radio: _Radio) -> None:
        if radio.pty is None:
            return
        master, slave = radio.pty
        radio.pty = None
        if self._loop is not None:
            self._loop.remove_reader(master)
            self._loop.remove_writer(master)
        if radio.serial_session is not None:
            radio.sessions.discard(radio.serial_session)
            radio.serial_session = None
        for fd in (master, slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    # -- protocol -----------------------------------------------------------------------------

    def _handle(self, session: _Session, msg: mesh_pb2.ToRadio) -> None:
        radio = session.radio
        kind = msg.WhichOneof("payload_variant")
        if kind == "want_config_id":
            if session._on_config is not None:
                session._on_config()
            for message in sim_device.handshake(
                msg.want_config_id, radio.state, radio.state.nodes.entries(), int(time.time())
            ):
                session.send(message)
            session.configured = True
            while radio.pending:
                session.send(radio.pending.popleft())
        elif kind == "packet":
            self._handle_packet(session, msg.packet)
        elif kind == "heartbeat":
            session.send(sim_device.queue_status(0, self.model.queue_length(radio.index)))
        elif kind == "disconnect":
            session.close()

    def _handle_packet(self, session: _Session, mp: mesh_pb2.MeshPacket) -> None:
        radio = session.radio
        if mp.to == radio.state.node_num:
            session.send(sim_device.queue_status(mp.id, self.model.queue_length(radio.index)))
            self._handle_local(session, mp)
            return
        packet = sim_device.air_packet(mp, radio.state)
        if packet is None:  # encrypted by the client: a real radio cannot read it either
            session.send(sim_device.queue_status(mp.id, self.model.queue_length(radio.index)))
            self._dispatch([RoutingReport(radio.index, mp.id, "BAD_REQUEST", radio.state.node_num)])
            return
        if not packet.key:  # no such channel, or a disabled one
            session.send(sim_device.queue_status(mp.id, self.model.queue_length(radio.index)))
            self._dispatch([RoutingReport(radio.index, mp.id, "NO_CHANNEL", packet.origin)])
            return
        events = self.model.submit(radio.index, packet, self.sim_now())
        session.send(sim_device.queue_status(mp.id, self.model.queue_length(radio.index)))
        self._dispatch(events)
        self._wake.set()

    # -- the radio's own modules: admin -------------------------------------------------------

    def _handle_local(self, session: _Session, mp: mesh_pb2.MeshPacket) -> None:
        """A packet the client addressed to its own radio: admin messages, as ``AdminModule``."""
        radio = session.radio
        me = radio.state.node_num
        now = int(time.time())

        def answer(portnum: int, payload: bytes) -> None:
            pid = self._ids.getrandbits(32) | 1
            session.send(sim_device.local_reply(me, mp, pid, now, portnum=portnum, payload=payload))

        if not mp.HasField("decoded") or mp.decoded.portnum != ADMIN_APP:
            what = "encrypted" if not mp.HasField("decoded") else f"port {mp.decoded.portnum}"
            radio.state.unimplemented[f"local {what}"] += 1
            log.warning("radio %d: packet to itself (%s) not handled", radio.index, what)
            if mp.want_ack or (mp.HasField("decoded") and mp.decoded.want_response):
                answer(airtime.ROUTING_APP, sim_device.routing_payload("NO_RESPONSE"))
            return
        try:
            request = admin_pb2.AdminMessage.FromString(mp.decoded.payload)
        except DecodeError:
            answer(airtime.ROUTING_APP, sim_device.routing_payload("BAD_REQUEST"))
            return
        result = handle_admin(radio.state, request, want_response=mp.decoded.want_response)
        if result.routing == "NO_RESPONSE":
            log.warning(
                "radio %d: admin message %s is not implemented by the simulator",
                radio.index, request.WhichOneof("payload_variant"),
            )  # fmt: skip
        if result.reply is not None:
            answer(ADMIN_APP, result.reply.SerializeToString())
        elif result.routing is not None:
            answer(airtime.ROUTING_APP, sim_device.routing_payload(result.routing))
        self._apply(radio, result.effects)

    def _air(self, radio: _Radio) -> sim_radio.Air:
        return sim_device.air_settings(radio.state, self._budget(radio.state.region))

    def _budget(self, region: str) -> float | None:
        if self._budget_override is not None:
            return self._budget_override
        return airtime.duty_cycle_budget_s(region)

    def _apply(self, radio: _Radio, effects: frozenset[Effect]) -> None:
        if Effect.AIR_CHANGED in effects:
            self._dispatch(self.model.set_air(radio.index, self._air(radio), self.sim_now()))
        if Effect.OWNER_CHANGED in effects:
            self.announce(radio.index)
        if Effect.REBOOT in effects or Effect.SHUTDOWN in effects:
            delay = radio.state.reboot_seconds / self.time_scale
            shutdown = Effect.SHUTDOWN in effects
            loop = self._loop or asyncio.get_running_loop()
            timer: asyncio.TimerHandle

            def fire() -> None:
                self._timers.discard(timer)
                if shutdown:
                    task = loop.create_task(self.stop_node(radio.index))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                else:
                    self._reboot(radio.index)

            timer = loop.call_later(delay, fire)
            self._timers.add(timer)

    def _dispatch(self, events: list[Event]) -> None:
        now = int(time.time())
        for event in events:
            radio = self._radios[event.node]
            if isinstance(event, Delivery):
                p = event.packet
                if radio.state.nodes.ignores(p.origin):
                    continue  # the firmware drops an ignored node's packets
                radio.state.nodes.heard(
                    p.origin, p.portnum, p.payload,
                    now=now, snr=event.snr, hops_away=p.hop_start - p.hop_limit,
                )  # fmt: skip
                rx_time = int(radio.clock()) if radio.clock is not None else 0
                radio.push(sim_device.delivery_message(event, rx_time))
            elif isinstance(event, RoutingReport):
                pid = self._ids.getrandbits(32) | 1
                radio.push(sim_device.routing_message(event, radio.state.node_num, pid, now))

    def _advance(self) -> None:
        if self._loop is not None:
            self._dispatch(self.model.advance(self.sim_now()))

    async def _drive(self) -> None:
        while True:
            self._wake.clear()
            nxt = self.model.next_event_time()
            timeout = None if nxt is None else max(0.0, (nxt - self.sim_now()) / self.time_scale)
            with contextlib.suppress(TimeoutError):  # not wait_for: see sync.radio's loop
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            self._advance()


def _answer(request: AirPacket, me: int, packet_id: int, hop_limit: int) -> AirPacket | None:
    """What a destination's firmware answers over the air: a traceroute, or a refusal of remote
    admin."""
    return sim_traceroute.answer(request, me, packet_id, hop_limit) or refuse_remote(
        request, me, packet_id, hop_limit
    )


def format_stats(stats: list[NodeStats]) -> str:
    """A plain table of per-node counters."""
    cols: list[tuple[str, Callable[[NodeStats], str]]] = [
        ("node", lambda s: f"!{s.node_num:08x}"),
        ("airtime_s", lambda s: f"{s.airtime_ms / 1000:.1f}"),
        ("duty_1h_s", lambda s: f"{s.duty_cycle_used_ms / 1000:.1f}"),
        ("sent", lambda s: str(s.frames_sent)),
        ("relays", lambda s: str(s.relays)),
        ("recv", lambda s: str(s.frames_received)),
        ("deliv", lambda s: str(s.frames_delivered)),
        ("dups", lambda s: str(s.duplicates)),
        ("collis", lambda s: str(s.collisions)),
        ("drops", lambda s: str(s.drops)),
        ("hdx", lambda s: str(s.half_duplex_misses)),
        ("duty_nak", lambda s: str(s.duty_cycle_naks)),
        ("retx", lambda s: str(s.retransmissions)),
        ("undec", lambda s: str(s.undecodable)),
        ("unimpl", lambda s: str(s.admin_unimplemented)),
    ]
    rows = [[name for name, _ in cols]] + [[fn(s) for _, fn in cols] for s in stats]
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def stats_dict(stats: list[NodeStats]) -> list[dict[str, object]]:
    """Per-node counters as plain dicts (for JSON)."""
    return [asdict(s) for s in stats]
