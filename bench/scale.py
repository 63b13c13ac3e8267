"""Scale benchmark: a hub of 1k, 10k and 100k records (``--max 1000000`` adds 1M).

    .venv/bin/python bench/scale.py [--sizes 1000,10000,100000] [--max N] [--requests 200]
    .venv/bin/python bench/scale.py --table bench/scale-output.txt   # the README's table

Save a full run's output as ``bench/scale-output.txt`` and paste ``--table``'s Markdown into
the README: a test checks the README's table against that file, so no figure drifts.

For each size, a fresh hub is made with the real command line (``fieldkit init``), filled with
``fieldkit import`` from records drawn from ``bench/corpus.jsonl`` (each line made unique),
and served by ``fieldkit run`` (uvicorn, one worker) on loopback. Printed per size:

- ``import_rps`` — records imported per second; ``disk_bytes_per_record`` — database size
  (with its WAL) over the records;
- ``p50``/``p99`` of ``/``, ``/board``, ``/status`` (a resident's code lookup, POSTed) and
  ``/hub/status``, each also as a ratio over the same server's static stylesheet
  (``/static/site.css``) measured in the same run: the machine is shared, so ratios are
  the figures to compare, milliseconds only context;
- ``export_rps`` — records per second of ``fieldkit export``;
- ``bundle_peak_rss_mb`` — peak resident memory of ``fieldkit bundle export``;
- ``counts_exact`` — whether the board's open-need counts per category × area (the store's
  aggregate the board renders) equal the counts computed from the export.

Targets (issue 8): at 100k every page p99 < 100 ms, counts exact, export linear, bundle export
memory independent of the number of ops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
FIELDKIT = [sys.executable, "-m", "fieldkit"]
AREAS = ["riverside", "hillside", "downtown", "harbor", "oakwood", "northgate", "mill", "east"]


def corpus() -> list[dict[str, object]]:
    lines = (BENCH / "corpus.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def write_records(path: Path, count: int, seed: int) -> None:
    """``count`` unique records (no id or code: the hub gives each its own)."""
    rng = random.Random(seed)
    base = corpus()
    with path.open("w") as out:
        for i in range(count):
            record = dict(rng.choice(base))
            for key in ("id", "hub", "ref", "created_at"):
                record.pop(key, None)
            record["area"] = rng.choice(AREAS)
            record["status"] = "open"
            record["note"] = f"{record.get('note') or ''} #{i}".strip()
            out.write(json.dumps(record) + "\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fieldkit(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FIELDKIT, "--config", str(config), *args], check=True, capture_output=True, text=True
    )


def peak_rss_mb(config: Path, *args: str) -> float:
    """Peak resident memory of one ``fieldkit`` process, from the kernel's own accounting."""
    proc = subprocess.Popen([*FIELDKIT, "--config", str(config), *args], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"fieldkit {' '.join(args)} failed ({proc.returncode})")
    return usage.ru_maxrss / 1024


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def latencies(
    base: str, path: str, n: int, first_client: int, ref: str | None = None
) -> list[float]:
    """``n`` GETs of ``path`` (with ``ref``: code lookups, POSTed as the status page's form
    does), round robin over residents of their own addresses (127.0.x.y, as on a hotspot), so
    the hub's per-client flood limit applies as it would in the field."""
    count = min(n, 50)
    clients = [
        httpx.AsyncClient(
            base_url=base,
            timeout=30,
            transport=httpx.AsyncHTTPTransport(local_address=_address(first_client + i)),
        )
        for i in range(count)
    ]
    try:
        form: dict[str, str] = {}
        for client in clients:
            page = await client.get(path)  # warm: connection and first render
        if ref is not None:
            token = re.search(r'name="token" value="([^"]+)"', page.text)
            if token is None:
                raise SystemExit(f"{path}: no form token")
            form = {"ref": ref, "token": token.group(1)}

        async def ask(client: httpx.AsyncClient) -> httpx.Response:
            return await (client.post(path, data=form) if form else client.get(path))

        out = []
        for i in range(n):
            t0 = time.perf_counter()
            response = await ask(clients[i % count])
            out.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:  # a rate limit or an error would flatter the figures
                raise SystemExit(f"{path}: HTTP {response.status_code}")
        return out
    finally:
        for client in clients:
            await client.aclose()


def _address(i: int) -> str:
    return f"127.0.{1 + i // 250}.{1 + i % 250}"


