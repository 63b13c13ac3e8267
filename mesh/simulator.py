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
from dataclasses import asdict, dataclass, field
from types import TracebackType

from meshtastic.protobuf import mesh_pb2

from fieldkit.mesh import airtime, sim_device, sim_topology
from fieldkit.mesh.sim_radio import Delivery, Event, NodeStats, RadioModel, RoutingReport

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
    ident: sim_device.RadioIdentity
    port: int
    server: asyncio.Server | None = None
    sessions: set[_Session] = field(default_factory=set)
    pending: deque[mesh_pb2.FromRadio] = field(default_factory=lambda: deque(maxlen=_PENDING_MAX))
    serial_link: str | None = None
    pty: tuple[int, int] | None = None
    serial_session: _Session | None = None
    serial_out: bytearray = field(default_factory=bytearray)

    def push(self, message: mesh_pb2.FromRadio) -> None:
        live = [s for s in self.sessions if s.configured]
        if not live:
            self.pending.append(message)
        for s in live:
            s.send(message)


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
        budget = duty_cycle_budget_s
        if budget is None:
            budget = airtime.duty_cycle_budget_s(self.region)
        nums = node_nums or [0x10000001 + i for i in range(topo.n)]
        self.model = RadioModel(
            topo, self.modem, self.rng, node_nums=nums, duty_cycle_budget_s=budget
        )
        self.time_scale = time_scale
        self.host = host
        self._radios = [
            _Radio(
                self,
                i,
                sim_device.RadioIdentity(num, self.region, self.modem.name, hop_limit),
                port + i if port else 0,
            )
            for i, num in enumerate(nums)
        ]
        self._t0 = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._driver: asyncio.Task[None] | None = None
        self._tmpdir: str | None = None
        self._ids = random.Random(seed ^ 0x5EED)

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._t0 = self._loop.time()
        for radio in self._radios:
            await self._listen(radio)
        self._driver = asyncio.create_task(self._drive(), name="mesh-sim-driver")

    async def close(self) -> None:
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
        return self._radios[index].ident.node_num

    def sim_now(self) -> float:
        """Simulated seconds since start."""
        loop = self._loop or asyncio.get_running_loop()
        return (loop.time() - self._t0) * self.time_scale

    def stats(self) -> list[NodeStats]:
        self._advance()
        return self.model.stats()

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

    async def reboot_node(self, index: int) -> None:
        """Reboot radio ``index``: it tells its clients ``rebooted``, forgets its queue and state,
        and drops TCP clients (a serial client stays attached, as on a real USB radio)."""
        radio = self._radios[index]
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
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            def write(data: bytes) -> None:
                if writer.transport.get_write_buffer_size() < _WRITE_BUFFER_MAX:
                    writer.write(data)

            session = _Session(radio, write, writer.close)
            radio.sessions.add(session)
            try:
                while data := await reader.read(_READ_CHUNK):
                    session.feed(data)
            except (ConnectionError, OSError):
                pass
            finally:
                radio.sessions.discard(session)
                writer.close()

        radio.server = await asyncio.start_server(serve, self.host, radio.port, reuse_address=True)
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
            heard = [
                (self._radios[j].ident, self.topology.link(j, radio.index).snr)
                for j in range(self.nodes)
                if self.topology.hears(radio.index, j)
            ]
            for message in sim_device.handshake(
                msg.want_config_id, radio.ident, heard, int(time.time())
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
        packet = sim_device.air_packet(mp, radio.ident)
        if packet is None or packet.dest == radio.ident.node_num:
            # Encrypted-from-client or local admin traffic: not modelled, just accepted.
            session.send(sim_device.queue_status(mp.id, self.model.queue_length(radio.index)))
            return
        if packet.channel != 0:  # the simulated radios have only the primary channel
            session.send(sim_device.queue_status(mp.id, self.model.queue_length(radio.index)))
            self._dispatch([RoutingReport(radio.index, mp.id, "NO_CHANNEL", packet.origin)])
            return
        events = self.model.submit(radio.index, packet, self.sim_now())
        session.send(sim_device.queue_status(mp.id, self.model.queue_length(radio.index)))
        self._dispatch(events)
        self._wake.set()

    def _dispatch(self, events: list[Event]) -> None:
        now = int(time.time())
        for event in events:
            radio = self._radios[event.node]
            if isinstance(event, Delivery):
                radio.push(sim_device.delivery_message(event, now))
            elif isinstance(event, RoutingReport):
                pid = self._ids.getrandbits(32) | 1
                radio.push(sim_device.routing_message(event, radio.ident.node_num, pid, now))

    def _advance(self) -> None:
        if self._loop is not None:
            self._dispatch(self.model.advance(self.sim_now()))

    async def _drive(self) -> None:
        while True:
            self._wake.clear()
            nxt = self.model.next_event_time()
            timeout = None if nxt is None else max(0.0, (nxt - self.sim_now()) / self.time_scale)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._advance()


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
    ]
    rows = [[name for name, _ in cols]] + [[fn(s) for _, fn in cols] for s in stats]
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def stats_dict(stats: list[NodeStats]) -> list[dict[str, object]]:
    """Per-node counters as plain dicts (for JSON)."""
    return [asdict(s) for s in stats]
