"""Fault benchmark: SIGKILL `fieldkit run` at random moments while residents submit.

    python bench/faults.py [--kills 25] [--residents 50] [--seed S] [--dir D]

A real hub (`fieldkit run`, its own process) is killed with SIGKILL ``--kills`` times, each
time at a random moment while ``--residents`` residents post the intake form at once, each
from an address of its own (as phones are), and started again. A resident whose post got no
answer posts the same form (same one-time token) again after the restart, as a phone does.
Then the database is checked: every acknowledged submission stored with the reference code
its resident was shown, none stored twice, ``PRAGMA integrity_check`` ok, and the version
vector, counters and indexes consistent with the log. Printed as ``name: value`` lines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import SplitResult, urlencode, urlsplit

FORM = {"kind": "need", "lang": "en", "category": "water", "urgency": "today"}


@dataclass
class Submission:
    note: str
    token: str
    ref: str | None = None  # the code the resident was shown: acknowledged
    attempts: int = 0


@dataclass
class Report:
    kills: int = 0
    in_flight: int = 0  # posts the kill cut off before their answer
    acknowledged_between_kills: int = 0
    attempted: int = 0
    acknowledged: int = 0
    stored: int = 0
    lost: int = 0
    duplicated: int = 0
    wrong_ref: int = 0
    integrity: str = ""
    problems: list[str] = field(default_factory=list)


def address(n: int) -> str:
    """A loopback address of its own for submission ``n`` (127.0.0.0/8 is all loopback)."""
    return f"127.{10 + (n >> 16) % 200}.{(n >> 8) % 256}.{n % 256 or 1}"


async def get(where: SplitResult, path: str, n: int) -> str:
    """A page of the hub, as the phone gets it; OSError if the hub is gone."""
    reader, writer = await asyncio.open_connection(
        where.hostname, where.port, local_addr=(address(n), 0)
    )
    try:
        request = f"GET {path} HTTP/1.1\r\nHost: {where.netloc}\r\nConnection: close\r\n\r\n"
        writer.write(request.encode())
        async with asyncio.timeout(30):
            return (await reader.read()).decode("utf-8", "replace")
    except TimeoutError as exc:
        raise ConnectionError(f"no answer: {exc}") from None
    finally:
        writer.close()


async def shown_code(where: SplitResult, location: str, n: int) -> str:
    """The code the thank-you page shows (its address holds a receipt, not the code), in the
    stored form: without its check symbol."""
    found = re.search(
        r'class="code">([0-9A-Z]{3}-[0-9A-Z]{3})[0-9A-Z]<', await get(where, location, n)
    )
    if found is None:
        raise ConnectionError(f"the thank-you page at {location} shows no code")
    return found.group(1)


async def form_token(where: SplitResult, n: int) -> str:
    """The intake form's token, as the phone gets it; OSError if the hub is gone."""
    found = re.search(r'name="token" value="([^"]+)"', await get(where, "/intake?kind=need", n))
    if found is None:
        raise ConnectionError("the intake form carried no token")
    return found.group(1)


