"""A hub gossiping over its radio, for as long as ``fieldkit run`` runs (the I/O edge).

Frames come in from the :class:`~fieldkit.mesh.transport.Transport`; the
:class:`~fieldkit.sync.node.GossipNode` decides what goes out; this loop only waits, sends and
backs off: when the radio is away, when the firmware says the duty-cycle budget is spent,
and before it would spend the last of the budget itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from fieldkit.app.hub import Hub
from fieldkit.errors import TransportError
from fieldkit.mesh import airtime
from fieldkit.mesh.transport import (
    DUTY_CYCLE_BACKOFF_S,
    DutyCycleLimited,
    RadioUnavailable,
    Transport,
)
from fieldkit.sync.engine import SyncEngine, SyncSettings, peers_view
from fieldkit.sync.node import GossipNode, Outgoing, ReplayGuard
from fieldkit.sync.replica import StoreReplica
from fieldkit.wire.bits import BitError, BitReader

if TYPE_CHECKING:
    from fieldkit.app.keyring import KeyRing

log = logging.getLogger(__name__)
COUNTER_KEY = "frame_counter"
#: Each neighbour's highest frame counter accepted, kept so a restart accepts no replay.
REPLAY_KEY = "replay_window"
COUNTER_BLOCK = 100_000
BUDGET_MARGIN_MS = 5_000.0  # never spend the last seconds of the duty-cycle budget
TROUBLE_BACKOFF_S = 5.0  # after any other radio trouble, try again this soon
#: A neighbour heard under the network's previous key (it has not moved yet) is sent the key
#: notices at most once per ``heartbeat_min`` of the sync settings (2.5 min by default).
#: A neighbour whose exchange key we lack is asked for it at most this often (ms).
ASK_EVERY_MS = 60_000
#: How often (s) the radio reads the keys again, when the store changed (another process may
#: have rotated them: ``fieldkit network rotate-key``, ``fieldkit sync``, a bundle import).
KEYS_RELOAD_S = 1.0


async def reserve_counters(hub: Hub, used: int) -> int:
    """Reserve the next block of frame counters, past ``used`` and past every block reserved
    before (in one write transaction); returns the block's end."""

    def after(kept: str | None) -> str:
        return str(max(int(kept or 0), used) + COUNTER_BLOCK)

    return int(await hub.store.update_meta(COUNTER_KEY, after))


