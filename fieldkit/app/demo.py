"""The local demo: three hubs in a line, each with its web pages and a simulated radio.

Hub 1 hears only hub 2, hub 2 hears both, hub 3 hears only hub 2: a need submitted at one end
reaches the other end by gossip, relayed by the hub in the middle.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from importlib import resources
from pathlib import Path
from typing import Any

from fieldkit.app.config import CONFIG_FILE, Area, load_config, render_config
from fieldkit.app.hub import Hub, create_identity
from fieldkit.app.import_export import import_file
from fieldkit.app.netkey import ensure_network_key
from fieldkit.app.passphrase import PASSPHRASE_KEY, set_passphrase
from fieldkit.app.serve import serve_hub
from fieldkit.store.sqlite import Store
from fieldkit.sync.engine import SyncSettings

AREAS = (
    Area("riverside", "Riverside", ("downtown",)),
    Area("downtown", "Downtown", ("riverside", "hillside")),
    Area("hillside", "Hillside", ("downtown",)),
)
NAMES = ("St. Mary's · Riverside", "Library · Downtown", "Fire station · Hillside")
#: The demo hubs' console passphrase (printed by the demo: it guards nothing real).
DEMO_PASSPHRASE = "mutual aid demo"
#: Hub i's console is at https://127.0.0.1:PORT+CONSOLE_OFFSET+i-1/.
CONSOLE_OFFSET = 200
#: Quicker than a real deployment, so a visitor sees records move within seconds.
DEMO_SETTINGS = SyncSettings(debounce=5_000, jitter=2_000, forward=10_000, heartbeat_min=20_000)


async def _prepare(root: Path, index: int, port: int, radio_port: int, key: bytes | None) -> bytes:
    path = root / f"hub-{index + 1}" / CONFIG_FILE
    fresh = not path.exists()
    if fresh:
        path.parent.mkdir(parents=True, exist_ok=True)
        radio = f"sim://127.0.0.1:{radio_port}"
        console = port + CONSOLE_OFFSET
        path.write_text(
            render_config(NAMES[index], AREAS, radio_url=radio, port=port, console_port=console)
        )
    config = load_config(path, {})
    config.data_dir.mkdir(parents=True, exist_ok=True)
    async with await Store.open(config.db_path) as store:
        await create_identity(store)
        key = await ensure_network_key(store, key)
        if await store.meta(PASSPHRASE_KEY) is None:
            await set_passphrase(store, DEMO_PASSPHRASE)
        if fresh:  # each hub starts with its share of the sample records
            hub = await Hub.open(store)
            sample = resources.files("fieldkit") / "data" / "sample.jsonl"
            with resources.as_file(sample) as sample_path:
                lines = sample_path.read_text(encoding="utf-8").splitlines()[index::3]
            mine = path.parent / "sample.jsonl"
            mine.write_text("\n".join(lines) + "\n", encoding="utf-8")
            await import_file(hub, mine, areas=config.area_names())
    return key


async def run_demo(
    root: Path, port: int, *, hubs: int = 3, time_scale: float = 1.0, loss: float = 0.0
) -> int:
    """Serve the demo until stopped; ``loss``: each radio link drops that share of frames
    (``bench/soak.py`` runs it so)."""
    from fieldkit.mesh.simulator import Simulator

    radio_port = port + 100
    key = None
    for i in range(hubs):
        key = await _prepare(root, i, port + i, radio_port + i, key)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    sim = Simulator(
        hubs, topology="line", seed=7, port=radio_port, time_scale=time_scale, loss=loss
    )
    async with sim:
        opened = []
        for i in range(hubs):
            config = load_config(root / f"hub-{i + 1}" / CONFIG_FILE, {})
            opened.append((await Hub.open(await Store.open(config.db_path)), config))
        readiness = [asyncio.Event() for _ in opened]
        servers = asyncio.gather(
            *(
                serve_hub(hub, config, host="127.0.0.1", port=port + i, stop=stop, ready=ready,
                          settings=DEMO_SETTINGS, time_scale=time_scale, log_level="warning")
                for i, ((hub, config), ready) in enumerate(zip(opened, readiness, strict=True))
            )
        )  # fmt: skip
        try:
            waiting = asyncio.gather(*(r.wait() for r in readiness))
            either: list[asyncio.Future[Any]] = [waiting, servers]
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            if waiting.done():
                print(_guide(root, port, hubs), flush=True)
            await servers
        finally:
            for hub, _ in opened:
                await hub.store.close()
    print("demo stopped", flush=True)
    return 0


def _guide(root: Path, port: int, hubs: int) -> str:
    lines = ["", f"fieldkit demo: {hubs} hubs in a line, gossiping over simulated LoRa radios", ""]
    for i in range(hubs):
        lines.append(f"  {NAMES[i]:28} http://127.0.0.1:{port + i}/   (status: /hub/status)")
        lines.append(f"  {'':28} console https://127.0.0.1:{port + CONSOLE_OFFSET + i}/")
    lines += [
        "",
        f"Submit a need at hub 1 (http://127.0.0.1:{port}/), then watch hub {hubs}'s status",
        f"page (http://127.0.0.1:{port + hubs - 1}/hub/status) count it: it crosses hub 2 by",
        "radio in a few seconds.",
        "",
        f"Then sign in at hub 2's console (https://127.0.0.1:{port + CONSOLE_OFFSET + 1}/) with",
        f"any name and the passphrase “{DEMO_PASSPHRASE}”, and match the need you submitted",
        "with an offer: your message shows on the resident's status page at every hub. (The",
        "browser warns about the hub's self-signed certificate: `fieldkit status --config",
        f"{root / 'hub-2' / CONFIG_FILE}` prints the fingerprint to compare.)",
        "",
        f"Ctrl-C stops the demo; {root} keeps the hubs.",
        "",
    ]
    return "\n".join(lines)
