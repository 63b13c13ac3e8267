"""When connectivity returns: N hubs push their ops to a cloud aggregator on loopback.

For each database (SQLite, and PostgreSQL when ``--postgres URL`` or ``FIELDKIT_TEST_POSTGRES``
names a server): a real ``fieldkit run --role cloud`` process (uvicorn, TLS under a throwaway
CA), ``--hubs`` hubs that joined it with ``fieldkit cloud join``'s code, holding ``--ops`` ops
between them, all pushing at once (``fieldkit sync cloud``'s code, pages of 5,000 ops). It
prints, each measured in the same run:

- ops/s stored by the cloud (folded, counted, indexed, audited), beside the baseline: a raw
  ``executemany`` of the same op rows into a copy of the same table in one transaction, and
  the ratio;
- requests used, and the cloud's peak RSS (VmHWM) at ``--ops`` and at a tenth of it (flat?);
- a cut at 50%: one hub pushes a fifth of ``--ops``, the cloud is SIGKILLed once half has
  landed and restarted; the time to finish and what was sent again of what had landed.

    .venv/bin/python bench/cloud.py [--ops 100000] [--hubs 20] [--postgres URL]
    .venv/bin/python bench/cloud.py --table bench/cloud-output.txt   # README's table
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import io
import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import trustme

from fieldkit.app.cloud import join_cloud, open_cloud_store, sync_now
from fieldkit.app.config import load_config
from fieldkit.app.hub import Hub, create_identity
from fieldkit.app.netkey import ensure_network_key, format_key
from fieldkit.cli.main import main
from fieldkit.core.ops import Create, Op, RecordId, op_to_json
from fieldkit.core.records import Kind
from fieldkit.store.sqlite import Store

KEY = b"b" * 32
FILL = 500  # ops per receive transaction while the hubs are filled


def run(*args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(list(args), env={})
    if code != 0:
        raise SystemExit(f"fieldkit {' '.join(args)} failed")
    return out.getvalue()


def make_ops(origin: int, count: int) -> list[Op]:
    fields = {"category": "water", "urgency": "today", "area": "riverside"}
    return [
        Op(origin, seq, (1_790_000_000_000 + seq) << 16,
           Create(RecordId(origin, seq), Kind.NEED, 1_790_000_000_000 + seq,
                  {**fields, "note": hashlib.sha256(b"%d-%d" % (origin, seq)).hexdigest()[:40]}))
        for seq in range(1, count + 1)
    ]  # fmt: skip


class CloudProcess:
    """One ``fieldkit run --role cloud`` (a plain class: the README test loads this file
    without registering it as a module, which a dataclass needs)."""

    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process, self.port = process, port

    def peak_rss_mb(self) -> float:
        text = Path(f"/proc/{self.process.pid}/status").read_text()
        found = re.search(r"VmHWM:\s+(\d+) kB", text)
        return int(found[1]) / 1024 if found else float("nan")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


class Cloud:
    """A cloud set up with ``fieldkit cloud init`` under a throwaway CA, served by
    ``fieldkit run --role cloud`` processes."""

    def __init__(self, folder: Path, database: str, schema: str, hubs: int) -> None:
        ca = trustme.CA()
        issued = ca.issue_cert("localhost")
        folder.mkdir(parents=True)
        cert, key = folder / "cert.pem", folder / "key.pem"
        issued.cert_chain_pems[0].write_to_path(str(cert))
        issued.private_key_pem.write_to_path(str(key))
        self.ca_pem = ca.cert_pem.bytes().decode()
        run("cloud", "init", "--dir", str(folder), "--database", database, "--schema", schema,
            "--hostname", "localhost", "--cert", str(cert), "--key", str(key),
            "--network-key", format_key(KEY))  # fmt: skip
        self.config = folder / "fieldkit.toml"
        self.codes = [
            run("--config", str(self.config), "cloud", "enroll", f"hub {n}").split()[-1]
            for n in range(hubs)
        ]

    def start(self, port: int = 0) -> CloudProcess:
        process = subprocess.Popen(
            [sys.executable, "-m", "fieldkit", "--config", str(self.config), "run", "--role",
             "cloud", "--host", "127.0.0.1", "--port", str(port), ],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("FIELDKIT_")},
        )  # fmt: skip
        lines: queue.Queue[str] = queue.Queue()

        def pump() -> None:
            for line in process.stdout or ():
                lines.put(line)

        threading.Thread(target=pump, daemon=True).start()
        while True:
            line = lines.get(timeout=60)
            if found := re.search(r"cloud serving https://localhost:(\d+)/", line):
                return CloudProcess(process, int(found[1]))

    def store(self) -> Any:
        return open_cloud_store(load_config(self.config, {}).cloud)


async def make_hubs(folder: Path, count: int, ops: int) -> list[Hub]:
    hubs = []
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    for n in range(count):
        store = await Store.open(folder / f"hub{n}.sqlite3")
        await create_identity(store)
        await ensure_network_key(store, KEY)
        hub = await Hub.open(store)
        share = ops // count + (1 if n < ops % count else 0)
        made = make_ops(hub.id, share)
        for start in range(0, len(made), FILL):
            await hub.receive(made[start : start + FILL])
        hubs.append(hub)
    return hubs


async def push(cloud: Cloud, served: CloudProcess, hubs: list[Hub]) -> tuple[float, int]:
    links = [
        (await join_cloud(hub, f"https://localhost:{served.port}", code, cloud.ca_pem))[0]
        for hub, code in zip(hubs, cloud.codes, strict=False)
    ]
    started = time.perf_counter()
    reports = await asyncio.gather(
        *(sync_now(hub, link, 300, pull=False) for hub, link in zip(hubs, links, strict=True))
    )
    return time.perf_counter() - started, sum(r.requests for r in reports)


def raw_rows(hubs_ops: list[list[Op]]) -> list[tuple[Any, ...]]:
    now = int(time.time())
    return [
        (op.origin, op.seq, op.hlc, op.origin, op.seq,
         __import__("json").dumps(op_to_json(op), separators=(",", ":")), now)
        for ops in hubs_ops for op in ops
    ]  # fmt: skip


def raw_insert(database: str, schema: str, rows: list[tuple[Any, ...]]) -> float:
    """Seconds for one executemany of ``rows`` into a copy of the ops table, one transaction."""
    if database.startswith("sqlite:///"):
        db = sqlite3.connect(database.removeprefix("sqlite:///"), isolation_level=None)
        db.execute("PRAGMA synchronous = FULL")
        db.execute("DROP TABLE IF EXISTS ops_raw")
        db.execute(
            "CREATE TABLE ops_raw (origin INTEGER NOT NULL, seq INTEGER NOT NULL,"
            " hlc INTEGER NOT NULL, rec_hub INTEGER NOT NULL, rec_seq INTEGER NOT NULL,"
            " body TEXT NOT NULL, received_at INTEGER NOT NULL, PRIMARY KEY (origin, seq))"
            " STRICT, WITHOUT ROWID"
        )
        started = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO ops_raw VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        db.execute("COMMIT")
        seconds = time.perf_counter() - started
        db.execute("DROP TABLE ops_raw")
        db.close()
        return seconds
    import psycopg

    with psycopg.connect(database, options=f"-csearch_path={schema}") as db:
        db.execute("DROP TABLE IF EXISTS ops_raw")
        db.execute("CREATE TABLE ops_raw (LIKE ops INCLUDING ALL)")
        db.commit()
        started = time.perf_counter()
        with db.cursor() as cur:
            cur.executemany("INSERT INTO ops_raw VALUES (%s, %s, %s, %s, %s, %s, %s)", rows)
        db.commit()
        seconds = time.perf_counter() - started
        db.execute("DROP TABLE ops_raw")
        db.commit()
    return seconds


async def cut_at_half(cloud: Cloud, hub: Hub, total: int) -> dict[str, float]:
    served = cloud.start()
    link, _ = await join_cloud(hub, f"https://localhost:{served.port}", cloud.codes[0],
                               cloud.ca_pem)  # fmt: skip
    async with await cloud.store() as store:
        syncing = asyncio.create_task(sync_now(hub, link, 300, pull=False))
        # the cloud process's database: read it again
        while (await store.version_vector()).get(hub.id, 0) < total // 2 and not syncing.done():  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        served.kill()
        with contextlib.suppress(Exception):
            await syncing
        landed = (await store.version_vector()).get(hub.id, 0)
        served = cloud.start(served.port)
        started = time.perf_counter()
        resumed = await sync_now(hub, link, 300, pull=False)
        seconds = time.perf_counter() - started
        finished = (await store.version_vector()).get(hub.id, 0)
    served.kill()
    resent = resumed.sent - (total - landed)
    return {"landed": landed, "resent": resent, "resume_s": seconds,
            "complete": float(finished == total), "resume_requests": resumed.requests}  # fmt: skip


async def measure(folder: Path, database: str, schema: str, ops: int, hubs: int) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for label, size in (("small", max(hubs, ops // 10)), ("full", ops)):
        cloud = await asyncio.to_thread(  # the fieldkit command runs its own event loop
            Cloud, folder / f"cloud-{label}", database.replace("NAME", label),
            f"{schema}_{label}" if schema else "", hubs,
        )  # fmt: skip
        made = await make_hubs(folder / f"hubs-{label}", hubs, size)
        served = cloud.start()
        seconds, requests = await push(cloud, served, made)
        rss = served.peak_rss_mb()
        served.kill()
        async with await cloud.store() as store:
            held = sum((await store.counts()).values())
        result[f"rss_{label}_mb"] = rss
        if label == "full":
            all_ops = [make_ops(hub.id, (await hub.store.version_vector())[hub.id]) for hub in made]
            raw = raw_insert(database.replace("NAME", label), f"{schema}_{label}" if schema else "",
                             raw_rows(all_ops))  # fmt: skip
            result.update(ops=size, held=held, seconds=seconds, requests=requests,
                          ops_per_s=size / seconds, raw_ops_per_s=size / raw)  # fmt: skip
            result["ratio"] = result["ops_per_s"] / result["raw_ops_per_s"]
        for hub in made:
            await hub.store.close()
    cut_cloud = await asyncio.to_thread(
        Cloud, folder / "cloud-cut", database.replace("NAME", "cut"),
        f"{schema}_cut" if schema else "", 1,
    )  # fmt: skip
    (cut_hub,) = await make_hubs(folder / "hubs-cut", 1, max(1000, ops // 5))
    result["cut_ops"] = max(1000, ops // 5)
    result.update(await cut_at_half(cut_cloud, cut_hub, result["cut_ops"]))
    await cut_hub.store.close()
    return result


def report(name: str, r: dict[str, Any], hubs: int) -> str:
    pct = 100 * r["resent"] / r["landed"] if r["landed"] else 0.0
    return (
        f"RESULT db={name} hubs={hubs} ops={r['ops']} held={r['held']} seconds={r['seconds']:.1f}"
        f" ops_per_s={r['ops_per_s']:.0f} raw_ops_per_s={r['raw_ops_per_s']:.0f}"
        f" ratio={r['ratio']:.3f} requests={r['requests']} rss_mb={r['rss_full_mb']:.1f}"
        f" rss_tenth_mb={r['rss_small_mb']:.1f} cut_ops={r['cut_ops']} landed={r['landed']}"
        f" resent={r['resent']} resent_pct={pct:.2f} resume_s={r['resume_s']:.1f}"
        f" resume_requests={r['resume_requests']} complete={'yes' if r['complete'] else 'no'}"
    )


def markdown_table(text: str) -> str:
    """README's table from a saved run's RESULT lines."""
    runs = [dict(p.split("=", 1) for p in line.split()[1:])
            for line in text.splitlines() if line.startswith("RESULT ")]  # fmt: skip
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}

    def resent(r: dict[str, str]) -> str:
        return f"{r['resent']} ({r['resent_pct']}%)"

    def landed(r: dict[str, str]) -> str:
        return f"{int(r['landed']):,} of {int(r['cut_ops']):,}"

    def whole(r: dict[str, str]) -> str:
        return "yes" if r["held"] == r["ops"] and r["complete"] == "yes" else "no"

    rows = [
        ("ops pushed (hubs)", lambda r: f"{int(r['ops']):,} ({r['hubs']})"),
        ("stored by the cloud, ops/s", lambda r: f"{int(r['ops_per_s']):,}"),
        ("raw executemany, ops/s (baseline)", lambda r: f"{int(r['raw_ops_per_s']):,}"),
        ("**cloud / raw**", lambda r: f"**{float(r['ratio']):.3f}**"),
        ("requests", lambda r: r["requests"]),
        ("cloud peak RSS MB, at a tenth / all the ops", lambda r: f"{r['rss_tenth_mb']} / "
                                                                 f"{r['rss_mb']}"),
        ("cut at 50% of a hub's ops: landed before the cut", landed),
        ("… resent of what had landed", resent),
        ("… time to finish after the restart, s", lambda r: r["resume_s"]),
        ("every op held once", whole),
    ]  # fmt: skip
    out = ["| | " + " | ".join(names.get(r["db"], r["db"]) for r in runs) + " |",
           "|---|" + "---|" * len(runs)]  # fmt: skip
    out += [f"| {label} | " + " | ".join(str(cell(r)) for r in runs) + " |" for label, cell in rows]
    return "\n".join(out)


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", type=int, default=100_000)
    parser.add_argument("--hubs", type=int, default=20)
    parser.add_argument("--postgres", default=os.environ.get("FIELDKIT_TEST_POSTGRES", ""))
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--table", metavar="FILE", help="print README's table from a saved run")
    args = parser.parse_args()
    if args.table:
        print(markdown_table(Path(args.table).read_text()))
        return
    print(f"cloud bench: {args.hubs} hubs, {args.ops} ops, load average {os.getloadavg()[0]:.1f},"
          f" {os.cpu_count()} cores", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        targets = [("sqlite", f"sqlite:///{folder}/db-NAME.sqlite3", "")]
        if args.postgres:
            targets.append(("postgresql", args.postgres, f"b{uuid.uuid4().hex[:10]}"))
        for name, database, schema in targets:
            if args.only and name != args.only:
                continue
            try:
                result = asyncio.run(measure(folder / name, database, schema, args.ops, args.hubs))
            finally:
                if schema:
                    import psycopg

                    with psycopg.connect(database, autocommit=True) as admin:
                        for label in ("small", "full", "cut"):
                            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}_{label}" CASCADE')
            print(report(name, result, args.hubs), flush=True)


if __name__ == "__main__":
    main_bench()
