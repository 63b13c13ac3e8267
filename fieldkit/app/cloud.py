"""The cloud aggregator and a hub's link to it: opening the cloud's database, enrollment codes
and per-hub credentials, and the hub that records which enrolled hub delivered each op.

**Enrollment.** ``fieldkit cloud enroll NAME`` on the cloud makes a one-time code
(``fkcloud1.`` + 18 random bytes, base64url, and — when the cloud serves its self-made
certificate — ``.`` + that certificate's SHA-256, so the hub can pin it). The cloud keeps only
the code's SHA-256. ``fieldkit cloud join URL CODE`` on the hub trades it, over TLS, for a
credential (``fkhub1.`` + 32 random bytes) that the hub keeps in its database with the cloud's
address and the certificate it trusts; the cloud keeps the credential's SHA-256 (the secrets
are random: a plain hash is enough, and a stolen database reveals no credential). Every sync
request carries the credential; an unknown one is refused (401), a revoked hub's too (403).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import inspect
import json
import logging
import random
import secrets
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509

from fieldkit.app.certificate import fingerprint
from fieldkit.app.config import CloudSettings
from fieldkit.app.hub import Hub
from fieldkit.app.timefix import http_date_ms
from fieldkit.core.ops import Op
from fieldkit.errors import ConfigError, FieldkitError
from fieldkit.store.cloud_port import CloudPort
from fieldkit.store.port import StorePort
from fieldkit.sync.cloud import CloudReport

log = logging.getLogger(__name__)

CODE_PREFIX = "fkcloud1."
CREDENTIAL_PREFIX = "fkhub1."
CODE_BYTES = 18
#: An enrollment code not used within this time is refused (enroll the hub again).
CODE_VALID_S = 72 * 3600
CREDENTIAL_BYTES = 32
LINK_KEY = "cloud_link"  # meta: the cloud this hub joined (address, credential, trust)
STATUS_KEY = "cloud_sync"  # meta: the last sync with it (when, how far, what went wrong)
CONNECT_S = 10.0
ENROLLED_KEY = "cloud_role"  # meta on the cloud's own database: it is a cloud


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


# --- the cloud's database -------------------------------------------------------------------


async def open_cloud_store(settings: CloudSettings) -> CloudPort:
    """The cloud's database: ``sqlite:///PATH`` (the config made it absolute) or
    ``postgresql://…`` (in ``cloud.schema`` if set)."""
    url = settings.database
    if url.startswith("sqlite:///"):
        from fieldkit.store.sqlite import Store

        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return await Store.open(path)
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from fieldkit.store.postgres import PostgresStore
        except ImportError:  # pragma: no cover - the cloud extra is missing
            raise ConfigError(
                "cloud.database", "PostgreSQL needs `pip install 'fieldkit[cloud]'`"
            ) from None
        return await PostgresStore.open(url, schema=settings.schema or None)
    raise ConfigError("cloud.database", "not set: run `fieldkit cloud init --database URL`")


# --- codes and credentials ------------------------------------------------------------------


@dataclass(frozen=True)
class EnrollCode:
    secret: str  # what the cloud keeps the hash of
    fingerprint: str | None  # the cloud's certificate, when the hub must pin it

    def __str__(self) -> str:
        pin = f".{self.fingerprint.replace(':', '').lower()}" if self.fingerprint else ""
        return f"{CODE_PREFIX}{self.secret}{pin}"


def new_code(fingerprint_text: str | None) -> EnrollCode:
    return EnrollCode(_b64(secrets.token_bytes(CODE_BYTES)), fingerprint_text)


def parse_code(text: str) -> EnrollCode:
    cleaned = "".join(text.split())
    if not cleaned.startswith(CODE_PREFIX):
        raise ConfigError("code", "not a cloud enrollment code (it starts with fkcloud1.)")
    secret, _, pin = cleaned.removeprefix(CODE_PREFIX).partition(".")
    try:
        ok = len(_unb64(secret)) == CODE_BYTES
        raw_pin = bytes.fromhex(pin) if pin else None
    except (binascii.Error, ValueError):
        ok, raw_pin = False, None
    if not ok or (pin and (raw_pin is None or len(raw_pin) != 32)):
        raise ConfigError("code", "damaged: it was cut short or mistyped; copy it again")
    return EnrollCode(secret, ":".join(f"{b:02X}" for b in raw_pin) if raw_pin else None)


async def enroll(store: CloudPort, name: str, fingerprint_text: str | None) -> EnrollCode:
    """A new one-time code for the hub ``name`` (enrolling it again voids its credential)."""
    name = name.strip()
    if not name or len(name) > 80 or any(ord(ch) < 32 for ch in name):
        raise ConfigError("NAME", "a hub's name is 1 to 80 characters of text")
    code = new_code(fingerprint_text)
    await store.enroll_hub(name, digest(code.secret), int(time.time()))
    return code


