"""Console benchmark: the coordinator console of a hub holding 20k records (issue 9), or
of a cloud aggregator holding 1M on PostgreSQL (issue 12).

    .venv/bin/python bench/console.py [--records 20000] [--requests 200]
    .venv/bin/python bench/console.py --cloud postgresql://… [--records 1000000]

A hub is made with the real command line (``fieldkit init``, ``fieldkit import`` of records
drawn from ``bench/corpus.jsonl``, ``fieldkit passphrase``) and served by ``fieldkit run``;
a coordinator signs in over HTTPS and the console's pages are timed: the need and offer
queues, the queue filtered by category and area and by text, the first need's detail (its
audit trail and suggested offers ranked by ``fieldkit.core.matching``), and the full hub
status. Printed: p50/p99 in ms and p99 as a ratio over the console's static stylesheet in the
same run (the machine is shared: ratios are the figures to compare). Target: p99 < 150 ms.

With ``--cloud URL`` (``sqlite:///PATH`` or ``postgresql://…``) the console is the cloud's:
``fieldkit cloud init`` on that database (a schema of its own, dropped afterwards) with the
network's areas and a coordinator's personal account, filled with ``--records`` records from
20 hubs (the corpus's records, each origin's ops in sequence, stored through the store's own
``ingest`` in batches of 5,000: what a push lands), served by ``fieldkit run --role cloud``.
The same pages are timed, plus the queue filtered by one hub (no hub status: a cloud has no
radio). Target: queue pages p99 < 200 ms at 1M records on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from scale import AREAS, FIELDKIT, answering, corpus, fieldkit, free_port, pct, write_records

from fieldkit.app.cloud import open_cloud_store
from fieldkit.app.config import Area, load_config
from fieldkit.app.network import join_code, new_network
from fieldkit.core.interchange import flatten, row_from_fields
from fieldkit.core.ops import Create, Op, RecordId, draft_fields, hub_name
from fieldkit.core.refcode import format_code

PASSPHRASE = "benchmark passphrase"


def serve(config: Path, port: int, console: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [*FIELDKIT, "--config", str(config), "run", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={"FIELDKIT_WEB_CONSOLE_PORT": str(console), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    return answering(proc, f"https://127.0.0.1:{console}/signin", "the console", verify=False)


def sign_in(client: httpx.Client, name: str, passphrase: str) -> None:
    page = client.get("/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, "the sign-in form has its token"
    form = {"csrf": csrf.group(1), "name": name, "passphrase": passphrase, "next": ""}
    if client.post("/signin", data=form).status_code != 303:
        raise SystemExit("could not sign in")


def timed(client: httpx.Client, path: str, n: int) -> list[float]:
    client.get(path)  # warm
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        reply = client.get(path)
        out.append((time.perf_counter() - t0) * 1000)
        if reply.status_code != 200:
            raise SystemExit(f"{path}: HTTP {reply.status_code}")
    return out


#: The README table's row for each page, in the order the benchmark times them.
LABELS = {
    "static": "static stylesheet (baseline)",
    "needs": "needs queue",
    "offers": "offers queue",
    "filtered": "needs filtered by category and area",
    "text": "text filter",
    "need_detail": "a need with its history and suggested offers",
    "hub_status": "hub status",
    "by_hub": "needs of one hub (the cloud's filter by origin)",
}


def markdown_table(output: str) -> str:
    """README's table of a saved run (``--table FILE``): ms, and p50 over the static file."""
    values = dict(
        line.split(": ", 1) for line in output.splitlines() if ": " in line and line[0] != "#"
    )
    rows = ["| page | p50 | p99 | p50 over static |", "|---|---|---|---|"]
    for name, label in LABELS.items():
        if f"{name}_p50_ms" not in values:
            continue  # a hub has no filter by origin, a cloud no hub status
        p50, p99 = float(values[f"{name}_p50_ms"]), float(values[f"{name}_p99_ms"])
        ratio = "1" if name == "static" else values[f"{name}_p50_over_static"]
        rows.append(f"| {label} | {p50:.1f} | {p99:.1f} | {ratio} |")
    return "\n".join(rows)


def time_pages(base_url: str, name: str, passphrase: str, extra: dict[str, str]) -> Timings:
    """Sign in as ``name`` and time each page ``--requests`` times (the first need found)."""
    with httpx.Client(base_url=base_url, verify=False, timeout=60) as client:
        sign_in(client, name, passphrase)
        queue = client.get("/queue?kind=need").text
        first = re.search(r'href="/record/([0-9a-f]{8}-[0-9]+)"', queue)
        assert first, "the need queue lists records"
        pages = {
            "static": "/static/site.css",
            "needs": "/queue?kind=need",
            "offers": "/queue?kind=offer",
            "filtered": "/queue?kind=need&category=water&area=riverside",
            "text": "/queue?kind=need&status=all&q=%23123",
            "need_detail": f"/record/{first.group(1)}",
            **extra,
        }
        return {name: timed(client, path, REQUESTS[0]) for name, path in pages.items()}


Timings = dict[str, list[float]]
REQUESTS = [200]  # set from --requests


