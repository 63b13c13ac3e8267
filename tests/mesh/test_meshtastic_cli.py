"""The real ``meshtastic`` command line works against the simulator."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fieldkit.mesh.airtime import TEXT_MESSAGE_APP
from fieldkit.mesh.meshtastic_transport import MeshtasticTransport
from fieldkit.mesh.simulator import Simulator
from fieldkit.mesh.transport import PRIVATE_APP

MESHTASTIC = Path(sys.executable).with_name("meshtastic")

pytestmark = pytest.mark.skipif(not MESHTASTIC.exists(), reason="meshtastic CLI not installed")


async def meshtastic_cli(*args: str) -> tuple[int, str]:
    # The CLI asks PyPI for a newer version after --info; a dead proxy makes that fail at once.
    env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    proc = await asyncio.create_subprocess_exec(
        str(MESHTASTIC),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(60):
            out, _ = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, out.decode(errors="replace")


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(2, time_scale=50.0) as s:
        yield s


async def test_meshtastic_info_reads_the_simulated_radio(sim: Simulator) -> None:
    code, out = await meshtastic_cli("--host", f"127.0.0.1:{sim.port(0)}", "--info")
    assert code == 0, out
    assert f"!{sim.node_num(0):08x}" in out
    assert "LONG_FAST" in out or '"region": "US"' in out


async def test_meshtastic_sendtext_reaches_a_transport_on_another_node(sim: Simulator) -> None:
    t = MeshtasticTransport(sim.url(1), extra_ports=[TEXT_MESSAGE_APP])
    try:
        async with asyncio.timeout(15):
            await t.connect()
        code, out = await meshtastic_cli(
            "--host", f"127.0.0.1:{sim.port(0)}", "--sendtext", "hello"
        )
        assert code == 0, out
        async with asyncio.timeout(15):
            frame = await t.recv()
        assert (frame.port, frame.payload, frame.sender) == (
            TEXT_MESSAGE_APP,
            b"hello",
            sim.node_num(0),
        )
    finally:
        await t.close()


async def test_transport_ignores_ports_it_was_not_asked_for(sim: Simulator) -> None:
    t = MeshtasticTransport(sim.url(1))
    sender = MeshtasticTransport(sim.url(0))
    try:
        async with asyncio.timeout(15):
            await t.connect()
            await sender.connect()
        await sender.send(b"text", port=TEXT_MESSAGE_APP)
        await sender.send(b"ours")
        async with asyncio.timeout(15):
            frame = await t.recv()
        assert (frame.port, frame.payload) == (PRIVATE_APP, b"ours")
    finally:
        await t.close()
        await sender.close()