async def redeem(
    store: CloudPort, secret: str, hub_id: int, now: int | None = None
) -> tuple[str, str] | None:
    """The hub's name and its new credential for an unused code at most
    :data:`CODE_VALID_S` old, or None."""
    credential = CREDENTIAL_PREFIX + _b64(secrets.token_bytes(CREDENTIAL_BYTES))
    now = int(time.time()) if now is None else now
    name = await store.redeem_code(
        digest(secret), digest(credential), hub_id, now, now - CODE_VALID_S
    )
    return None if name is None else (name, credential)


# --- the hub's side: its link to the cloud --------------------------------------------------


@dataclass(frozen=True)
class CloudLink:
    url: str  # https://cloud.example.org:8443
    name: str  # this hub's name at the cloud
    credential: str
    ca_pem: str = ""  # the certificate (or CA) the hub trusts for the cloud; "" = the system's

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cadata=self.ca_pem or None)
        if self.ca_pem:  # a pinned self-made certificate is its own anchor
            context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        return context

    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.credential}"}


async def saved_link(store: StorePort) -> CloudLink | None:
    text = await store.meta(LINK_KEY)
    return None if text is None else CloudLink(**json.loads(text))


async def save_link(store: StorePort, link: CloudLink) -> None:
    await store.set_meta(LINK_KEY, json.dumps(asdict(link)))


def check_cloud_url(text: str) -> str:
    url = text.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.path:
        raise ConfigError(
            "URL", f"expected the cloud's address like https://cloud.example.org, got {text!r}"
        )
    return url


async def pinned_certificate(url: str, expected: str) -> str:
    """The cloud's certificate (PEM), fetched without trusting anyone and checked against the
    fingerprint its enrollment code carries; a different one is refused."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        async with asyncio.timeout(CONNECT_S):
            _, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=host)
    except (OSError, TimeoutError) as exc:
        raise FieldkitError(f"cannot reach {url}: {exc}") from None
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
    cert = x509.load_der_x509_certificate(der)
    if fingerprint(cert) != expected:
        raise FieldkitError(
            f"{url} shows certificate {fingerprint(cert)}, not the {expected} its code names:"
            " do not join (someone may stand in its place)"
        )
    return ssl.DER_cert_to_PEM_cert(der)


async def join_cloud(
    hub: Hub, url: str, code_text: str, ca_pem: str | None, request_timeout: float = 30.0
) -> tuple[CloudLink, str]:
    """Trade an enrollment code for this hub's credential and keep the link (the cloud's
    address, the credential, the certificate trusted: ``ca_pem``, else the one the code pins,
    else the system's CAs); returns it and the cloud's hub id."""
    import httpx

    url = check_cloud_url(url)
    code = parse_code(code_text)
    if ca_pem is None:
        ca_pem = await pinned_certificate(url, code.fingerprint) if code.fingerprint else ""
    probe = CloudLink(url, "", "", ca_pem)
    try:
        async with httpx.AsyncClient(verify=probe.ssl_context(), timeout=request_timeout) as c:
            reply = await c.post(
                f"{url}/cloud/v1/join", json={"code": str(code), "hub": f"{hub.id:08x}"}
            )
    except (httpx.HTTPError, ssl.SSLError) as exc:
        raise FieldkitError(f"cannot reach {url}: {exc}") from None
    if reply.status_code != 200:
        raise FieldkitError(f"{url} refused: {reply.text.strip() or reply.status_code}")
    answer = reply.json()
    link = CloudLink(url, str(answer["name"]), str(answer["credential"]), ca_pem)
    await save_link(hub.store, link)
    return link, str(answer["cloud"])


# --- the cloud's side: who delivered each op ------------------------------------------------


class Delivering(Hub):
    """The cloud hub as one enrolled hub's request sees it: what it receives is stored with
    the name of the hub that delivered it (the audit), in the same transaction."""

    def __init__(self, cloud: Hub, store: CloudPort, delivered_by: str) -> None:
        super().__init__(cloud.store, cloud.id, cloud.clock, cloud.wall, cloud.random_bits)
        self.skew = cloud.skew
        self.revoked = cloud.revoked  # the network's revocations, as the cloud's keys learnt
        self.on_change = cloud.on_change
        self.cloud_store = store
        self.delivered_by = delivered_by

    async def receive(self, ops: Iterable[Op]) -> int:
        ops = [op for op in ops if not self._made_after_revocation(op)]
        for op in ops:
            self.clock.observe(op.hlc, self.now_ms())
        async with self.cloud_store.transaction() as tx:
            added = await tx.ingest(ops)
            for op in added:
                await tx.record_delivery(op, self.delivered_by)
        new = len(added)
        if new:
            self._changed()
        return new


# --- a hub's last sync with its cloud -------------------------------------------------------


async def sync_status(store: StorePort) -> dict[str, Any] | None:
    text = await store.meta(STATUS_KEY)
    return None if text is None else dict(json.loads(text))


async def cloud_status(store: StorePort) -> dict[str, Any] | None:
    """The cloud this hub joined and its last sync with it, or the one under way (None if it
    joined none): for ``fieldkit status`` and the console's hub status."""
    link = await saved_link(store)
    if link is None:
        return None
    return {"url": link.url, "name": link.name, **(await sync_status(store) or {})}


