"""The disk fills up during intake (issue 11): a resident whose submission cannot be stored is
told so in their language, with their answers kept to send again (never "thank you" for
something not stored); the hub goes on serving; nothing stored earlier is lost; and once space
frees, the same form (same one-time token) is stored exactly once.

The hub is a real ``fieldkit run`` whose data folder is a small tmpfs, mounted in a mount
namespace of its own (``unshare --mount``: the mount ends with the process; needs root). The
test reaches that folder through ``/proc/PID/root``, to fill it and to free it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.waiting import wait_until

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("nsenter")),
    reason="needs root, unshare(1) and nsenter(1): a small tmpfs in a mount namespace",
)

TMPFS = "4m"
FORM = {"kind": "need", "lang": "es", "category": "water", "urgency": "today",
        "area_other": "riverside"}  # fmt: skip
#: The page a resident sees when the hub could not store their submission, in Spanish.
NOT_SAVED_ES = "no pudimos guardar su solicitud"


@dataclass
class Hub:
    proc: subprocess.Popen[bytes]
    data: Path  # the data folder as the test sees it: through /proc/PID/root
    url: str

    def client(self, n: int) -> httpx.Client:
        """A phone of its own (its own loopback address: the rate limit is per phone)."""
        transport = httpx.HTTPTransport(local_address=f"127.0.{n // 250}.{n % 250 + 2}")
        return httpx.Client(base_url=self.url, transport=transport, timeout=30)


@contextlib.contextmanager
def hub_on_a_small_disk(tmp_path: Path) -> Iterator[Hub]:
    hub_dir = tmp_path / "hub"
    subprocess.run([sys.executable, "-m", "fieldkit", "init", "--dir", str(hub_dir)],
                   check=True, capture_output=True)  # fmt: skip
    data = hub_dir / "data"
    data.rename(hub_dir / "data.before")
    data.mkdir()
    script = (
        f"mount -t tmpfs -o size={TMPFS} tmpfs data && cp -a data.before/. data/"
        f" && exec {sys.executable} -m fieldkit run --port 0"
    )
    proc = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        cwd=hub_dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    inside = Path(f"/proc/{proc.pid}/root") / data.relative_to("/")
    try:

        def address() -> str | None:
            if proc.poll() is not None:
                raise AssertionError(f"the hub exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            with contextlib.suppress(OSError, ValueError, KeyError):
                running = json.loads((inside / "running.json").read_text())
                return str(running["url"]) if running["pid"] == proc.pid else None
            return None

        url = wait_until(address, timeout=60, what="the hub on its tmpfs to serve")
        yield Hub(proc, inside, url)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def form_token(client: httpx.Client) -> str:
    page = client.get("/intake", params={"kind": "need", "lang": "es"})
    found = re.search(r'name="token" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def shown_code(page: httpx.Response) -> str | None:
    """The reference code a thank-you page shows (stored form: without its check symbol)."""
    found = re.search(r'class="code">([0-9A-Z]{3}-[0-9A-Z]{3})[0-9A-Z]<', page.text)
    return found.group(1) if found else None


@dataclass
class Resident:
    n: int
    note: str
    token: str = ""
    code: str | None = None  # the code shown on a thank-you page: acknowledged

    def post(self, hub: Hub) -> httpx.Response:
        with hub.client(self.n) as client:
            self.token = self.token or form_token(client)
            answer = client.post("/intake", data=FORM | {"note": self.note, "token": self.token})
            if answer.status_code == 303:
                thanks = client.get(answer.headers["location"])
                self.code = shown_code(thanks)
                assert self.code is not None, thanks.text
            return answer


def fill(folder: Path) -> Path:
    """Fill the file system holding ``folder`` to its last byte; returns the filler file."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 16, 1 << 12, 1):
            with contextlib.suppress(OSError):
                while True:
                    out.write(b"\0" * size)
    free = os.statvfs(folder)
    assert free.f_bavail == 0, free
    with pytest.raises(OSError, match="No space left") as full:
        (folder / "probe").write_bytes(b"x" * 4096)
    assert full.value.errno == errno.ENOSPC
    return filler


READ_STORED = """
import contextlib, json, sqlite3, sys
with contextlib.closing(sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)) as db:
    notes = {}
    for note, ref in db.execute(
        "SELECT json_extract(body, '$.fields.note'), json_extract(body, '$.ref') FROM ops"
        " WHERE json_extract(body, '$.op') = 'create'"
    ):
        notes.setdefault(note, []).append(ref)
    print(json.dumps([db.execute("PRAGMA integrity_check").fetchone()[0], notes]))
"""


def stored(hub: Hub) -> dict[str, list[str]]:
    """Each stored note's reference codes, read from the running hub's database inside its
    mount namespace (SQLite resolves /proc/PID/root to the host's empty folder)."""
    db = Path("/", *hub.data.parts[4:]) / "hub.sqlite3"
    done = subprocess.run(
        ["nsenter", "--target", str(hub.proc.pid), "--mount", sys.executable, "-c", READ_STORED,
         str(db)], capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    integrity, notes = json.loads(done.stdout)
    assert integrity == "ok"
    return dict(notes)


def test_a_full_disk_during_intake_is_told_in_the_residents_language_and_loses_nothing(
    tmp_path: Path,
) -> None:
    with hub_on_a_small_disk(tmp_path) as hub:
        before = [Resident(n, f"before {n}") for n in range(5)]
        for resident in before:
            assert resident.post(hub).status_code == 303
        filler = fill(hub.data)

        during = [Resident(10 + n, f"during {n}") for n in range(8)]
        with ThreadPoolExecutor(len(during)) as pool:  # at once, as phones do
            answers = list(pool.map(lambda r: r.post(hub), during))
        refused = [(r, a) for r, a in zip(during, answers, strict=True) if a.status_code != 303]
        assert refused, "the disk was full, yet every submission was acknowledged"
        for resident, answer in refused:
            assert answer.status_code == 503, answer.text
            assert NOT_SAVED_ES in answer.text.lower(), answer.text
            assert 'class="code"' not in answer.text  # no code: nothing was stored
            assert resident.note in answer.text  # the answers are kept, to send again
            assert f'value="{resident.token}"' in answer.text  # the same token: sent once
        # the hub goes on serving its pages while the disk is full
        with hub.client(100) as client:
            assert client.get("/", params={"lang": "es"}).status_code == 200
            assert client.get("/board").status_code == 200
            status = client.post("/status", data={"ref": before[0].code or "", "lang": "es",
                                                  "token": form_token(client)})  # fmt: skip
            assert status.status_code == 200
            assert 'class="status s-open"' in status.text  # an earlier request is still there
        assert hub.proc.poll() is None  # still running

        filler.unlink()  # space again
        for resident, _ in refused:  # each sends the kept form again
            assert resident.post(hub).status_code == 303
        notes = stored(hub)
        for resident in before + during:  # every acknowledged one stored, with its code, once
            assert notes.get(resident.note) == [resident.code], resident