def hub_console(records: int, seed: int) -> Timings:
    with tempfile.TemporaryDirectory(prefix="fieldkit-console-") as tmp:
        work = Path(tmp)
        config = work / "fieldkit.toml"
        port, console = free_port(), free_port()
        areas = [f"--area={a}={a.title()}" for a in AREAS]
        fieldkit(config, "init", "--dir", str(work), "--name", "Console", *areas)
        source = work / "records.jsonl"
        write_records(source, records, seed)
        fieldkit(config, "import", str(source))
        subprocess.run(
            [*FIELDKIT, "--config", str(config), "passphrase"], input=PASSPHRASE + "\n",
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        server = serve(config, port, console)
        try:
            base = f"https://127.0.0.1:{console}"
            return time_pages(base, "bench", PASSPHRASE, {"hub_status": "/hub/status"})
        finally:
            server.terminate()
            server.wait(timeout=30)


def cloud_records(count: int, seed: int) -> Iterator[Op]:
    """``count`` Create ops of corpus records from ``HUBS`` origins, each in sequence."""
    rng = random.Random(seed)
    base = [flatten(r) for r in corpus()]
    known = {a: a for a in AREAS}
    for i in range(count):
        fields = {k: v for k, v in rng.choice(base).items() if k not in DROPPED}
        fields["area"], fields["note"] = rng.choice(AREAS), f"{fields.get('note', '')} #{i}".strip()
        new = row_from_fields(fields, known)
        origin, seq = HUBS[i % len(HUBS)], i // len(HUBS) + 1
        stamp = 1_790_000_000_000 + i * 1000
        body = Create(RecordId(origin, seq), new.draft.kind, stamp, draft_fields(new.draft),
                      format_code(rng.getrandbits(30)))  # fmt: skip
        yield Op(origin, seq, stamp << 16, body)


#: The 20 hubs whose records fill the cloud, and what a record of the corpus loses on the way.
HUBS = [0x10000000 + n for n in range(20)]
DROPPED = {"id", "hub", "ref", "created_at", "status"}
BATCH = 5_000


async def fill_cloud(config: Path, count: int, seed: int) -> float:
    """Store ``count`` records in the cloud's database; the seconds it took."""
    started = time.perf_counter()
    async with await open_cloud_store(load_config(config, {}).cloud) as store:
        ops = cloud_records(count, seed)
        while batch := list(itertools.islice(ops, BATCH)):
            async with store.transaction() as tx:
                await tx.ingest(batch)
    return time.perf_counter() - started


def cloud_console(database: str, records: int, seed: int) -> Timings:
    schema = f"bench_console_{os.getpid()}" if database.startswith("postgres") else ""
    with tempfile.TemporaryDirectory(prefix="fieldkit-cloud-console-") as tmp:
        work = Path(tmp)
        config = work / "fieldkit.toml"
        network = new_network("bench", "US", areas=tuple(Area(a, a.title()) for a in AREAS))
        subprocess.run(
            [*FIELDKIT, "cloud", "init", "--dir", str(work), "--database", database,
             "--schema", schema, "--join-code", join_code(network), "--user", "bench"],
            input=PASSPHRASE + "\n", check=True, capture_output=True, text=True,
        )  # fmt: skip
        try:
            seconds = asyncio.run(fill_cloud(config, records, seed))
            print(f"# filled in {seconds:.0f} s ({records / seconds:.0f} records/s)", flush=True)
            cloud = subprocess.Popen(
                [*FIELDKIT, "--config", str(config), "run", "--role", "cloud", "--host",
                 "127.0.0.1", "--port", str(port := free_port())],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin"},
            )  # fmt: skip
            try:
                base = f"https://localhost:{port}"
                answering(cloud, f"{base}/signin", "the cloud", verify=False)
                by_hub = {"by_hub": f"/queue?kind=need&origin={hub_name(HUBS[3])}"}
                return time_pages(base, "bench", PASSPHRASE, by_hub)
            finally:
                cloud.terminate()
                cloud.wait(timeout=30)
        finally:
            if schema:
                import psycopg

                with psycopg.connect(database, autocommit=True) as db:
                    db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--table", type=Path, help="print the README table of a saved output")
    parser.add_argument("--records", type=int, help="20,000 at a hub, 1,000,000 at a cloud")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cloud", metavar="URL", help="a cloud's console on this database")
    args = parser.parse_args()
    if args.table:
        print(markdown_table(args.table.read_text()))
        return 0
    REQUESTS[0] = args.requests
    if args.cloud:
        records = args.records or 1_000_000
        where = "a cloud on " + args.cloud.split(":", 1)[0]
        timings = cloud_console(args.cloud, records, args.seed)
    else:
        records = args.records or 20_000
        where = "a hub"
        timings = hub_console(records, args.seed)
    static50, static99 = pct(timings["static"], 50), pct(timings["static"], 99)
    print(f"# bench/console.py: {where} with {records} records (ratios over the static file)")
    print(f"records: {records}")
    print(f"static_p50_ms: {static50:.2f}")
    print(f"static_p99_ms: {static99:.2f}")
    for name in list(timings)[1:]:
        p50, p99 = pct(timings[name], 50), pct(timings[name], 99)
        print(f"{name}_p50_ms: {p50:.2f}")
        print(f"{name}_p99_ms: {p99:.2f}")
        print(f"{name}_p50_over_static: {p50 / static50:.1f}")
        print(f"{name}_p99_over_static: {p99 / static99:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