async def save_sync_status(store: StorePort, status: dict[str, Any]) -> None:
    await store.set_meta(STATUS_KEY, json.dumps(status))


# --- a hub syncing with its cloud -----------------------------------------------------------


async def sync_now(
    hub: Hub,
    link: CloudLink,
    request_timeout: float,
    *,
    page: int | None = None,
    pull: bool = True,
    progress: Callable[[CloudReport], object] | None = None,
) -> CloudReport:
    """One sync with the cloud over HTTPS (its certificate checked against what the hub
    trusts), its progress and outcome kept in the hub's metadata for ``fieldkit status``. Key
    notices are traded first, as between hubs: a rotation or a revocation reaches the cloud
    (or comes from it) before the sync, which is then sealed under the network's key now."""
    import httpx

    from fieldkit.app.keyring import KeyRing
    from fieldkit.sync.cloud import PAGE, page_header, sync_cloud
    from fieldkit.sync.http import http_peer, trade_notices

    page = page or PAGE
    started = time.time()
    status: dict[str, Any] = dict(await sync_status(hub.store) or {})
    status.update(url=link.url, state="syncing", attempt_at=started)
    await save_sync_status(hub.store, status)

    async def told(report: CloudReport) -> None:  # kept, so the console and status see it
        status.update(progress=asdict(report))
        await save_sync_status(hub.store, status)
        if progress is not None and inspect.isawaitable(shown := progress(report)):
            await shown

    headers = {**link.headers(), **page_header(page, pull)}

    async def cloud_time(response: httpx.Response) -> None:  # a clock we trust: see timefix
        said = http_date_ms(response.headers.get("date"))
        if said is not None:
            hub.time_fix.observe("cloud", said, hub.wall())

    try:
        async with httpx.AsyncClient(
            verify=link.ssl_context(), timeout=request_timeout, headers=headers,
            event_hooks={"response": [cloud_time]},
        ) as client:  # fmt: skip
            ring = await KeyRing.open(hub)
            await trade_notices(client, link.url, ring)  # a cloud of an earlier release: none
            report = await sync_cloud(hub, ring.keys.current, http_peer(client, link.url),
                                      page=page, pull=pull, progress=told)  # fmt: skip
    except Exception as exc:
        status.update(state="failed", error=str(exc) or type(exc).__name__, failed_at=time.time())
        await save_sync_status(hub.store, status)
        raise
    status.update(state="done", error="", last_sync_at=time.time(), progress=asdict(report),
                  seconds=round(time.time() - started, 3))  # fmt: skip
    await save_sync_status(hub.store, status)
    return report


async def keep_syncing(
    hub: Hub,
    settings: CloudSettings,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    random_fraction: Callable[[], float] = random.random,
) -> None:
    """Until cancelled, on a hub that joined a cloud: sync with it every ``interval_s`` (at
    once after a change, at most every ``retry_min_s``), and while it does not answer, try
    again after ``retry_min_s``, doubling up to ``retry_max_s`` (with a tenth of jitter)."""
    backoff = settings.retry_min_s
    changed = asyncio.Event()
    hub.on_change.append(changed.set)
    try:
        while True:
            link = await saved_link(hub.store)
            if link is None:
                return
            changed.clear()
            try:
                await sync_now(hub, link, settings.timeout_s)
            except Exception as exc:  # never let the loop die: the hub serves residents on
                log.info("cloud %s did not answer (%s); again in %.0f s", link.url, exc, backoff)
                await sleep(backoff * (1 + random_fraction() / 10))
                backoff = min(backoff * 2, settings.retry_max_s)
                continue
            backoff = settings.retry_min_s
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(settings.interval_s):
                    await changed.wait()
            await sleep(settings.retry_min_s if changed.is_set() else 0)
    finally:
        hub.on_change.remove(changed.set)
