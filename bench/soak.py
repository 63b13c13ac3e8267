"""Soak benchmark: three hubs gossiping over lossy simulated radios under steady residents.

    python bench/soak.py [--minutes 24] [--time-scale 60] [--loss 0.1] [--rate 2] [--dir D]
    python bench/soak.py --hours 72 --time-scale 120       # longer: three days in 36 minutes

One process serves what ``fieldkit demo`` serves — three hubs in a line, each with its web
pages over real HTTP and its radio through the real meshtastic library to the simulator — with
``--loss`` of the frames on every radio link lost and radio time ``--time-scale`` times faster
than the wall clock (the defaults: 24 minutes are a day of radio time). Residents post the
intake form at ``--rate`` a second, each at a random hub, from one of ``--phones`` addresses
(by default as many as the default hotspot's DHCP range leases: a hub never sees more phones
at once than its range holds, however many residents come and go). Every
``--sample-s`` seconds the hub process's memory (RSS), open files and log size are read, and
what that process says of its own heap: SQLite's (page caches, which fill to ``CACHE_KIB`` a
connection as the databases grow) and Python's allocated blocks, to tell the two apart.

Printed as ``name: value`` lines: the last sample of each as a ratio over the first one (a
flat hub stays near 1); memory by hour of radio time, and its growth over the second half of
the run against the first (a hub whose memory levels off grows less and less: caches and
bounded tables fill early); the log lines that are errors, and, once the residents stop and the
radios have had ``--settle`` seconds to repair what was lost: acknowledged submissions stored
at their own hub, at every hub, lost (0) and duplicated (0).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import itertools
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from faults import Submission, get, post

from fieldkit.app.config import Hotspot
from fieldkit.provisioning.render import dhcp_range

HUBS = 3
HEAP_FILE = "heap.txt"  # the hubs' process writes SQLite's and Python's heap there


@dataclass
class Sample:
    at_s: float
    rss_kb: int
    fds: int
    log_bytes: int
    sqlite_kb: int = 0  # SQLite's own heap in the hubs' process (page caches, statements)
    py_blocks: int = 0  # Python's allocated memory blocks there (its objects, roughly)


@dataclass
class Soak:
    samples: list[Sample] = field(default_factory=list)
    subs: list[tuple[int, Submission]] = field(default_factory=list)  # (hub, submission)
    refused: int = 0  # answered with a page other than thank-you (a phone posting too fast)
    unanswered: int = 0
    at_hubs: list[dict[str, int]] = field(default_factory=list)  # each hub's stored notes
    log_text: str = ""


def sample(pid: int, log: Path, started: float, heap: Path) -> Sample:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    lines = heap.read_text().splitlines() if heap.exists() else []
    sqlite_kb, py_blocks = (int(x) for x in lines[-1].split()) if lines else (0, 0)
    return Sample(time.monotonic() - started, rss, len(os.listdir(f"/proc/{pid}/fd")),
                  log.stat().st_size, sqlite_kb, py_blocks)  # fmt: skip


def start_heap_report(out: Path, every_s: float) -> None:
    """In the hubs' process: every ``every_s`` s, append SQLite's heap (KiB, from the
    libsqlite3 the sqlite3 module links) and Python's allocated blocks to ``out`` as one line,
    so the soak tells the page caches SQLite fills (bounded: ``cache_size`` a connection)
    from what the hubs' Python objects hold."""
    import ctypes
    import ctypes.util
    import threading

    lib = ctypes.CDLL(ctypes.util.find_library("sqlite3"))
    lib.sqlite3_memory_used.restype = ctypes.c_int64

    def loop() -> None:
        while True:
            with out.open("a") as f:
                f.write(f"{lib.sqlite3_memory_used() // 1024} {sys.getallocatedblocks()}\n")
            time.sleep(every_s / 4)  # fresh at each of the driver's samples

    threading.Thread(target=loop, daemon=True, name="heap-report").start()


