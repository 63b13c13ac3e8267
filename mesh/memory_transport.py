"""An in-memory :class:`~fieldkit.mesh.transport.Transport` for tests of the layers above.

A :class:`MemoryMedium` is an ideal shared channel: a frame sent by one attached transport
arrives at once at every other transport in range (broadcast) or at the one addressed. Range is
all-to-all until :meth:`MemoryMedium.set_in_range` says otherwise; an optional seeded loss rate
drops frames. No radio, no airtime, no threads.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

from fieldkit.errors import TransportError
from fieldkit.mesh.transport import (
    MAX_PAYLOAD,
    PRIVATE_APP,
    Frame,
    Inbox,
    LinkStats,
    check_payload,
)


class MemoryMedium:
    """The shared channel; ``loss`` drops each delivery with that probability (seeded rng)."""

    def __init__(self, *, loss: float = 0.0, rng: random.Random | None = None) -> None:
        self.loss = loss
        self.rng = rng or random.Random(0)
        self._members: dict[int, MemoryTransport] = {}
        self._out_of_range: set[frozenset[int]] = set()
        self._next_num = 0x20000001

    def attach(
        self,
        node_num: int | None = None,
        *,
        max_payload: int = MAX_PAYLOAD,
    ) -> MemoryTransport:
        """A new transport on this medium (``node_num`` picked if not given)."""
        if node_num is None:
            while self._next_num in self._members:
                self._next_num += 1
            node_num = self._next_num
        if node_num in self._members:
            raise ValueError(f"node {node_num:#x} is already attached")
        transport = MemoryTransport(self, node_num, max_payload)
        self._members[node_num] = transport
        return transport

    def set_in_range(self, a: int, b: int, in_range: bool) -> None:
        """Put nodes ``a`` and ``b`` in or out of each other's range."""
        pair = frozenset((a, b))
        if in_range:
            self._out_of_range.discard(pair)
        else:
            self._out_of_range.add(pair)

    def in_range(self, a: int, b: int) -> bool:
        return frozenset((a, b)) not in self._out_of_range

    def _detach(self, node_num: int) -> None:
        self._members.pop(node_num, None)

    def _carry(self, frame: Frame) -> None:
        for num, member in list(self._members.items()):
            if num == frame.sender or not self.in_range(frame.sender, num):
                continue
            if frame.dest is not None and frame.dest != num:
                continue
            if self.loss and self.rng.random() < self.loss:
                continue
            member._deliver(frame)


class MemoryTransport:
    """One node on a :class:`MemoryMedium`."""

    def __init__(self, medium: MemoryMedium, node_num: int, max_payload: int) -> None:
        self.medium = medium
        self.node_num = node_num
        self.max_payload = max_payload
        self._rx = Inbox()
        self._closed = False
        self._sent = [0, 0]
        self._received = [0, 0]

    async def send(self, payload: bytes, dest: int | None = None) -> None:
        check_payload(payload, self.max_payload)
        if self._closed:
            raise TransportError("transport closed")
        self._sent[0] += 1
        self._sent[1] += len(payload)
        self.medium._carry(Frame(self.node_num, bytes(payload), dest, port=PRIVATE_APP))

    def _deliver(self, frame: Frame) -> None:
        if not self._closed:
            self._received[0] += 1
            self._received[1] += len(frame.payload)
            self._rx.put(frame)

    def frames(self) -> AsyncIterator[Frame]:
        return self._rx.frames()

    async def recv(self) -> Frame:
        """The next frame; :class:`TransportError` once closed (wrap in ``asyncio.timeout``)."""
        return await self._rx.recv()

    def stats(self) -> LinkStats:
        return LinkStats(
            frames_sent=self._sent[0],
            bytes_sent=self._sent[1],
            frames_received=self._received[0],
            bytes_received=self._received[1],
            connected=not self._closed,
        )

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.medium._detach(self.node_num)
            self._rx.close()