async def post(url: str, sub: Submission, n: int) -> None:
    """Post the intake form as a phone of its own would; OSError if the hub is gone.

    Plain HTTP/1.1 over a socket: an HTTP client library costs more CPU per phone than the
    hub spends answering it."""
    where = urlsplit(url)
    if not sub.token:  # the form's own token, from the hub, kept across its restarts
        sub.token = await form_token(where, n)
    body = urlencode(FORM | {"area_other": "riverside", "note": sub.note, "token": sub.token})
    request = (
        f"POST /intake HTTP/1.1\r\nHost: {where.netloc}\r\nConnection: close\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    )
    sub.attempts += 1
    reader, writer = await asyncio.open_connection(
        where.hostname, where.port, local_addr=(address(n), 0)
    )
    try:
        writer.write(request.encode())
        async with asyncio.timeout(30):
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    except (asyncio.IncompleteReadError, TimeoutError) as exc:
        raise ConnectionError(f"no answer: {exc}") from None
    finally:
        writer.close()
    status = int(head.split()[1])
    if status == 303:
        location = next(
            line.split(":", 1)[1].strip()
            for line in head.split("\r\n")
            if line.lower().startswith("location:")
        )
        ref = await shown_code(where, location, n)
        if sub.ref is not None and sub.ref != ref:
            raise AssertionError(f"{sub.note}: shown {sub.ref}, then {ref}")
        sub.ref = ref
    elif status != 429:  # a resident posting too fast is told so: that is no failure
        raise AssertionError(f"{sub.note}: answered {status}")


async def resident(url: str, queue: list[Submission], counter: list[int], report: Report) -> None:
    """Post forms one after another until the hub stops answering."""
    while queue:
        sub = queue[0]
        counter[0] += 1
        try:
            await post(url, sub, counter[0])
        except OSError:
            report.in_flight += 1
            return  # the hub is gone: this one is posted again after the restart
        if sub.ref is not None:
            queue.pop(0)


def wait_running(data_dir: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    running = data_dir / "running.json"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"fieldkit run exited with {proc.returncode}")
        with contextlib.suppress(OSError, ValueError, KeyError):
            data = json.loads(running.read_text())
            if data["pid"] == proc.pid:
                return str(data["url"])
        time.sleep(0.02)  # polling a file another process writes
    raise RuntimeError("fieldkit run did not start")


async def round_of(url: str, queues: list[list[Submission]], proc: subprocess.Popen[bytes],
                   rng: random.Random, counter: list[int], report: Report) -> None:  # fmt: skip
    tasks = [asyncio.create_task(resident(url, q, counter, report)) for q in queues]
    await asyncio.sleep(rng.uniform(0.05, 1.2))  # a random moment
    os.kill(proc.pid, signal.SIGKILL)
    await asyncio.gather(*tasks)


def check(db: Path, subs: list[Submission], report: Report) -> None:
    with sqlite3.connect(db) as conn:
        report.integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        stored: dict[str, list[str]] = {}
        for note, ref in conn.execute(
            "SELECT json_extract(body, '$.fields.note'), json_extract(body, '$.ref') FROM ops"
            " WHERE json_extract(body, '$.op') = 'create'"
        ):
            stored.setdefault(note, []).append(ref)
        report.stored = sum(len(v) for v in stored.values())
        report.duplicated = sum(len(v) - 1 for v in stored.values() if len(v) > 1)
        for sub in subs:
            if sub.ref is not None:
                if sub.note not in stored:
                    report.lost += 1
                elif sub.ref not in stored[sub.note]:
                    report.wrong_ref += 1
        # the version vector, counters and indexes agree with the log
        for origin, contiguous, max_seq in conn.execute("SELECT * FROM origins"):
            count, top = conn.execute(
                "SELECT count(*), max(seq) FROM ops WHERE origin = ?", (origin,)
            ).fetchone()
            if not contiguous == max_seq == count == top:
                report.problems.append(f"origin {origin:08x}: {contiguous} {max_seq} {count}")
        ops = conn.execute("SELECT count(*) FROM ops").fetchone()[0]
        records = conn.execute("SELECT count(*) FROM records WHERE complete = 1").fetchone()[0]
        counted = conn.execute("SELECT coalesce(sum(n), 0) FROM record_counts").fetchone()[0]
        board = conn.execute("SELECT coalesce(sum(n), 0) FROM board_counts").fetchone()[0]
        refs = conn.execute("SELECT count(*) FROM refs").fetchone()[0]
        keys = conn.execute("SELECT count(*) FROM idempotency").fetchone()[0]
        if not ops == records == counted == board == refs == keys == report.stored:
            report.problems.append(
                f"ops {ops}, records {records}, counted {counted}, board {board}, refs {refs},"
                f" idempotency keys {keys}, creates {report.stored}"
            )


def start_hub(hub_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "fieldkit", "run", "--port", "0"], cwd=hub_dir,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def post_again(url: str, queues: list[list[Submission]], counter: list[int]) -> None:
    """Every resident whose post got no answer posts it once more (it may have been stored)."""
    for queue in queues:
        for sub in queue:
            if sub.attempts:
                counter[0] += 1
                await post(url, sub, counter[0])


def run(kills: int, residents: int, seed: int, workdir: Path) -> Report:
    rng = random.Random(seed)
    hub_dir = workdir / "hub"
    subprocess.run([sys.executable, "-m", "fieldkit", "init", "--dir", str(hub_dir)],
                   check=True, capture_output=True)  # fmt: skip
    report = Report()
    subs: list[Submission] = []
    queues: list[list[Submission]] = [[] for _ in range(residents)]
    counter = [0]
    for _ in range(kills):
        for r, queue in enumerate(queues):
            while len(queue) < 40:  # plenty for a round: each resident never runs dry
                sub = Submission(f"r{r}-{len(subs)}", "")  # its token: from the form, when sent
                subs.append(sub)
                queue.append(sub)
        proc = start_hub(hub_dir)
        try:
            url = wait_running(hub_dir / "data", proc)
            asyncio.run(round_of(url, queues, proc, rng, counter, report))
        finally:
            proc.kill()
            proc.wait()
        report.kills += 1 if proc.returncode == -signal.SIGKILL else 0
    report.acknowledged_between_kills = sum(1 for s in subs if s.ref is not None)
    proc = start_hub(hub_dir)  # at last, a clean start
    try:
        asyncio.run(post_again(wait_running(hub_dir / "data", proc), queues, counter))
    finally:
        proc.terminate()
        proc.wait()
    report.attempted = sum(1 for s in subs if s.attempts)
    report.acknowledged = sum(1 for s in subs if s.ref is not None)
    check(hub_dir / "data" / "hub.sqlite3", subs, report)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=25)
    parser.add_argument("--residents", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path)
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        report = run(args.kills, args.residents, args.seed, args.dir or Path(tmp))
    print(f"kills: {report.kills}")
    print(f"residents: {args.residents}")
    print(f"posts_cut_off_by_a_kill: {report.in_flight}")
    print(f"acknowledged_between_kills: {report.acknowledged_between_kills}")
    print(f"submissions_attempted: {report.attempted}")
    print(f"acknowledged: {report.acknowledged}")
    print(f"stored: {report.stored}")
    print(f"acknowledged_lost: {report.lost}")
    print(f"duplicated: {report.duplicated}")
    print(f"wrong_reference_code: {report.wrong_ref}")
    print(f"integrity_ok: {int(report.integrity == 'ok')}")
    print(f"consistency_problems: {len(report.problems)}")
    for problem in report.problems:
        print(f"  {problem}", file=sys.stderr)
    print(f"seconds: {time.monotonic() - started:.1f}")


if __name__ == "__main__":
    main()
