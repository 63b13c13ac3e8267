"""Console benchmark: the coordinator console of a hub holding 20k records (issue 9).

    .venv/bin/python bench/console.py [--records 20000] [--requests 200]

A hub is made with the real command line (``fieldkit init``, ``fieldkit import`` of records
drawn from ``bench/corpus.jsonl``, ``fieldkit passphrase``) and served by ``fieldkit run``;
a coordinator signs in over HTTPS and the console's pages are timed: the need and offer
queues, the queue filtered by category and area and by text, the first need's detail (its
audit trail and suggested offers ranked by ``fieldkit.core.matching``), and the full hub
status. Printed: p50/p99 in ms and p99 as a ratio over the console's static stylesheet in the
same run (the machine is shared: ratios are the figures to compare). Target: p99 < 150 ms.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from scale import AREAS, FIELDKIT, answering, fieldkit, free_port, pct, write_records

PASSPHRASE = "benchmark passphrase"


def serve(config: Path, port: int, console: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [*FIELDKIT, "--config", str(config), "run", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={"FIELDKIT_WEB_CONSOLE_PORT": str(console), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    return answering(proc, f"https://127.0.0.1:{console}/signin", "the console", verify=False)


def sign_in(client: httpx.Client) -> None:
    page = client.get("/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, "the sign-in form has its token"
    form = {"csrf": csrf.group(1), "name": "bench", "passphrase": PASSPHRASE, "next": ""}
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
}


def markdown_table(output: str) -> str:
    """README's table of a saved run (``--table FILE``): ms, and p50 over the static file."""
    values = dict(
        line.split(": ", 1) for line in output.splitlines() if ": " in line and line[0] != "#"
    )
    rows = ["| page | p50 | p99 | p50 over static |", "|---|---|---|---|"]
    for name, label in LABELS.items():
        p50, p99 = float(values[f"{name}_p50_ms"]), float(values[f"{name}_p99_ms"])
        ratio = "1" if name == "static" else values[f"{name}_p50_over_static"]
        rows.append(f"| {label} | {p50:.1f} | {p99:.1f} | {ratio} |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--table", type=Path, help="print the README table of a saved output")
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.table:
        print(markdown_table(args.table.read_text()))
        return 0
    with tempfile.TemporaryDirectory(prefix="fieldkit-console-") as tmp:
        work = Path(tmp)
        config = work / "fieldkit.toml"
        port, console = free_port(), free_port()
        areas = [f"--area={a}={a.title()}" for a in AREAS]
        fieldkit(config, "init", "--dir", str(work), "--name", "Console", *areas)
        source = work / "records.jsonl"
        write_records(source, args.records, args.seed)
        fieldkit(config, "import", str(source))
        subprocess.run(
            [*FIELDKIT, "--config", str(config), "passphrase"], input=PASSPHRASE + "\n",
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        server = serve(config, port, console)
        try:
            with httpx.Client(base_url=f"https://127.0.0.1:{console}", verify=False,
                              timeout=30) as client:  # fmt: skip
                sign_in(client)
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
                    "hub_status": "/hub/status",
                }
                timings = {name: timed(client, path, args.requests) for name, path in
                           pages.items()}  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=30)
    static50, static99 = pct(timings["static"], 50), pct(timings["static"], 99)
    print(f"# bench/console.py with {args.records} records (ratios over the static file)")
    print(f"records: {args.records}")
    print(f"static_p50_ms: {static50:.2f}")
    print(f"static_p99_ms: {static99:.2f}")
    for name in list(pages)[1:]:
        p50, p99 = pct(timings[name], 50), pct(timings[name], 99)
        print(f"{name}_p50_ms: {p50:.2f}")
        print(f"{name}_p99_ms: {p99:.2f}")
        print(f"{name}_p50_over_static: {p50 / static50:.1f}")
        print(f"{name}_p99_over_static: {p99 / static99:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
