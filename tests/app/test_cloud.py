"""The cloud aggregator, for real: ``fieldkit run --role cloud`` in processes of its own
(uvicorn, TLS under a throwaway CA from trustme), on SQLite and on PostgreSQL, and two hubs
syncing with it over HTTPS with httpx, as ``fieldkit sync cloud`` and ``fieldkit run`` do."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import io
import os
import queue
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from fieldkit.app.cloud import (
    CODE_VALID_S,
    CloudLink,
    enroll,
    join_cloud,
    keep_syncing,
    open_cloud_store,
    redeem,
    sync_now,
    sync_status,
)
from fieldkit.app.config import load_config
from fieldkit.app.hub import Hub
from fieldkit.app.keyring import KeyRing
from fieldkit.app.netkey import ensure_network_key, format_key, network_key
from fieldkit.cli.main import main
from fieldkit.core.ops import Create, Op, RecordId
from fieldkit.core.records import Category, Contact, Draft, Kind, Status, Urgency
from fieldkit.errors import FieldkitError
from fieldkit.store.cloud_port import CloudPort
from fieldkit.sync.batches import bundle_chunks, our_summary
from fieldkit.sync.cloud import page_header
from fieldkit.sync.http import Peer, http_peer
from fieldkit.wire.bundle_format import read_bundle
from fieldkit.wire.messages import Ops, Summary
from tests.postgres import server_url

KEY = b"c" * 32
ORIGIN = 0x0C0C0C0C  # a hub of the network that never met the cloud: the hubs relay its ops
START_S = 30.0


# --- the cloud in its own processes ----------------------------------------------------------


@dataclass
class Served:
    process: subprocess.Popen[str]
    port: int

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


@dataclass
class Cloud:
    config: Path
    ca_pem: str
    codes: dict[str, str]
    served: list[Served] = field(default_factory=list)

    def start(self, port: int = 0) -> Served:
        """``fieldkit run --role cloud``, once it says where it serves."""
        process = subprocess.Popen(
            [sys.executable, "-m", "fieldkit", "--config", str(self.config), "run", "--role",
             "cloud", "--host", "127.0.0.1", "--port", str(port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("FIELDKIT_")},
        )  # fmt: skip
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(
            target=lambda: [lines.put(x) for x in process.stdout or ()], daemon=True
        ).start()
        seen = []
        while True:
            try:
                line = lines.get(timeout=START_S)
            except queue.Empty:
                process.kill()
                raise AssertionError(f"the cloud did not start: {''.join(seen)}") from None
            seen.append(line)
            if found := re.search(r"cloud serving https://localhost:(\d+)/", line):
                served = Served(process, int(found[1]))
                self.served.append(served)
                return served
            if process.poll() is not None:
                raise AssertionError(f"the cloud stopped: {''.join(seen)}")

    @contextlib.asynccontextmanager
    async def opened(self) -> AsyncIterator[tuple[CloudPort, Hub]]:
        """The cloud's database, opened beside its servers (as a coordinator's command is)."""
        async with await open_cloud_store(load_config(self.config, {}).cloud) as store:
            yield store, await Hub.open(store)


def run(*args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(args), env={}) == 0
    return out.getvalue()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(URL, schema): an SQLite file, or a schema of its own on the test PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/cloud/data/cloud.sqlite3", ""
        return
    url, schema = server_url(), f"t{uuid.uuid4().hex[:12]}_cloud"
    yield url, schema
    import psycopg

    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def cloud(tmp_path: Path, database: tuple[str, str]) -> Iterator[Cloud]:
    """A cloud set up with ``fieldkit cloud init`` (a CA's certificate for localhost) and two
    hubs enrolled with ``fieldkit cloud enroll``: "one" and "two"."""
    ca = trustme.CA()
    issued = ca.issue_cert("localhost")
    cert, key, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    url, schema = database
    run("cloud", "init", "--dir", str(tmp_path / "cloud"), "--database", url, "--schema", schema,
        "--hostname", "localhost", "--cert", str(cert), "--key", str(key),
        "--network-key", format_key(KEY))  # fmt: skip
    config = str(tmp_path / "cloud" / "fieldkit.toml")
    codes = {name: run("--config", config, "cloud", "enroll", name).split()[-1]
             for name in ("one", "two")}  # fmt: skip
    made = Cloud(Path(config), ca_file.read_text(), codes)
    yield made
    for served in made.served:
        if served.process.poll() is None:
            served.kill()
        if served.process.stdout:
            served.process.stdout.close()


async def joined(hub: Hub, cloud: Cloud, served: Served, name: str) -> CloudLink:
    await ensure_network_key(hub.store, KEY)
    link, _ = await join_cloud(hub, served.url, cloud.codes[name], cloud.ca_pem)
    return link


async def hashes(*stores: object) -> set[str]:
    return {await s.state_hash() for s in stores}  # type: ignore[attr-defined]


def relayed(count: int) -> list[Op]:
    """``count`` ops of a hub the cloud never met, each with a note that hardly compresses."""
    fields = {"category": "water", "urgency": "today", "area": "riverside"}
    return [
        Op(ORIGIN, seq, (1_790_000_000_000 + seq) << 16,
           Create(RecordId(ORIGIN, seq), Kind.NEED, 1_790_000_000_000 + seq,
                  {**fields, "note": hashlib.sha256(b"%d" % seq).hexdigest()}))
        for seq in range(1, count + 1)
    ]  # fmt: skip


def peer_for(client: httpx.AsyncClient, served: Served) -> Peer:
    return http_peer(client, served.url)


def client_for(link: CloudLink, pull: bool = True) -> httpx.AsyncClient:
    headers = {**link.headers(), **page_header(5000, pull)}
    return httpx.AsyncClient(verify=link.ssl_context(), timeout=20, headers=headers)


# --- the tests -------------------------------------------------------------------------------


async def test_hubs_meet_through_the_cloud_and_the_cloud_records_who_delivered_what(
    cloud: Cloud, hub: Hub, hub2: Hub
) -> None:
    served = cloud.start()
    one, two = await joined(hub, cloud, served, "one"), await joined(hub2, cloud, served, "two")
    need = (await hub.submit(Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside"))).record
    offer = (
        await hub2.submit(Draft(Kind.OFFER, Category.WATER, Urgency.FLEXIBLE, "riverside"))
    ).record
    first = await sync_now(hub, one, 20)
    await sync_now(hub2, two, 20)
    await sync_now(hub, one, 20)
    assert first.sent == 1
    assert await hub.store.get(offer.id) is not None
    assert await hub2.store.get(need.id) is not None
    async with cloud.opened() as (store, _):
        assert len(await hashes(store, hub.store, hub2.store)) == 1
        assert await store.delivered_by(need.id.hub, need.id.seq) == "one"
        assert await store.delivered_by(offer.id.hub, offer.id.seq) == "two"
        assert {h.name: h.delivered for h in await store.enrolled_hubs()} == {"one": 1, "two": 1}
        assert await store.hub_names() == {hub.id: "one", hub2.id: "two"}  # the console's names
    again = await sync_now(hub, one, 20)
    assert (again.sent, again.received_new) == (0, 0)


async def test_conflicting_edits_in_the_cloud_and_at_a_hub_converge_both_visible(
    cloud: Cloud, hub: Hub, hub2: Hub
) -> None:
    served = cloud.start()
    one, two = await joined(hub, cloud, served, "one"), await joined(hub2, cloud, served, "two")
    need = (await hub.submit(Draft(Kind.NEED, Category.FOOD, Urgency.TODAY, "riverside"))).record
    await sync_now(hub, one, 20)
    async with cloud.opened() as (store, coordinators):  # neither has seen the other's edit
        await coordinators.update(need.id, {"note": "the cloud says: family of five"})
        await coordinators.set_status(need.id, Status.MATCHED, "pick up at the depot", by="ana")
        await hub.update(need.id, {"note": "the hub says: family of four"})
        await sync_now(hub, one, 20)
        await sync_now(hub2, two, 20)
        assert len(await hashes(store, hub.store, hub2.store)) == 1
        seen = await hub2.store.get(need.id)
    assert seen is not None
    assert seen.status is Status.MATCHED
    assert seen.status_message == "pick up at the depot"
    notes = {seen.note, *(c.value for c in seen.conflicts if c.field == "note")}
    assert notes == {"the cloud says: family of five", "the hub says: family of four"}


async def test_a_cloud_killed_mid_sync_finishes_after_a_restart_without_duplicate_or_loss(
    cloud: Cloud, hub: Hub
) -> None:
    total = 3000
    served = cloud.start()
    link = await joined(hub, cloud, served, "one")
    await hub.receive(relayed(total))
    async with cloud.opened() as (store, _):
        syncing = asyncio.create_task(sync_now(hub, link, 20, page=100, pull=False))
        async with asyncio.timeout(30):
            while not 0 < (await store.version_vector()).get(ORIGIN, 0) < total:
                assert not syncing.done(), "the sync ended before the cloud could be cut"
                await asyncio.sleep(0.002)
        served.kill()
        with pytest.raises(FieldkitError):
            await syncing
        landed = (await store.version_vector())[ORIGIN]
        assert 0 < landed < total
        served = cloud.start(served.port)
        kept: list[dict[str, Any]] = []

        async def shown(report: object) -> None:  # what the console and `status` read meanwhile
            kept.append(await sync_status(hub.store) or {})

        resumed = await sync_now(hub, link, 20, page=100, pull=False, progress=shown)
        assert resumed.sent == total - landed  # what had landed is not sent again
        assert len(kept) >= 2
        assert {k["state"] for k in kept} == {"syncing"}  # each page's progress kept as it went
        sent = [k["progress"]["sent"] for k in kept]
        assert sent == sorted(sent)
        assert sent[-1] == resumed.sent
        assert (await store.version_vector())[ORIGIN] == total
        assert await store.counts() == await hub.store.counts() == {("need", "open"): total}
        assert len(await hashes(store, hub.store)) == 1
        assert {h.name: h.delivered for h in await store.enrolled_hubs()}["one"] == total


async def _push(peer: Peer, hub: Hub, ops: list[Op]) -> tuple[Summary | None, list[Op]]:
    """One request carrying ``ops``; what the answer says (its summary, the ops in it)."""
    challenge = await peer.challenge()

    async def each() -> AsyncIterator[Op]:
        for op in ops:
            yield op

    body = bundle_chunks(hub, KEY, await our_summary(hub), each(), purpose="sync request",
                         context=challenge)  # fmt: skip
    answer = b"".join([chunk async for chunk in await peer.post(challenge, body)])
    envelopes = read_bundle(KEY, answer, purpose="sync answer", context=challenge)
    summaries = [e.message for e in envelopes if isinstance(e.message, Summary)]
    carried = [op for e in envelopes if isinstance(e.message, Ops) for op in e.message.ops]
    return (summaries[0] if summaries else None), carried


async def test_a_replayed_batch_changes_nothing_and_gets_the_same_answer(
    cloud: Cloud, hub: Hub
) -> None:
    served = cloud.start()
    link = await joined(hub, cloud, served, "one")
    batch = relayed(300)
    async with client_for(link) as client, cloud.opened() as (store, _):
        said = await _push(peer_for(client, served), hub, batch)
        held = (await store.state_hash(), await store.counts(), await store.version_vector())
        again = await _push(peer_for(client, served), hub, batch)
        assert (
            await store.state_hash(),
            await store.counts(),
            await store.version_vector(),
        ) == held
    assert said == again
    assert said[0] is not None
    assert said[0].vector.get(ORIGIN) == 300


async def test_a_replayed_request_is_refused_and_gets_nothing(cloud: Cloud, hub: Hub) -> None:
    served = cloud.start()
    link = await joined(hub, cloud, served, "one")
    async with client_for(link) as client, cloud.opened() as (store, _):
        challenge = bytes.fromhex((await client.get(f"{served.url}/sync/v1/challenge")).text)

        async def each() -> AsyncIterator[Op]:
            for op in relayed(10):
                yield op

        body = b"".join([c async for c in bundle_chunks(
            hub, KEY, await our_summary(hub), each(), purpose="sync request", context=challenge
        )])  # fmt: skip
        headers = {"fieldkit-challenge": challenge.hex()}
        first = await client.post(f"{served.url}/sync/v1", content=body, headers=headers)
        assert first.status_code == 200
        held = await store.state_hash()
        replayed = await client.post(f"{served.url}/sync/v1", content=body, headers=headers)
        assert replayed.status_code == 403
        assert "used sync challenge" in replayed.text
        assert await store.state_hash() == held


async def test_an_unknown_or_revoked_hub_and_a_used_code_are_refused(
    cloud: Cloud, hub: Hub, hub2: Hub
) -> None:
    served = cloud.start()
    link = await joined(hub, cloud, served, "one")
    stranger = dataclasses.replace(link, credential="fkhub1.not-a-credential-of-this-cloud")
    with pytest.raises(FieldkitError, match="unknown hub"):
        await sync_now(hub, stranger, 20)
    with pytest.raises(FieldkitError, match="unknown, used or expired enrollment code"):
        await join_cloud(hub2, served.url, cloud.codes["one"], cloud.ca_pem)
    await hub.submit(Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside"))
    async with cloud.opened() as (store, _):
        assert await store.revoke_hub("one", 0)
        with pytest.raises(FieldkitError, match="revoked"):
            await sync_now(hub, link, 20)
        assert await store.counts() == {}
    async with client_for(link) as client:  # the cloud answers its own hostname only
        other = await client.get(f"https://127.0.0.1:{served.port}/sync/v1/challenge",
                                 extensions={"sni_hostname": "localhost"})  # fmt: skip
    assert other.status_code == 400


async def test_an_enrollment_code_lasts_72_hours_and_then_is_refused(cloud: Cloud) -> None:
    async with cloud.opened() as (store, _):
        old = await enroll(store, "late", None)
        fresh = await enroll(store, "early", None)
        issued = int(time.time())
        assert await redeem(store, old.secret, 0x51, issued + CODE_VALID_S + 2) is None
        taken = await redeem(store, fresh.secret, 0x52, issued + CODE_VALID_S - 60)
        assert taken is not None
        assert taken[0] == "early"
        # the late hub is enrolled again: its new code works
        again = await enroll(store, "late", None)
        assert await redeem(store, again.secret, 0x51) is not None


async def test_only_consented_contacts_reach_the_cloud_and_a_redaction_erases_them_there(
    cloud: Cloud, hub: Hub
) -> None:
    served = cloud.start()
    link = await joined(hub, cloud, served, "one")
    ana = Contact("Ana", "555 0100", "blue door")
    shared = (await hub.submit(Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside",
                                     contact=ana, share_contact=True))).record  # fmt: skip
    private = (await hub.submit(Draft(Kind.NEED, Category.FOOD, Urgency.TODAY, "riverside",
                                      contact=Contact("Bo", "555 0199", "")))).record  # fmt: skip
    await sync_now(hub, link, 20)
    async with cloud.opened() as (store, _):
        there = await store.get(shared.id)
        assert there is not None
        assert there.contact == ana
        withheld = await store.get(private.id)
        assert withheld is not None
        assert withheld.contact == Contact()
        await hub.redact(shared.id)
        await sync_now(hub, link, 20)
        erased = await store.get(shared.id)
        assert erased is not None
        assert erased.redacted
        assert erased.contact == Contact()
        logged = [repr(op) async for op, _ in store.iter_ops()]
    assert not any(secret in text for text in logged for secret in ("Ana", "555 0100", "Bo"))


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_two_cloud_processes_on_one_postgresql_serve_hubs_syncing_through_both(
    cloud: Cloud, hub: Hub, hub2: Hub
) -> None:
    a, b = cloud.start(), cloud.start()
    one, two = await joined(hub, cloud, a, "one"), await joined(hub2, cloud, b, "two")
    through = [(one, two), (dataclasses.replace(one, url=b.url),
                            dataclasses.replace(two, url=a.url))]  # fmt: skip
    for turn in range(4):
        by_one, by_two = through[turn % 2]
        await hub.submit(Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside", f"{turn}"))
        await hub2.submit(Draft(Kind.OFFER, Category.FOOD, Urgency.FLEXIBLE, "riverside"))
        await sync_now(hub, by_one, 20)
        await sync_now(hub2, by_two, 20)
    await sync_now(hub, one, 20)
    async with client_for(one) as ca, client_for(one) as cb:  # asked at one, posted at the other
        mixed = Peer(http_peer(ca, a.url).challenge, http_peer(cb, b.url).post)
        summary, _ = await _push(mixed, hub, [])
    async with cloud.opened() as (store, _):
        assert summary is not None
        assert summary.vector == await store.version_vector()
        assert len(await hashes(store, hub.store, hub2.store)) == 1
        assert sum((await store.counts()).values()) == 8


class _Stop(Exception):
    pass


async def test_a_hub_retries_a_silent_cloud_with_doubling_back_off_then_syncs_by_itself(
    cloud: Cloud, hub: Hub
) -> None:
    served = cloud.start()
    await joined(hub, cloud, served, "one")
    served.kill()  # the cloud is away
    settings = dataclasses.replace(
        load_config(cloud.config, {}).cloud, retry_min_s=10, retry_max_s=40, interval_s=3600
    )
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 5:
            raise _Stop

    with pytest.raises(_Stop):
        await keep_syncing(hub, settings, sleep=sleep, random_fraction=lambda: 0.0)
    assert waits == [10, 20, 40, 40, 40]
    status = await sync_status(hub.store)
    assert status is not None
    assert status["state"] == "failed"
    assert "cannot reach" in status["error"]

    cloud.start(served.port)  # connectivity returns
    need = (await hub.submit(Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside"))).record
    fast = dataclasses.replace(settings, retry_min_s=0.05)
    running = asyncio.create_task(keep_syncing(hub, fast))
    try:
        async with cloud.opened() as (store, _), asyncio.timeout(20):
            while await store.get(need.id) is None:  # noqa: ASYNC110 -- another process's
                await asyncio.sleep(0.05)
            later = (
                await hub.submit(Draft(Kind.OFFER, Category.FOOD, Urgency.FLEXIBLE, "x"))
            ).record
            # a change is sent without waiting for the interval
            while await store.get(later.id) is None:  # noqa: ASYNC110 -- another process's
                await asyncio.sleep(0.05)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    status = await sync_status(hub.store)
    assert status is not None
    assert status["state"] in ("done", "syncing")
    assert status["last_sync_at"] > 0


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_the_commands_join_sync_by_hand_and_show_the_last_sync(
    cloud: Cloud, tmp_path: Path
) -> None:
    served = cloud.start()
    config = str(tmp_path / "hub" / "fieldkit.toml")
    run("init", "--dir", str(tmp_path / "hub"), "--network-key", format_key(KEY))
    run("--config", config, "import", str(Path(__file__).parents[2] / "fieldkit/data/sample.jsonl"))
    ca = tmp_path / "ca.pem"
    said = run("--config", config, "cloud", "join", served.url, cloud.codes["two"], "--ca", str(ca))
    assert "as “two”" in said
    synced = run("--config", config, "sync", "cloud")
    assert "sent 28 in 2 requests" in synced
    shown = run("--config", config, "status")
    assert f"cloud    {served.url} as “two”" in shown
    assert "last sync 0 s ago: sent 28" in shown or "last sync 1 s ago: sent 28" in shown
    listed = run("--config", str(cloud.config), "cloud", "hubs")
    assert re.search(r"^two +[0-9a-f]{8}  joined .* 28 ops delivered$", listed, re.M)
    with httpx.Client(
        verify=ssl.create_default_context(cafile=ca)
    ) as client:  # the console, on the cloud's own port
        page = client.get(f"{served.url}/", follow_redirects=True)
    assert page.status_code == 200
    assert "/signin" in str(page.url)


async def test_a_hub_pins_a_self_made_cloud_certificate_by_the_fingerprint_its_code_carries(
    tmp_path: Path, hub: Hub, hub2: Hub
) -> None:
    await asyncio.to_thread(  # the command runs its own event loop
        run, "cloud", "init", "--dir", str(tmp_path / "cloud"), "--hostname", "localhost",
        "--network-key", format_key(KEY),
    )  # fmt: skip
    config = tmp_path / "cloud" / "fieldkit.toml"
    codes = [
        (await asyncio.to_thread(run, "--config", str(config), "cloud", "enroll", n)).split()[-1]
        for n in ("one", "two")
    ]
    made = Cloud(config, "", {})
    try:
        served = await asyncio.to_thread(made.start)
        await ensure_network_key(hub.store, KEY)
        link, _ = await join_cloud(hub, served.url, codes[0], None)  # trust from the code
        assert "BEGIN CERTIFICATE" in link.ca_pem
        await hub.submit(Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside"))
        assert (await sync_now(hub, link, 20)).sent == 1
        secret, _, pin = codes[1].rpartition(".")
        forged = f"{secret}.{'0' * len(pin)}"  # a code naming another certificate
        with pytest.raises(FieldkitError, match="do not join"):
            await join_cloud(hub2, served.url, forged, None)
    finally:
        for served in made.served:
            served.kill()


@pytest.mark.parametrize("year", [-1, +1])
async def test_a_hub_a_year_off_takes_the_clouds_time_from_its_answers_and_corrects_its_stamps(
    cloud: Cloud, hub: Hub, year: int
) -> None:
    """Issue 11: the cloud is a clock we trust (its HTTPS ``Date``, over the pinned link), as
    the radio's GPS time is: a hub whose clock is a year off corrects its own stamps by it."""
    import time

    from fieldkit.core.clock import physical_ms

    served = cloud.start()
    link = await joined(hub, cloud, served, "one")
    off = year * 365 * 86_400_000
    hub.wall = lambda: time.time_ns() // 1_000_000 + off  # the injected clock, a year off
    assert hub.time_fix.correction_ms(hub.wall()) is None  # no trusted clock heard yet
    await sync_now(hub, link, 20)
    clock = (await hub.status("one"))["clock"]
    assert clock["trusted_source"] == "cloud"
    assert clock["disagrees_with_trusted"] is True
    assert abs(clock["offset_ms"] + off) < 5_000  # the whole year taken back, to seconds
    made = await hub.submit(Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside"))
    ops = [op for op, _ in await hub.store.ops_for_offer({hub.id: [(1, 1)]}, limit=1)]
    assert abs(physical_ms(ops[0].hlc) - time.time() * 1000) < 5_000  # stamped at true time
    assert made.new


async def test_a_key_rotation_and_a_revocation_reach_the_cloud_and_hubs_through_it(
    cloud: Cloud, hub: Hub, hub2: Hub
) -> None:
    served = cloud.start()
    one, two = await joined(hub, cloud, served, "one"), await joined(hub2, cloud, served, "two")
    await sync_now(hub, one, 20)  # key notices traded: each side pins the other's exchange key
    new = await (await KeyRing.open(hub)).rotate()
    need = (await hub.submit(Draft(Kind.NEED, Category.FOOD, Urgency.TODAY, "riverside"))).record
    await sync_now(hub, one, 20)  # sealed under the new key: the rotation went first
    async with cloud.opened() as (store, _):
        assert await network_key(store) == new
        assert await store.get(need.id) is not None
    await sync_now(hub2, two, 20)  # hub2 never met hub: it takes the new key from the cloud
    assert (await KeyRing.open(hub2)).keys.current == new
    assert await hub2.store.get(need.id) is not None
    # hub revokes hub2 (a stolen hub): the cloud learns it and refuses hub2's later ops
    await sync_now(hub2, two, 20)
    _, wrapped_for = await (await KeyRing.open(hub)).revoke(hub2.id)
    assert wrapped_for  # the cloud's exchange key, pinned at the first sync
    await sync_now(hub, one, 20)
    later = (await hub2.submit(Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "port"))).record
    with contextlib.suppress(FieldkitError):  # under a key the cloud still takes in the grace
        await sync_now(hub2, two, 20)
    async with cloud.opened() as (store, _):
        assert await store.get(later.id) is None  # made after its revocation: refused