class RadioSync:
    def __init__(
        self,
        hub: Hub,
        transport: Transport,
        key: bytes,
        *,
        settings: SyncSettings | None = None,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        counter: int = 0,
        preset: str = "LONG_FAST",
        old_keys: tuple[bytes, ...] = (),
        old_keys_until_ms: int | None = None,
        keyring: KeyRing | None = None,
        areas: Sequence[str] = (),
    ) -> None:
        self.hub = hub
        self.modem = airtime.preset(preset)
        self.transport = transport
        self.time_scale = time_scale
        self.clock = clock
        self._start = clock()
        engine = SyncEngine(hub.id, settings or SyncSettings(), rng or random.Random())
        self.node = GossipNode(
            hub.id, StoreReplica(hub), key, engine, budget=transport.max_payload,
            counter=counter, clock_sample=self._clock_sample, keep_counters=self._keep_counters,
            reserve_counters=self._reserve_counters, counters_until=counter + COUNTER_BLOCK,
            airtime_ms=airtime.pacer(self.modem), areas=areas,
        )  # fmt: skip
        self.node.old_keys = old_keys  # the previous network key, during a rotation's grace
        self.old_keys_until_ms = old_keys_until_ms
        self.wake = asyncio.Event()
        self.last_contact: float | None = None
        self.backoffs = 0
        self.failures = 0  # frames not taken, sends not read: the store failed (a full disk)
        self.restored = False  # the replay window kept before a restart is taken up
        hub.on_change.append(self._changed)
        #: The hub's keys as the network moves (None: the keys given stay, as before).
        self.keyring = keyring
        self._keys_stale = False
        self._keys_read = 0.0
        self._notices_sent: dict[int, int] = {}  # neighbour -> when it was sent the notices
        self._asked: dict[int, int] = {}  # neighbour -> when we asked for its exchange key
        self._announced: dict[int, int] = {}  # neighbour -> when we answered it with ours
        self._broadcast: set[bytes] = set()  # rotate and revoke notices broadcast once
        self.node.revoked = hub.revoked
        if keyring is not None:
            self.node.key_events = self
            self._apply_keys()

    @classmethod
    async def start_counter(cls, hub: Hub) -> int:
        """Frame counters survive restarts: reserve a fresh block in the database."""
        return await reserve_counters(hub, 0) - COUNTER_BLOCK

    async def _reserve_counters(self, used: int) -> int:
        return await reserve_counters(self.hub, used)

    async def _keep_counters(self, tops: dict[int, int]) -> None:
        await self.hub.store.set_meta(
            REPLAY_KEY, json.dumps({f"{s:08x}": c for s, c in tops.items()})
        )

    async def restore_replay_window(self) -> None:
        """Take up the replay window kept before a restart (an unreadable one is logged)."""
        text = await self.hub.store.meta(REPLAY_KEY)
        try:
            kept = {int(s, 16): int(c) for s, c in json.loads(text).items()} if text else {}
        except (ValueError, AttributeError, TypeError):
            log.warning("the kept replay window is unreadable: starting a new one")
            kept = {}
        self.node.guard = ReplayGuard(kept)
        self.restored = True

    def _clock_sample(self, sender: int, remote_ms: int) -> None:
        self.hub.skew.observe(f"{sender:08x}", remote_ms, self.hub.wall())

    def now(self) -> int:
        """Radio time in ms (the simulator may run it faster than the wall clock)."""
        return int((self.clock() - self._start) * 1000 * self.time_scale)

    def _changed(self) -> None:
        self.node.engine.changed(self.now())
        self._keys_stale = True
        self.wake.set()

    # --- keys (KeyEvents): rotations and revocations travel on air -----------------------

    def _apply_keys(self) -> None:
        assert self.keyring is not None
        keys = self.keyring.keys
        self.node.key = keys.current
        self.node.old_keys, self.old_keys_until_ms = keys.old, keys.until_ms

    def _queue(self, notices: list[bytes]) -> None:
        self.node.notices_out.extend(n for n in notices if n not in self.node.notices_out)
        if notices:
            self.wake.set()

    def _queue_new_moves(self) -> None:
        """Broadcast, once each, the rotate and revoke notices not broadcast yet."""
        assert self.keyring is not None
        new = [n for n in self.keyring.moving() if n not in self._broadcast]
        self._broadcast.update(new)
        self._queue(new)

    async def _reload_keys(self) -> None:
        """Another process may have moved the keys: take them up, and send new notices."""
        if self.keyring is None or not self._keys_stale:
            return
        if time.monotonic() - self._keys_read < KEYS_RELOAD_S:
            return
        self._keys_stale, self._keys_read = False, time.monotonic()
        await self.keyring.reload()
        self._apply_keys()
        self._queue_new_moves()

    async def notice(self, payload: bytes, now: int) -> None:
        assert self.keyring is not None
        outcome = await self.keyring.take(payload)
        if outcome in ("moved", "revoked", "learned"):  # new to us: pass it on, once
            self._broadcast.add(payload)
            self._queue([payload])
        if outcome == "moved":
            self._apply_keys()
            self._queue([self.keyring.announce()])  # under the new key, for moved hubs
        heard = self.keyring.last_announce if outcome in ("learned", "known") else None
        self.keyring.last_announce = None
        if heard is None:
            return
        if heard.ask == self.hub.id:  # it asks for ours (each asker asks rarely: see heard())
            self._queue([self.keyring.announce()])
        elif outcome == "learned":  # a hub new to us may not know us either
            every = self.node.engine.settings.heartbeat_min
            if now - self._announced.get(heard.hub, -every) >= every:
                self._announced[heard.hub] = now
                self._queue([self.keyring.announce()])

    async def unreadable(self, payload: bytes) -> None:
        assert self.keyring is not None
        try:
            reader = BitReader(payload[1:])
            reader.bits(2)  # the message type; then the sender, readable without the key
            sender = reader.bits(32)
        except BitError:
            return
        known = sender in self.keyring.peers or sender in await self.hub.store.version_vector()
        if known and sender != self.hub.id:
            await self.keyring.unreadable_from(sender)

    async def heard(self, sender: int, old_key: bool, now: int) -> None:
        assert self.keyring is not None
        if sender in self.keyring.stale:
            await self.keyring.readable_from(sender)
        last = self._asked.get(sender, -ASK_EVERY_MS)
        if sender not in self.keyring.peers and now - last >= ASK_EVERY_MS:
            self._asked[sender] = now  # a neighbour whose exchange key we lack: ask for it
            self._queue([self.keyring.announce(ask=sender)])
        every = self.node.engine.settings.heartbeat_min
        if old_key and now - self._notices_sent.get(sender, -every) >= every:
            self._notices_sent[sender] = now  # it has not moved yet: tell it
            self._queue(self.keyring.moving())

    async def run(self) -> None:
        # ops this hub held before it started are not "new": neighbours ask for what they lack
        self.node.engine.own_floor = (await self.hub.store.version_vector()).get(self.hub.id, 0)
        await self.restore_replay_window()
        if self.keyring is not None:  # our exchange key, and a move under way
            self._queue([self.keyring.announce()])
            self._queue_new_moves()
        receiver = asyncio.create_task(self._receive())
        try:
            await self._send_loop()
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receiver
            with contextlib.suppress(ValueError):
                self.hub.on_change.remove(self._changed)

    async def _receive(self) -> None:
        async for frame in self.transport.frames():
            self.last_contact = time.time()
            until = self.old_keys_until_ms
            if until is not None and self.hub.wall() >= until:  # the rotation's grace is over
                self.node.old_keys, self.old_keys_until_ms = (), None
            if frame.rx_time:  # our own radio's clock (its GPS): whoever sent the frame
                self.hub.time_fix.observe("radio", frame.rx_time * 1000, self.hub.wall())
            try:
                await self.node.receive(frame.payload, self.now())
            except Exception as exc:  # a full disk, a failing card: the next frame may do
                # The radio keeps listening: what this frame carried comes back by repair.
                self.failures += 1
                log.error("a radio frame could not be taken: %s", exc)
            self.wake.set()

    async def _send_loop(self) -> None:
        while True:
            self.wake.clear()
            try:
                await self._reload_keys()
                out = await self.node.next_payload(self.now())
            except Exception as exc:  # the store failing to read: try again soon, not never
                self.failures += 1
                await self._back_off(f"could not read what to send: {exc}", TROUBLE_BACKOFF_S)
                continue
            if isinstance(out, Outgoing):
                await self._send(out)
                continue
            timeout = None if out is None else max(0.0, (out - self.now()) / 1000 / self.time_scale)
            # asyncio.timeout, not wait_for: Python 3.11's wait_for swallows a cancel that
            # lands as the event is set, and the loop then never stops (a hang at shutdown)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self.wake.wait()

    async def _send(self, out: Outgoing) -> None:
        left = self.transport.stats().duty_cycle_left_ms
        cost = airtime.packet_airtime_ms(len(out.payload), self.modem)
        if left is not None and left < cost + BUDGET_MARGIN_MS:
            await self._back_off("duty-cycle budget nearly spent", DUTY_CYCLE_BACKOFF_S)
            return
        try:
            await self.transport.send(out.payload)
        except DutyCycleLimited:
            await self._back_off("radio refused: duty-cycle limit", DUTY_CYCLE_BACKOFF_S)
        except RadioUnavailable:
            await self._await_radio()
        except TransportError as exc:
            await self._back_off(f"radio trouble: {exc}", TROUBLE_BACKOFF_S)

    async def _await_radio(self) -> None:
        """The radio is away (unplugged, rebooting, not yet up): wait for it to come back."""
        wait_connected = getattr(self.transport, "wait_connected", None)
        if wait_connected is None:
            await self._back_off("radio unavailable", TROUBLE_BACKOFF_S)
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(60):
                await wait_connected()

    async def _back_off(self, why: str, seconds: float) -> None:
        self.backoffs += 1
        log.warning("gossip paused %.0f s: %s", seconds, why)
        await asyncio.sleep(seconds / self.time_scale)

    async def status(self) -> dict[str, Any]:
        """What the status page and ``fieldkit status`` show about the radio."""
        mine = await self.hub.store.version_vector()
        link = self.transport.stats()
        stats = self.node.stats
        now = self.now()
        peers = [
            {
                "hub": f"{hub:08x}",
                "last_heard_s_ago": round((now - heard) / 1000 / self.time_scale, 1),
                "ahead_behind": {f"{o:08x}": d for o, d in diff.items()},
                "reads_wire_version": self.node.engine.peers[hub].reads,
            }
            for hub, heard, diff in peers_view(self.node.engine, mine)
        ]
        return {
            "peers": peers,
            "last_contact": self.last_contact,
            "airtime_ms": link.airtime_ms,
            "duty_cycle_left_ms": link.duty_cycle_left_ms,
            "frames_in": stats.frames_in,
            "frames_out": stats.frames_out,
            "ops_sent": stats.ops_out,
            "ops_received_new": stats.ops_in_new,
            "wire_version": self.node.engine.write_version(),
            "ops_held_back": stats.ops_held_back,  # left out of frames for an older neighbour
            "ops_waiting_for_upgrade": len(self.node.engine.held),
            "rejected": dict(stats.rejected),
            "old_key_frames": stats.old_key_frames,  # taken under the previous network key
            "key_notices_in": stats.notices_in,
            "key_notices_out": stats.notices_out,
            "naks": link.naks,
            "reconnects": link.reconnects,
            "connected": link.connected,
            "backoffs": self.backoffs,
            "store_failures": self.failures,
        }
