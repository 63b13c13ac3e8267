"""``MeshtasticTransport``: the :class:`~fieldkit.mesh.transport.Transport` over the real
``meshtastic`` library (``SerialInterface`` / ``TCPInterface``).

Radio URLs: ``serial:///dev/ttyUSB0``, ``serial://`` (the one radio on USB), ``tcp://host:4403``
(a Pi HAT under meshtasticd, a Wi-Fi radio) and ``sim://host:port`` (our simulator; plain TCP).

The asyncio bridge (DESIGN §4): every library call goes through one single-worker executor, so
the library never runs two calls at once and the event loop never blocks. pubsub listeners are
bound methods held by this object; they run on the library's publishing thread and only hand the
packet to the loop with ``call_soon_threadsafe``. Packets from other interfaces in the same
process are ignored. On ``meshtastic.connection.lost`` (serial unplug, TCP drop, radio reboot)
the interface is rebuilt with exponential backoff. Library exceptions become
:class:`~fieldkit.errors.TransportError` in :meth:`MeshtasticTransport._call`, and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

from pubsub import pub

from fieldkit.errors import TransportError
from fieldkit.mesh import airtime
from fieldkit.mesh.radio_address import (
    RadioAddress,
    find_serial_radio,
    handshake,
    open_interface,
    parse_radio_url,
    portnum_value,
)
from fieldkit.mesh.transport import (
    BROADCAST,
    DUTY_CYCLE_BACKOFF_S,
    MAX_PAYLOAD,
    PRIVATE_APP,
    AckTimeout,
    DutyCycleLimited,
    Frame,
    Inbox,
    LinkStats,
    RadioUnavailable,
    check_payload,
    nak_error,
)

__all__ = [
    "MeshtasticTransport",
    "RadioAddress",
    "find_serial_radio",
    "open_interface",
    "parse_radio_url",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
_VERDICTS_KEPT = 256


class MeshtasticTransport:
    """A Meshtastic radio as a :class:`~fieldkit.mesh.transport.Transport`.

    ``port``: the application port our frames use (PRIVATE_APP = 256); ``extra_ports``: other
    ports whose packets are surfaced too (e.g. TEXT_MESSAGE_APP = 1), with ``Frame.port`` set.
    ``hop_limit`` defaults to 0: hubs gossip single-hop and forward at the application level.
    ``want_ack``: the default for :meth:`send`; with it, ``send`` waits up to ``ack_timeout`` s
    for the ACK and raises the NAK as an error. After a DUTY_CYCLE_LIMIT NAK, sends fail fast
    with :class:`DutyCycleLimited` for ``duty_cycle_backoff`` s without touching the radio.
    ``time_scale``: how much faster than the wall the radio's time runs (a time-scaled
    simulator, as ``fieldkit demo`` and ``bench/soak.py`` run): airtime is radio time, so the
    duty cycle's hour and the back-off after a DUTY_CYCLE_LIMIT are counted in radio time too.
    """

    def __init__(
        self,
        url: str,
        *,
        port: int = PRIVATE_APP,
        extra_ports: Iterable[int] = (),
        hop_limit: int = 0,
        channel_index: int = 0,
        want_ack: bool = False,
        ack_timeout: float = 60.0,
        max_payload: int = MAX_PAYLOAD,
        connect_timeout: int = 30,
        reconnect_initial: float = 0.5,
        reconnect_max: float = 30.0,
        duty_cycle_backoff: float = DUTY_CYCLE_BACKOFF_S,
        rx_queue_size: int = 1024,
        interface_factory: Callable[[RadioAddress, int], Any] = open_interface,
        time_scale: float = 1.0,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if not 0 < max_payload <= airtime.max_app_payload(port):
            raise ValueError(f"max_payload must be 1..{airtime.max_app_payload(port)}")
        self.url = url
        self.address = parse_radio_url(url)
        self.port = port
        self.ports = frozenset({port, *extra_ports})
        self.hop_limit = hop_limit
        self.channel_index = channel_index
        self.want_ack = want_ack
        self.ack_timeout = ack_timeout
        self.max_payload = max_payload
        self.connect_timeout = connect_timeout
        self.reconnect_initial = reconnect_initial
        self.reconnect_max = reconnect_max
        self.duty_cycle_backoff = duty_cycle_backoff
        self.time_scale = time_scale
        self.node_num: int | None = None
        self.modem: airtime.ModemPreset | None = None
        self.region: str | None = None
        self._factory = interface_factory
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="meshtastic-io")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._iface: Any = None
        self._closed = False
        self._connected = asyncio.Event()
        self._disconnected = asyncio.Event()
        self._disconnected.set()
        self._rx = Inbox(rx_queue_size)
        self._pending: dict[int, asyncio.Future[str]] = {}
        self._verdicts: OrderedDict[int, str] = OrderedDict()
        self._reconnect_task: asyncio.Task[None] | None = None
        self._duty_until = 0.0
        self._tx_log: deque[tuple[float, float]] = deque()
        self._counts = {
            "frames_sent": 0,
            "bytes_sent": 0,
            "frames_received": 0,
            "bytes_received": 0,
            "acks": 0,
            "reconnects": 0,
            "rx_dropped": 0,
        }
        self._airtime_ms = 0.0
        self._naks: dict[str, int] = {}
        # pubsub keeps weak references: these bound methods live as long as this object.
        self._listeners: tuple[tuple[Callable[..., None], str], ...] = (
            (self._on_receive, "meshtastic.receive"),
            (self._on_connection_lost, "meshtastic.connection.lost"),
        )
        self._subscribed = False

    # -- lifecycle ----------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect once; raise :class:`TransportError` if the radio cannot be reached."""
        self._bind()
        if self._reconnect_task is not None:  # start() is already at it
            await self._connected.wait()
        elif not self._connected.is_set():
            await self._open_interface()

    async def start(self) -> None:
        """Connect in the background, retrying with backoff until it works (never raises)."""
        self._bind()
        if not self._connected.is_set() and self._reconnect_task is None:
            self._reconnect_task = asyncio.create_task(self._reconnect(None, count=False))

    async def wait_connected(self) -> None:
        """Until the radio is connected (wrap in ``asyncio.timeout``)."""
        await self._connected.wait()

    async def wait_disconnected(self) -> None:
        """Until the radio is lost (wrap in ``asyncio.timeout``)."""
        await self._disconnected.wait()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._unsubscribe()
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reconnect_task
        iface, self._iface = self._iface, None
        self._set_connected(False)
        if iface is not None:
            await self._close_interface(iface)
        self._executor.shutdown(wait=False)
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(TransportError("transport closed"))
        self._pending.clear()
        self._rx.close()

    async def __aenter__(self) -> MeshtasticTransport:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- the Transport interface ------------------------------------------------------------

    async def send(
        self,
        payload: bytes,
        dest: int | None = None,
        *,
        want_ack: bool | None = None,
        port: int | None = None,
    ) -> None:
        """Send ``payload`` to node ``dest`` (None = broadcast) on ``port`` (default ours)."""
        check_payload(payload, self.max_payload)
        if self._closed:
            raise TransportError("transport closed")
        loop = self._bind()
        if self._duty_until > loop.time():
            raise DutyCycleLimited(retry_after=self._duty_until - loop.time())
        iface = self._iface
        if iface is None or not self._connected.is_set():
            raise RadioUnavailable(f"radio {self.address} is not connected")
        ack = self.want_ack if want_ack is None else want_ack
        data = bytes(payload)
        portnum = self.port if port is None else port

        def call() -> int:
            packet = iface.sendData(
                data,
                destinationId=BROADCAST if dest is None else dest,
                portNum=portnum,
                wantAck=ack,
                hopLimit=self.hop_limit,
                channelIndex=self.channel_index,
            )
            return int(packet.id)

        packet_id = await self._call("send", call)
        self._count_sent(data, portnum)
        if not ack:
            return
        verdict = self._verdicts.pop(packet_id, None)
        if verdict is None:
            fut: asyncio.Future[str] = loop.create_future()
            self._pending[packet_id] = fut
            try:
                async with asyncio.timeout(self.ack_timeout):  # wait_for may swallow a cancel
                    verdict = await fut
            except TimeoutError:
                raise AckTimeout(
                    f"no ACK for packet {packet_id:#x} in {self.ack_timeout} s"
                ) from None
            finally:
                self._pending.pop(packet_id, None)
        if verdict != "NONE":
            raise nak_error(verdict, packet_id)

    def frames(self) -> AsyncIterator[Frame]:
        return self._rx.frames()

    async def recv(self) -> Frame:
        """The next frame; :class:`TransportError` once closed (wrap in ``asyncio.timeout``)."""
        return await self._rx.recv()

    def stats(self) -> LinkStats:
        c = self._counts
        left = None
        budget = airtime.duty_cycle_budget_s(self.region) if self.region else None
        if budget is not None:
            now = self._radio_now()
            lo = now - airtime.DUTY_CYCLE_WINDOW_S
            while self._tx_log and self._tx_log[0][1] <= lo:
                self._tx_log.popleft()
            used = sum(max(0.0, min(e, now) - max(s, lo)) for s, e in self._tx_log)
            left = max(0.0, budget - used) * 1000.0
        return LinkStats(
            frames_sent=c["frames_sent"],
            bytes_sent=c["bytes_sent"],
            frames_received=c["frames_received"],
            bytes_received=c["bytes_received"],
            airtime_ms=self._airtime_ms if self.modem else None,
            duty_cycle_left_ms=left,
            naks=dict(self._naks),
            acks=c["acks"],
            reconnects=c["reconnects"],
            connected=self._connected.is_set(),
            rx_dropped=c["rx_dropped"],
        )

    # -- the one place library exceptions become TransportError -------------------------------

    async def _call(self, what: str, fn: Callable[[], T]) -> T:
        loop = self._bind()
        try:
            return await loop.run_in_executor(self._executor, fn)
        except TransportError:
            raise
        except (Exception, SystemExit) as exc:  # the library calls sys.exit() on some errors
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            raise TransportError(f"radio {self.address}: {what} failed: {message}") from exc

    # -- connection management ----------------------------------------------------------------

    def _bind(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        if not self._subscribed and not self._closed:
            for listener, topic in self._listeners:
                pub.subscribe(listener, topic)
            self._subscribed = True
        return self._loop

    def _unsubscribe(self) -> None:
        if self._subscribed:
            for listener, topic in self._listeners:
                with contextlib.suppress(Exception):
                    pub.unsubscribe(listener, topic)
            self._subscribed = False

    def _set_connected(self, up: bool) -> None:
        if up:
            self._disconnected.clear()
            self._connected.set()
        else:
            self._connected.clear()
            self._disconnected.set()

    async def _open_interface(self) -> None:
        addr, timeout = self.address, self.connect_timeout
        iface = await self._call("connect", lambda: self._factory(addr, timeout))
        self._iface = iface
        try:
            node_num, preset, region = await self._call("connect", lambda: handshake(iface))
        except BaseException:
            self._iface = None
            await self._close_interface(iface)
            raise
        if self._closed:
            await self._close_interface(iface)
            raise TransportError("transport closed")
        self.node_num = node_num
        self.region = region
        self.modem = airtime.PRESETS.get(preset)
        self._set_connected(True)
        log.info("radio %s connected: node !%08x, %s, %s", addr, node_num, preset, region)

    async def _close_interface(self, iface: Any) -> None:
        with contextlib.suppress(TransportError, asyncio.TimeoutError):
            await asyncio.wait_for(self._call("close", iface.close), 10.0)

    async def _reconnect(self, old: Any, *, count: bool = True) -> None:
        if old is not None:
            await self._close_interface(old)
        delay = self.reconnect_initial
        while not self._closed:
            try:
                await self._open_interface()
            except TransportError as exc:
                log.warning("radio %s: %s; retrying in %.1f s", self.address, exc, delay)
                await asyncio.sleep(delay)  # backoff between attempts
                delay = min(delay * 2, self.reconnect_max)
                continue
            if count:
                self._counts["reconnects"] += 1
                log.warning(
                    "radio %s: reconnected (%d so far)", self.address, self._counts["reconnects"]
                )
            break
        self._reconnect_task = None

    def _lost(self, iface: Any) -> None:
        if iface is not self._iface or self._closed or not self._connected.is_set():
            return  # not ours, or lost mid-handshake: _open_interface reports that itself
        log.warning("radio %s: connection lost; reconnecting", self.address)
        self._iface = None
        self._set_connected(False)
        for pid, fut in list(self._pending.items()):
            if not fut.done():
                fut.set_exception(RadioUnavailable(f"radio lost before packet {pid:#x} was acked"))
        self._reconnect_task = asyncio.create_task(self._reconnect(iface))

    # -- pubsub listeners: run on the library's publishing thread ----------------------------

    def _post(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # loop closing
            loop.call_soon_threadsafe(fn, *args)

    def _on_receive(self, packet: dict[str, Any], interface: Any) -> None:
        if interface is self._iface and interface is not None:
            self._post(self._handle_packet, packet)

    def _on_connection_lost(self, interface: Any) -> None:
        if interface is self._iface and interface is not None:
            self._post(self._lost, interface)

    # -- packet handling: on the event loop -------------------------------------------------

    def _handle_packet(self, packet: dict[str, Any]) -> None:
        decoded = packet.get("decoded")
        if not isinstance(decoded, dict):
            return  # encrypted for someone else
        portnum = portnum_value(decoded.get("portnum"))
        if portnum == airtime.ROUTING_APP:
            self._handle_routing(decoded)
            return
        if portnum not in self.ports:
            return
        payload = bytes(decoded.get("payload") or b"")
        to = packet.get("to", BROADCAST)
        hop_start, hop_limit = packet.get("hopStart"), packet.get("hopLimit", 0)
        frame = Frame(
            sender=int(packet.get("from", 0)),
            payload=payload,
            dest=None if to == BROADCAST else int(to),
            snr=packet.get("rxSnr"),
            rssi=packet.get("rxRssi"),
            port=portnum,
            packet_id=int(packet.get("id", 0)),
            hops_away=(hop_start - hop_limit) if isinstance(hop_start, int) else None,
            rx_time=rx_time if isinstance(rx_time := packet.get("rxTime"), int) else 0,
        )
        self._counts["frames_received"] += 1
        self._counts["bytes_received"] += len(payload)
        if not self._rx.put(frame):
            self._counts["rx_dropped"] += 1

    def _handle_routing(self, decoded: dict[str, Any]) -> None:
        request_id = decoded.get("requestId")
        if not isinstance(request_id, int):
            return
        routing = decoded.get("routing")
        reason = str(routing.get("errorReason", "NONE")) if isinstance(routing, dict) else "NONE"
        if reason == "NONE":
            self._counts["acks"] += 1
        else:
            self._naks[reason] = self._naks.get(reason, 0) + 1
            log.info("radio %s: packet %#x refused: %s", self.address, request_id, reason)
            if reason == "DUTY_CYCLE_LIMIT" and self._loop is not None:
                self._duty_until = self._loop.time() + self.duty_cycle_backoff / self.time_scale
        fut = self._pending.pop(request_id, None)
        if fut is not None:
            if not fut.done():
                fut.set_result(reason)
        else:
            self._verdicts[request_id] = reason
            while len(self._verdicts) > _VERDICTS_KEPT:
                self._verdicts.popitem(last=False)

    def _radio_now(self) -> float:
        """Seconds of radio time (the wall's, times ``time_scale``)."""
        return time.monotonic() * self.time_scale

    def _count_sent(self, data: bytes, portnum: int) -> None:
        self._counts["frames_sent"] += 1
        self._counts["bytes_sent"] += len(data)
        if self.modem is not None:
            seconds = airtime.packet_airtime_s(len(data), self.modem, portnum)
            self._airtime_ms += seconds * 1000.0
            now = self._radio_now()
            self._tx_log.append((now, now + seconds))
            lo = now - airtime.DUTY_CYCLE_WINDOW_S  # only the window counts: keep no more
            while self._tx_log[0][1] <= lo:  # (where no duty cycle applies, stats() never
                self._tx_log.popleft()  # prunes it: it grew by a frame sent, for ever)