def serve(config: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [*FIELDKIT, "--config", str(config), "run", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return answering(proc, f"http://127.0.0.1:{port}/healthz", "fieldkit run")


def answering(
    proc: subprocess.Popen[bytes], url: str, what: str, verify: bool = True
) -> subprocess.Popen[bytes]:
    """``proc`` once ``url`` answers 200 (within 60 s, else it is killed)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, verify=verify, timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit("fieldkit run exited")
        time.sleep(0.2)  # waiting for a server to come up, not synchronising a test
    proc.kill()
    raise SystemExit(f"{what} did not answer in 60 s")


async def board_counts(db: Path) -> Counter[tuple[str, str]]:
    from fieldkit.core.records import Kind, Status
    from fieldkit.store.sqlite import Store

    async with await Store.open(db) as store:
        counts = await store.category_counts(Kind.NEED, Status.OPEN)
    return Counter({(str(c), str(a)): n for (c, a), n in counts.items()})


def export_counts(path: Path) -> Counter[tuple[str, str]]:
    out: Counter[tuple[str, str]] = Counter()
    with path.open() as lines:
        for line in lines:
            r = json.loads(line)
            if r["kind"] == "need" and r["status"] == "open":
                out[(r["category"], r["area"])] += 1
    return out


def one_size(size: int, requests: int, seed: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="fieldkit-scale-") as tmp:
        work = Path(tmp)
        config = work / "fieldkit.toml"
        port = free_port()
        areas = [f"--area={a}={a.title()}" for a in AREAS]
        fieldkit(config, "init", "--dir", str(work), "--name", "Scale", "--port", str(port), *areas)
        source = work / "records.jsonl"
        write_records(source, size, seed)
        t0 = time.perf_counter()
        fieldkit(config, "import", str(source))
        import_s = time.perf_counter() - t0
        db = next(work.glob("data/*.sqlite3"))
        disk = sum(p.stat().st_size for p in work.glob("data/*.sqlite3*"))

        exported = work / "export.jsonl"
        t0 = time.perf_counter()
        fieldkit(config, "export", "-o", str(exported))
        export_s = time.perf_counter() - t0
        some_ref = json.loads(exported.open().readline())["ref"]
        t0 = time.perf_counter()
        rss = peak_rss_mb(config, "bundle", "export", str(work / "all.bundle"))
        bundle_s = time.perf_counter() - t0
        exact = asyncio.run(board_counts(db)) == export_counts(exported)

        server = serve(config, port)
        try:
            base = f"http://127.0.0.1:{port}"
            pages = {
                "static": "/static/site.css",
                "home": "/",
                "board": "/board",
                "status": "/status",
                "hub_status": "/hub/status",
                "healthz": "/healthz",
            }
            timings = {
                name: asyncio.run(
                    latencies(base, path, requests, 50 * i, some_ref if name == "status" else None)
                )
                for i, (name, path) in enumerate(pages.items())
            }
        finally:
            server.terminate()
            server.wait(timeout=30)
    row: dict[str, object] = {
        "records": size,
        "import_rps": round(size / import_s),
        "disk_bytes_per_record": round(disk / size),
        "export_rps": round(size / export_s),
        "bundle_ops_per_s": round(size / bundle_s),
        "bundle_peak_rss_mb": round(rss, 1),
        "counts_exact": "yes" if exact else "NO",
    }
    static50, static99 = pct(timings["static"], 50), pct(timings["static"], 99)
    row["static_p50_ms"], row["static_p99_ms"] = round(static50, 2), round(static99, 2)
    for name in ("home", "board", "status", "hub_status", "healthz"):
        p50, p99 = pct(timings[name], 50), pct(timings[name], 99)
        row[f"{name}_p50_ms"] = round(p50, 2)
        row[f"{name}_p99_ms"] = round(p99, 2)
        row[f"{name}_p99_over_static"] = round(p99 / static99, 1)
    return row


#: The README's rows: (label, cell format over the output's named figures).
TABLE_ROWS = [
    ("import, records/s", "{import_rps}"),
    ("disk, bytes per record", "{disk_bytes_per_record}"),
    ("`/` p50 / p99 ms", "{home_p50_ms} / {home_p99_ms}"),
    ("`/board` p50 / p99 ms", "{board_p50_ms} / {board_p99_ms}"),
    ("`/status` (a code lookup) p50 / p99 ms", "{status_p50_ms} / {status_p99_ms}"),
    ("`/hub/status` p50 / p99 ms", "{hub_status_p50_ms} / {hub_status_p99_ms}"),
    ("`/healthz` p50 / p99 ms", "{healthz_p50_ms} / {healthz_p99_ms}"),
    ("static file p50 / p99 ms (baseline)", "{static_p50_ms} / {static_p99_ms}"),
    (
        "p99 over static: `/`, `/board`, `/status`, `/hub/status`, `/healthz`",
        "{home_p99_over_static}, {board_p99_over_static}, {status_p99_over_static}, "
        "{hub_status_p99_over_static}, {healthz_p99_over_static}",
    ),
    ("export, records/s", "{export_rps}"),
    ("bundle export, ops/s", "{bundle_ops_per_s}"),
    ("bundle export, peak RSS MB", "{bundle_peak_rss_mb}"),
    ("board counts = counts from the export", "{counts_exact}"),
]


def parse_output(text: str) -> list[dict[str, str]]:
    """The columns of a saved run: one dict of figures per size."""
    rows = [line.split() for line in text.splitlines() if line.strip() and line[0] != "#"]
    sizes = len(rows[0]) - 1
    return [{row[0]: row[1 + i] for row in rows} for i in range(sizes)]


def markdown_table(text: str) -> str:
    """The README's table for a saved run's output."""
    columns = parse_output(text)
    head = "| records | " + " | ".join(f"{int(c['records']):,}" for c in columns) + " |"
    lines = [head, "|---" * (len(columns) + 1) + "|"]
    for label, cell in TABLE_ROWS:
        lines.append(f"| {label} | " + " | ".join(cell.format(**c) for c in columns) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--table", type=Path, help="print the README table of a saved output")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--max", type=int, default=0, help="add this size (e.g. 1000000)")
    parser.add_argument("--requests", type=int, default=200, help="requests per page")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.table:
        print(markdown_table(args.table.read_text()))
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.max and args.max not in sizes:
        sizes.append(args.max)
    rows = [one_size(size, args.requests, args.seed) for size in sizes]
    keys = list(rows[0])
    width = max(len(k) for k in keys)
    print("# bench/scale.py: one hub per size; ratios are over the static file of the same run")
    for key in keys:
        print(f"{key:<{width}}  " + "  ".join(f"{row[key]!s:>10}" for row in rows))
    return 0 if all(row["counts_exact"] == "yes" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
