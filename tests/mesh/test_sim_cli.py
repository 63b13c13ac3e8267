"""``fieldkit sim`` as a process: radios come up, carry frames, stats are printed on SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys

from fieldkit.cli.main import build_parser
from fieldkit.mesh import sim_cli
from fieldkit.mesh.meshtastic_transport import MeshtasticTransport


def test_sim_subcommand_registers_its_options() -> None:
    args = build_parser().parse_args(
        [
            "sim",
            "--nodes",
            "4",
            "--port",
            "5000",
            "--topology",
            "grid",
            "--preset",
            "short_fast",
            "--region",
            "EU_868",
            "--loss",
            "0.1",
            "--time-scale",
            "20",
            "--seed",
            "3",
        ]
    )
    assert (args.command, args.nodes, args.port, args.topology, args.preset) == (
        "sim",
        4,
        5000,
        "grid",
        "SHORT_FAST",
    )
    assert (args.region, args.loss, args.time_scale, args.seed) == ("EU_868", 0.1, 20.0, 3)


def test_bad_options_exit_with_usage_code() -> None:
    parser = argparse.ArgumentParser()
    sim_cli.configure(parser)
    assert sim_cli.run(parser.parse_args(["--loss", "2"])) == 2
    assert sim_cli.run(parser.parse_args(["--region", "MARS"])) == 2


async def test_sim_process_serves_radios_and_prints_stats_on_sigint() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "fieldkit.mesh.sim_cli",
        "--nodes",
        "2",
        "--port",
        "0",
        "--time-scale",
        "50",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        ports: list[int] = []
        async with asyncio.timeout(20):
            while not ports or len(ports) < 2:
                line = (await proc.stdout.readline()).decode()
                assert line, "simulator exited early"
                if m := re.match(r"node \d+ !\w+ tcp://127\.0\.0\.1:(\d+)", line):
                    ports.append(int(m.group(1)))
        a = MeshtasticTransport(f"sim://127.0.0.1:{ports[0]}")
        b = MeshtasticTransport(f"sim://127.0.0.1:{ports[1]}")
        try:
            async with asyncio.timeout(20):
                await a.connect()
                await b.connect()
                await a.send(b"through a separate process")
                assert (await b.recv()).payload == b"through a separate process"
        finally:
            await a.close()
            await b.close()
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(20):
            out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        table = out.decode()
        row = re.search(r"!10000001\s+([\d.]+)\s+[\d.]+\s+(\d+)", table)
        assert row is not None, table
        assert int(row.group(2)) == 2  # node 0 sent its NodeInfo at boot, then one frame
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
