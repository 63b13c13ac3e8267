"""Intake benchmark: N residents submit at once over real HTTP to `fieldkit run` (uvicorn).

    .venv/bin/python bench/intake.py [--residents 200] [--rounds 5]

Each resident is its own client address (127.0.x.y: the whole 127/8 is loopback on Linux), as
on a hotspot, so per-client limits apply as they would. Measured in the same run: the same
server answering a static page (its stylesheet) to the same residents, the ceiling. Prints
submissions/s and p50/p99 latency beside the ceiling, and checks that the hub stored exactly
as many records as it acknowledged.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

TARGET_P99_MS = 250.0
TARGET_RATIO = 0.3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def address(i: int) -> str:
    return f"127.0.{1 + i // 250}.{1 + i % 250}"


def form(token: str, i: int) -> dict[str, str]:
    return {
        "kind": "need", "token": token, "lang": "es", "category": "water",
        "urgency": "today", "quantity": str(1 + i % 9), "area": "riverside",
        "note": f"familia {i}: sin agua potable", "contact_phone": "555 0101",
        "share_contact": "no",
    }  # fmt: skip


async def resident(
    client: httpx.AsyncClient, rounds: int, submit: bool, latencies: list[float], refs: list[str]
) -> None:
    if True:
        for r in range(rounds):
            start = time.perf_counter()
            if submit:
                answer = await client.post(
                    "/intake?lang=es", data=form(secrets.token_urlsafe(18), r)
                )
            else:
                answer = await client.get("/static/site.css")
            latencies.append(time.perf_counter() - start)
            if submit:
                location = answer.headers.get("location", "")
                if answer.status_code == 303 and "ref=" in location:
                    refs.append(location.split("ref=")[1].split("&")[0])
            elif answer.status_code != 200:
                raise RuntimeError(f"static page answered {answer.status_code}")


async def phase(
    clients: list[httpx.AsyncClient], rounds: int, submit: bool
) -> tuple[float, list[float], list[str]]:
    latencies: list[float] = []
    refs: list[str] = []
    start = time.perf_counter()
    await asyncio.gather(*(resident(c, rounds, submit, latencies, refs) for c in clients))
    return time.perf_counter() - start, latencies, refs


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def measure(
    base: str, residents: int, rounds: int
) -> tuple[float, list[float], float, list[float], list[str]]:
    clients = [
        httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(local_address=address(i)), base_url=base, timeout=60
        )
        for i in range(residents)
    ]
    await phase(clients, 1, submit=False)  # phones keep their connection open
    s_time, s_lat, _ = await phase(clients, rounds, submit=False)
    i_time, i_lat, refs = await phase(clients, rounds, submit=True)
    for client in clients:
        await client.aclose()
    return s_time, s_lat, i_time, i_lat, refs


def run(residents: int, rounds: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        subprocess.run(
            [sys.executable, "-m", "fieldkit", "init", "--dir", str(root), "--name", "Bench hub",
             "--area", "riverside=Riverside"], check=True, capture_output=True,
        )  # fmt: skip
        port = free_port()
        env = {**os.environ, "FIELDKIT_WEB_PORT": str(port), "FIELDKIT_WEB_HOST": "127.0.0.1"}
        server = subprocess.Popen(
            [sys.executable, "-m", "fieldkit", "--config", str(root / "fieldkit.toml"), "run"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        try:
            assert server.stderr is not None
            for line in server.stderr:
                if "Uvicorn running on" in line:
                    break
            # keep reading its log, or the server blocks once the pipe is full
            threading.Thread(target=server.stderr.read, daemon=True).start()
            base = f"http://127.0.0.1:{port}"
            s_time, s_lat, i_time, i_lat, refs = asyncio.run(measure(base, residents, rounds))
            stored = httpx.get(f"{base}/healthz").json()["records"]
        finally:
            server.terminate()
            server.wait(timeout=30)
    static_rate = len(s_lat) / s_time
    intake_rate = len(i_lat) / i_time
    ratio = intake_rate / static_rate
    p99 = pct(i_lat, 0.99)
    cores = os.cpu_count()
    print(f"{residents} residents × {rounds} requests each, one uvicorn worker, {cores} cores")
    print(f"{'':18}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    print(f"{'static (ceiling)':18}{static_rate:9.0f}{pct(s_lat, 0.5):9.1f}{pct(s_lat, 0.99):9.1f}")
    print(f"{'submissions':18}{intake_rate:9.0f}{pct(i_lat, 0.5):9.1f}{p99:9.1f}")
    print(f"submissions / ceiling = {ratio:.2f}  (target ≥ {TARGET_RATIO})")
    print(f"p99 {p99:.0f} ms  (target < {TARGET_P99_MS:.0f} ms)")
    print(f"acknowledged {len(refs)}, stored {stored}, distinct codes {len(set(refs))}")
    ok = stored == len(refs) == len(i_lat) and len(set(refs)) == len(refs)
    print("records stored = acknowledged: " + ("yes" if ok else "NO"))
    met = ok and p99 < TARGET_P99_MS and ratio >= TARGET_RATIO
    print("targets met" if met else "targets NOT met")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="submissions per resident")
    args = parser.parse_args()
    return run(args.residents, args.rounds)


if __name__ == "__main__":
    sys.exit(main())
