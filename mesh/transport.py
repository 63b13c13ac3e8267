"""The ``Transport`` port: what the hub and the sync layer need from a radio (or any link).

A transport moves opaque payloads of at most ``max_payload`` bytes to one node or to every node
in range, and yields the frames it receives. It never retries or reorders on its own; the sync
protocol above it owns reliability. Errors are :class:`~fieldkit.errors.TransportError`s.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from fieldkit.errors import (
    AckTimeout as AckTimeout,
)
from fieldkit.errors import (
    DeliveryFailed as DeliveryFailed,
)
from fieldkit.errors import (
    DutyCycleLimited as DutyCycleLimited,
)
from fieldkit.errors import (
    FrameTooLargeForRadio as FrameTooLargeForRadio,
)
from fieldkit.errors import (
    PayloadTooLarge,
    TransportError,
)
from fieldkit.errors import (
    RadioRejected as RadioRejected,
)
from fieldkit.errors import (
    RadioUnavailable as RadioUnavailable,
)

#: Payload budget per frame (DESIGN §4: the firmware takes 231 for a PRIVATE_APP broadcast,
#: 219 for a PKI direct message; official apps keep to 200 for delivery).
MAX_PAYLOAD = 200

#: Meshtastic's first private application port: the one our frames travel on.
PRIVATE_APP = 256

#: The destination node number of a broadcast (the library's ``meshtastic.BROADCAST_NUM``).
BROADCAST = 0xFFFFFFFF

#: After the radio refuses a frame for its duty cycle, leave it alone this long (seconds).
DUTY_CYCLE_BACKOFF_S = 60.0


def nak_error(reason: str, packet_id: int | None = None) -> RadioRejected:
    """The exception for a routing NAK reason name."""
    if reason == "DUTY_CYCLE_LIMIT":
        return DutyCycleLimited(packet_id)
    if reason == "TOO_LARGE":
        return FrameTooLargeForRadio(packet_id)
    return DeliveryFailed(reason, packet_id)


@dataclass(frozen=True)
class Frame:
    """One received frame. ``dest`` is None for a broadcast."""

    sender: int
    payload: bytes
    dest: int | None = None
    snr: float | None = None
    rssi: int | None = None
    port: int = PRIVATE_APP
    packet_id: int = 0
    hops_away: int | None = None
    #: Our radio's clock when it received the frame (s since the epoch; 0: it has no time).
    rx_time: int = 0


@dataclass(frozen=True)
class LinkStats:
    """Counters of one transport since it was created."""

    frames_sent: int = 0
    bytes_sent: int = 0
    frames_received: int = 0
    bytes_received: int = 0
    airtime_ms: float | None = None
    duty_cycle_left_ms: float | None = None
    naks: dict[str, int] = field(default_factory=dict)
    acks: int = 0
    reconnects: int = 0
    connected: bool = False
    rx_dropped: int = 0


@runtime_checkable
class Transport(Protocol):
    """A link that carries payloads of up to ``max_payload`` bytes between nodes."""

    max_payload: int

    async def send(self, payload: bytes, dest: int | None = None) -> None:
        """Send ``payload`` to node ``dest`` (None = broadcast).

        Raises :class:`PayloadTooLarge` before touching the link if the payload is too big,
        :class:`TransportError` (or a subclass) if the link refuses or fails.
        """
        ...

    def frames(self) -> AsyncIterator[Frame]:
        """Received frames, in arrival order, until the transport is closed."""
        ...

    def stats(self) -> LinkStats: ...

    async def close(self) -> None: ...


def check_payload(payload: bytes, limit: int) -> None:
    """Raise :class:`PayloadTooLarge` if ``payload`` exceeds ``limit`` bytes."""
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise TypeError("payload must be bytes")
    if len(payload) > limit:
        raise PayloadTooLarge(len(payload), limit)


class Inbox:
    """Received frames waiting to be read, shared by the transports.

    With a ``limit`` the oldest frame makes room for a new one (a hub that stops reading must
    not grow without bound). :meth:`close` ends every reader.
    """

    def __init__(self, limit: int = 0) -> None:
        self._queue: asyncio.Queue[Frame | None] = asyncio.Queue()
        self.limit = limit

    def put(self, frame: Frame) -> bool:
        """Queue ``frame``; False if the oldest waiting frame was dropped for it."""
        dropped = False
        if self.limit and self._queue.qsize() >= self.limit:
            with contextlib.suppress(asyncio.QueueEmpty):
                self._queue.get_nowait()
                dropped = True
        self._queue.put_nowait(frame)
        return not dropped

    def close(self) -> None:
        self._queue.put_nowait(None)

    async def frames(self) -> AsyncIterator[Frame]:
        while True:
            frame = await self._queue.get()
            if frame is None:
                self._queue.put_nowait(None)  # let other readers end too
                return
            yield frame

    async def recv(self) -> Frame:
        """The next frame; :class:`TransportError` once closed (wrap in ``asyncio.timeout``)."""
        frame = await self._queue.get()
        if frame is None:
            self._queue.put_nowait(None)
            raise TransportError("transport closed")
        return frame