def hotspot_phones() -> int:
    """How many phones the default hotspot's DHCP range can lease addresses to."""
    first, last = dhcp_range(Hotspot().network)
    return int(ipaddress.IPv4Address(last)) - int(ipaddress.IPv4Address(first)) + 1


async def residents(
    ports: list[int], rate: float, until: float, soak: Soak, seed: int, phones: int
) -> None:
    """Posts at ``rate`` a second on average (Poisson arrivals), each to a random hub, from
    one of ``phones`` addresses."""
    rng = random.Random(seed)
    tasks: set[asyncio.Task[None]] = set()
    n = 0

    async def one(hub: int, sub: Submission, n: int) -> None:
        try:
            await post(f"http://127.0.0.1:{ports[hub]}", sub, n % phones + 1)
        except AssertionError:
            soak.refused += 1
        except OSError:
            soak.unanswered += 1

    while time.monotonic() < until:
        await asyncio.sleep(rng.expovariate(rate))  # the next resident arrives
        n += 1
        hub = rng.randrange(HUBS)
        sub = Submission(f"soak-{n}", "")
        soak.subs.append((hub, sub))
        task = asyncio.create_task(one(hub, sub, n))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks)


def stored(db: Path) -> dict[str, int]:
    """How many times each soak note is stored at one hub (read-only, while it runs)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        out: dict[str, int] = {}
        for (note,) in conn.execute(
            "SELECT json_extract(body, '$.fields.note') FROM ops"
            " WHERE json_extract(body, '$.op') = 'create'"
            " AND json_extract(body, '$.fields.note') LIKE 'soak-%'"
        ):
            out[note] = out.get(note, 0) + 1
        return out


async def answering(ports: list[int], proc: subprocess.Popen[bytes], within: float) -> None:
    deadline = time.monotonic() + within
    for port in ports:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the hubs exited with {proc.returncode}")
            with contextlib.suppress(OSError):
                if " 200 " in (await get(urlsplit(f"http://127.0.0.1:{port}"), "/healthz", 1)):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"hub on port {port} did not answer")
            await asyncio.sleep(0.1)  # polling another process's server


def run(args: argparse.Namespace, workdir: Path) -> Soak:
    port = args.port or random.Random().randrange(20_000, 40_000, 10)  # +100 radios, +200 consoles
    log = workdir / "hubs.log"
    with log.open("wb") as out:
        env = {**os.environ, **({"FIELDKIT_SOAK_TRACE": str(args.trace)} if args.trace else {})}
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(workdir / "hubs"), "--port", str(port),
             "--time-scale", str(args.time_scale), "--loss", str(args.loss),
             "--sample-s", str(args.sample_s)],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    soak = Soak()
    try:
        asyncio.run(drive(args, workdir, [port + i for i in range(HUBS)], proc, log, soak))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    soak.log_text = log.read_text(errors="replace")
    return soak


async def drive(args: argparse.Namespace, workdir: Path, ports: list[int],
                proc: subprocess.Popen[bytes], log: Path, soak: Soak) -> None:  # fmt: skip
    await answering(ports, proc, 120)
    started = time.monotonic()
    heap = workdir / "hubs" / HEAP_FILE
    until = started + args.minutes * 60
    soak.samples.append(sample(proc.pid, log, started, heap))
    load = asyncio.create_task(residents(ports, args.rate, until, soak, args.seed, args.phones))
    while not load.done():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(args.sample_s):
                await asyncio.shield(load)
        soak.samples.append(sample(proc.pid, log, started, heap))
    await load
    # the residents have stopped: give the radios time to repair what the air lost
    dbs = [workdir / "hubs" / f"hub-{i + 1}" / "data" / "hub.sqlite3" for i in range(HUBS)]
    acknowledged = {s.note for _, s in soak.subs if s.ref is not None}
    settle = time.monotonic() + args.settle
    while time.monotonic() < settle:
        if all(acknowledged <= set(stored(db)) for db in dbs):
            break
        await asyncio.sleep(1)  # polling three databases another process writes
    soak.at_hubs = [stored(db) for db in dbs]
    soak.samples.append(sample(proc.pid, log, started, heap))
    if proc.poll() is not None:
        raise RuntimeError(f"the hubs exited with {proc.returncode}")


def report(args: argparse.Namespace, soak: Soak) -> None:
    first, last = soak.samples[1] if len(soak.samples) > 2 else soak.samples[0], soak.samples[-1]
    at_hubs = soak.at_hubs
    acknowledged = [(hub, s) for hub, s in soak.subs if s.ref is not None]
    own = sum(1 for hub, s in acknowledged if s.note in at_hubs[hub])
    everywhere = sum(1 for _, s in acknowledged if all(s.note in h for h in at_hubs))
    duplicated = sum(n - 1 for h in at_hubs for n in h.values() if n > 1)
    lines = soak.log_text.splitlines()
    errors = [line for line in lines if "ERROR" in line or "Traceback" in line]
    log_first = max(first.log_bytes - soak.samples[0].log_bytes, 0)
    log_rate_first = log_first / max(first.at_s, 1e-9)
    log_rate_last = (last.log_bytes - first.log_bytes) / max(last.at_s - first.at_s, 1e-9)
    print(f"minutes: {args.minutes:g}")
    print(f"radio_hours: {args.minutes * args.time_scale / 60:.2f}")
    print(f"loss: {args.loss:g}")
    print(f"phones: {args.phones}")
    print(f"samples: {len(soak.samples)}")
    print(f"submissions: {len(soak.subs)}")
    print(f"acknowledged: {len(acknowledged)}")
    print(f"refused_pages: {soak.refused}")
    print(f"unanswered: {soak.unanswered}")
    print(f"stored_at_own_hub: {own}")
    print(f"stored_at_every_hub: {everywhere}")
    print(f"acknowledged_lost: {len(acknowledged) - own}")
    print(f"not_converged: {len(acknowledged) - everywhere}")
    print(f"duplicated: {duplicated}")
    print(f"rss_first_mb: {first.rss_kb / 1024:.1f}")
    print(f"rss_last_mb: {last.rss_kb / 1024:.1f}")
    print(f"rss_ratio_vs_first: {last.rss_kb / first.rss_kb:.3f}")
    print(f"fds_first: {first.fds}")
    print(f"fds_last: {last.fds}")
    print(f"fds_ratio_vs_first: {last.fds / first.fds:.3f}")
    print(f"log_bytes: {last.log_bytes}")
    print(f"log_bytes_per_s_first: {log_rate_first:.1f}")
    print(f"log_bytes_per_s_after: {log_rate_last:.1f}")
    ratio = log_rate_last / log_rate_first if log_rate_first else float(log_rate_last > 0)
    print(f"log_rate_ratio_vs_first: {ratio:.3f}")
    print(f"errors_logged: {len(errors)}")
    print("rss_mb_by_sample " + " ".join(f"{s.rss_kb / 1024:.1f}" for s in soak.samples))
    during = soak.samples[1:-1] if len(soak.samples) > 3 else soak.samples
    hours = by_radio_hour(during, args.time_scale)
    print("rss_mb_by_radio_hour " + " ".join(f"{h}h={mb:.1f}" for h, mb in hours))
    half = len(during) // 2
    grown_first = (during[half].rss_kb - during[0].rss_kb) / 1024
    grown_second = (during[-1].rss_kb - during[half].rss_kb) / 1024
    print(f"rss_grown_first_half_mb: {grown_first:.1f}")
    print(f"rss_grown_second_half_mb: {grown_second:.1f}")
    print(f"sqlite_heap_first_mb: {first.sqlite_kb / 1024:.1f}")
    print(f"sqlite_heap_last_mb: {last.sqlite_kb / 1024:.1f}")
    print(f"python_blocks_first: {first.py_blocks}")
    print(f"python_blocks_last: {last.py_blocks}")
    print(f"python_blocks_ratio_vs_first: {last.py_blocks / max(first.py_blocks, 1):.3f}")
    sqlite = by_radio_hour(during, args.time_scale, lambda s: s.sqlite_kb / 1024)
    print("sqlite_heap_mb_by_radio_hour " + " ".join(f"{h}h={mb:.1f}" for h, mb in sqlite))
    other = by_radio_hour(during, args.time_scale, lambda s: (s.rss_kb - s.sqlite_kb) / 1024)
    print("rss_without_sqlite_mb_by_radio_hour " + " ".join(f"{h}h={mb:.1f}" for h, mb in other))
    blocks = by_radio_hour(during, args.time_scale, lambda s: s.py_blocks / 1000)
    print("python_kblocks_by_radio_hour " + " ".join(f"{h}h={k:.0f}" for h, k in blocks))
    for line in errors[:10]:
        print(f"  {line}", file=sys.stderr)


def by_radio_hour(
    samples: list[Sample],
    time_scale: float,
    of: Callable[[Sample], float] = lambda s: s.rss_kb / 1024,
) -> list[tuple[int, float]]:
    """``of`` (by default RSS, MB) at the first sample of each hour of radio time."""
    out: dict[int, float] = {}
    for s in samples:
        out.setdefault(int(s.at_s * time_scale / 3600), of(s))
    return sorted(out.items())


def markdown_table(text: str) -> str:
    """README's soak table from a saved run's ``name: value`` lines (``--table FILE``)."""
    v = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
    rows = [
        ("radio time (wall minutes × time scale)", f"{float(v['radio_hours']):.0f} h "
         f"({float(v['minutes']):g} min), {float(v['loss']):.0%} loss on every link"),
        ("phones (addresses) the residents post from", v.get("phones", "one each")),
        ("submissions / acknowledged", f"{v['submissions']} / {v['acknowledged']}"),
        ("stored at their own hub / at every hub", f"{v['stored_at_own_hub']} / "
         f"{v['stored_at_every_hub']}"),
        ("lost / duplicated", f"{v['acknowledged_lost']} / {v['duplicated']}"),
        ("memory (RSS), first minute → end", f"{v['rss_first_mb']} → {v['rss_last_mb']} MB "
         f"(**{v['rss_ratio_vs_first']}×**)"),
        ("memory grown, first half of the run / second half",
         f"{v['rss_grown_first_half_mb']} / {v['rss_grown_second_half_mb']} MB"),
        ("memory by hour of radio time (MB)", hourly(text)),
        *([("memory grown each day of radio time (MB)", daily(text))] if daily(text) else []),
        *([("… of which SQLite's heap (page caches), first minute → end",
            f"{v['sqlite_heap_first_mb']} → {v['sqlite_heap_last_mb']} MB"),
           ("… memory without SQLite's heap, grown each day (MB)",
            daily(text, "rss_without_sqlite_mb_by_radio_hour") or "–"),
           ("Python's allocated blocks, first minute → end", f"{v['python_blocks_first']} → "
            f"{v['python_blocks_last']} ({v['python_blocks_ratio_vs_first']}×)")]
          if "sqlite_heap_first_mb" in v else []),
        ("open files, first minute → end", f"{v['fds_first']} → {v['fds_last']} "
         f"({v['fds_ratio_vs_first']}×)"),
        ("log, bytes a second: first minute / after", f"{v['log_bytes_per_s_first']} / "
         f"{v['log_bytes_per_s_after']}"),
        ("errors logged", v["errors_logged"]),
    ]  # fmt: skip
    lines = ["| | three hubs in a line, residents at 2/s |", "|---|---|"]
    return "\n".join([*lines, *(f"| {name} | {value} |" for name, value in rows)])


def start_tracing(out: Path, every_s: float) -> None:
    """In the hubs' process: every ``every_s`` s, write the 25 source lines whose allocations
    grew most since the first snapshot (tracemalloc), to find what grows."""
    import threading
    import tracemalloc

    tracemalloc.start(8)

    def loop() -> None:
        first = tracemalloc.take_snapshot()
        while True:
            time.sleep(every_s)
            now = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__)]
            )
            top = now.compare_to(first, "traceback")[:25]
            with out.open("a") as f:
                f.write(f"--- {time.strftime('%H:%M:%S')} traced "
                        f"{tracemalloc.get_traced_memory()[0] / 1e6:.1f} MB\n")  # fmt: skip
                for stat in top:
                    f.write(f"{stat.size_diff / 1024:+9.0f} KiB {stat.count_diff:+7d} blocks\n")
                    for frame in stat.traceback.format()[-8:]:
                        f.write(f"      {frame}\n")

    threading.Thread(target=loop, daemon=True, name="tracemalloc").start()


def hourly(text: str) -> str:
    """The saved run's memory by radio hour, every 6 hours (every 12 past a day)."""
    line = next((x for x in text.splitlines() if x.startswith("rss_mb_by_radio_hour ")), "")
    pairs = [p.split("=") for p in line.split()[1:]]
    every = 6 if len(pairs) <= 24 else 12
    return ", ".join(f"{h} {mb}" for h, mb in pairs if int(h[:-1]) % every == 0) or "–"


