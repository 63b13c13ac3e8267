"""The radio's clock (issue 11): a radio with a GPS fix stamps every packet it receives with its
time, so a hub whose own clock is wrong — a Pi booted a month in the past, or one a year ahead
(which its neighbours' stamps can never prove) — notices, says so on its status page, and
corrects its own stamps, without touching the system clock. A radio without time (rxTime 0)
moves nothing. Real parts: the meshtastic library over TCP to the simulator's radios."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from fieldkit.app.hub import Hub, create_identity
from fieldkit.core.records import Category, Draft, Kind, Urgency
from fieldkit.mesh.meshtastic_transport import MeshtasticTransport
from fieldkit.mesh.simulator import Simulator
from fieldkit.store.sqlite import Store
from fieldkit.sync.engine import SyncSettings
from fieldkit.sync.radio import RadioSync
from fieldkit.web.sync_api import sync_routes
from tests.waiting import poll_until, stop_task

KEY = b"c" * 32
SCALE = 20.0
SETTINGS = SyncSettings(debounce=5_000, jitter=1_000, forward=4_000, heartbeat_min=20_000)
DAY_MS = 86_400_000
WAIT = 60.0
DRAFT = Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside")


def real_ms() -> int:
    return int(time.time() * 1000)


@contextlib.asynccontextmanager
async def hub_hearing_its_radio(
    tmp_path: Path, off_ms: int, *, radio_has_time: bool = True
) -> AsyncIterator[tuple[Hub, RadioSync]]:
    """A hub whose wall clock is ``off_ms`` from the real time, once its radio has handed it
    a frame from another radio (the radio stamps it with its own time, or 0 without one)."""
    wall: Callable[[], int] = lambda: real_ms() + off_ms  # noqa: E731
    async with Simulator(2, time_scale=SCALE, seed=2) as sim:
        if not radio_has_time:
            sim.set_radio_clock(0, None)
        async with await Store.open(tmp_path / "hub.db") as store:
            await create_identity(store)
            hub = await Hub.open(store, wall=wall)
            async with (
                MeshtasticTransport(sim.url(0)) as mine,
                MeshtasticTransport(sim.url(1)) as other,
            ):
                sync = RadioSync(hub, mine, KEY, settings=SETTINGS, time_scale=SCALE)
                task = asyncio.create_task(sync.run())
                try:
                    async with asyncio.timeout(WAIT):
                        await poll_until(lambda: sync.restored)
                        while not sync.node.stats.frames_in:  # again if lost on air
                            await other.send(b"any frame at all: our radio stamps it")
                            with contextlib.suppress(TimeoutError):
                                async with asyncio.timeout(2):
                                    await poll_until(lambda: sync.node.stats.frames_in >= 1)
                    yield hub, sync
                finally:
                    await stop_task(task, within=10, what="the radio loop")


async def status_page(hub: Hub, sync: RadioSync) -> str:
    app = Starlette(routes=sync_routes(hub, KEY, "Test hub", sync.status))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        return (await client.get("/hub/status")).text


@pytest.mark.parametrize(
    ("off_ms", "what"), [(-30 * DAY_MS, "30 days behind"), (365 * DAY_MS, "a year ahead")]
)
async def test_a_hub_whose_clock_is_wrong_corrects_its_stamps_from_its_radios_gps_time(
    tmp_path: Path, off_ms: int, what: str
) -> None:
    async with hub_hearing_its_radio(tmp_path, off_ms) as (hub, sync):
        clock = (await hub.status("hub"))["clock"]
        assert clock["trusted_source"] == "radio", what
        assert clock["disagrees_with_trusted"] is True
        assert abs(clock["trusted_offset_ms"] + off_ms) < 5_000  # the radio's word: exact
        assert abs(clock["offset_ms"] + off_ms) < 5_000  # applied to our own stamps
        created = (await hub.submit(DRAFT)).record.created_at
        assert abs(created - real_ms()) < 10_000  # stamped with the real time again
        assert abs(hub.wall() - real_ms() - off_ms) < 1_000  # the system clock untouched
        page = await status_page(hub, sync)
        assert "clock disagrees with the radio" in page, page


async def test_a_right_clock_is_left_alone_and_a_radio_without_time_moves_nothing(
    tmp_path: Path,
) -> None:
    async with hub_hearing_its_radio(tmp_path, 0) as (hub, sync):
        clock = (await hub.status("hub"))["clock"]
        assert (clock["trusted_source"], clock["offset_ms"]) == ("radio", 0)
        assert clock["disagrees_with_trusted"] is False
        assert "clock disagrees" not in await status_page(hub, sync)
    (tmp_path / "no-gps").mkdir()
    no_gps = hub_hearing_its_radio(tmp_path / "no-gps", -30 * DAY_MS, radio_has_time=False)
    async with no_gps as (hub, _):
        clock = (await hub.status("hub"))["clock"]
        assert clock["trusted_source"] is None
        assert clock["offset_ms"] == 0  # no time from the radio, and no neighbours heard