def daily(text: str, series: str = "rss_mb_by_radio_hour") -> str:
    """The saved run's memory (``series``) grown in each whole day of radio time ('' for a run
    of one day: its halves say it)."""
    line = next((x for x in text.splitlines() if x.startswith(series + " ")), "")
    by_hour = {int(h[:-1]): float(mb) for h, mb in (p.split("=") for p in line.split()[1:])}
    if not by_hour:
        return ""
    days = [min(by_hour), *(h for h in range(24, max(by_hour) + 1, 24) if h in by_hour)]
    if len(days) < 3:
        return ""
    grown = (by_hour[b] - by_hour[a] for a, b in itertools.pairwise(days))
    return ", ".join(f"day {n} {mb:+.1f}" for n, mb in enumerate(grown, 1))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=24.0, help="wall minutes (default 24)")
    parser.add_argument("--hours", type=float, help="hours of radio time (instead of --minutes)")
    parser.add_argument("--time-scale", type=float, default=60.0, help="radio time x wall")
    parser.add_argument("--loss", type=float, default=0.1, help="per-link loss (default 0.1)")
    parser.add_argument("--rate", type=float, default=2.0, help="residents a second")
    parser.add_argument(
        "--phones",
        type=int,
        default=hotspot_phones(),
        help="addresses they post from (default: the hotspot's DHCP range)",
    )
    parser.add_argument("--sample-s", type=float, default=60.0, help="seconds between samples")
    parser.add_argument("--settle", type=float, default=120.0, help="repair time at the end, s")
    parser.add_argument("--port", type=int, default=0, help="first web port (default: random)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # the hubs' own process
    parser.add_argument("--table", type=Path, help="print README's table from a saved run")
    parser.add_argument("--trace", type=Path, help="write what grows (tracemalloc) to this file")
    args = parser.parse_args()
    if args.hours is not None:
        args.minutes = args.hours * 60 / args.time_scale
    if args.table is not None:
        print(markdown_table(args.table.read_text()))
        return
    if args.serve is not None:
        from fieldkit.app.demo import run_demo

        args.serve.mkdir(parents=True, exist_ok=True)
        start_heap_report(args.serve / HEAP_FILE, args.sample_s)
        if trace := os.environ.get("FIELDKIT_SOAK_TRACE"):  # --trace: what grows, by line
            start_tracing(Path(trace), args.sample_s)

        sys.exit(asyncio.run(run_demo(args.serve, args.port, time_scale=args.time_scale,
                                      loss=args.loss)))  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        soak = run(args, args.dir or Path(tmp))
    report(args, soak)


if __name__ == "__main__":
    main()
