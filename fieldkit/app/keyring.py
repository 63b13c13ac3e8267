"""A hub's keys as the network moves: the network key and the one before it, the hub's own
exchange key and its neighbours', the key notices it passes on, and revocations.

Every carrier (radio gossip, HTTP sync, bundles) hands the notices it carries to
:meth:`KeyRing.take` and asks :meth:`KeyRing.outgoing` what to carry (the notices themselves
are :mod:`fieldkit.wire.key_notice`):

* ``fieldkit network rotate-key`` (no ``--to``) seals the new key under the old one in a
  *rotate* notice; every hub that reads it under its current key moves to the new key (the
  old one still accepted for the grace the notice says) and passes the notice on while its
  own grace lasts. A hub moved by hand (``--to``) passes on only what it received.
* ``fieldkit network revoke HUB`` makes a new key and wraps it for every hub whose exchange
  key it holds, except HUB's, in *revoke* notices sealed under the old key: each hub reads
  that HUB is revoked — its ops beyond the last seq the revoking hub held of it are refused
  from then on, from any carrier and whoever relays them — and, if a wrap is for it, moves.
  The stolen hub reads the notice but not the new key.
* Each hub announces its exchange key (X25519, made on first use and kept in the store);
  a hub pins the first key it learns for a hub id and counts any other as a conflict.

A hub that missed the whole grace (switched off) hears the network's hubs under a key it
does not hold: it says so (:meth:`KeyRing.status`, ``fieldkit status``) with the way back:
the join code from any moved hub (``fieldkit network show --secrets``), taken with
``fieldkit network join --force CODE``.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from fieldkit.app.hub import REVOKED_KEY, Hub
from fieldkit.app.netkey import (
    GRACE_DAYS,
    KEY_BYTES,
    network_key,
    previous_keys,
    rotate_network_key,
)
from fieldkit.app.network import save_network, saved_network
from fieldkit.core.ops import hub_name
from fieldkit.errors import DecodeError
from fieldkit.wire import key_notice as kn

EXCHANGE_META = "exchange_key"  # this hub's X25519 private key (base64)
PEERS_META = "exchange_keys"  # {hub hex: X25519 public key (base64)}, pinned
HELD_META = "key_notices"  # [notice (base64)]: rotate and revoke notices passed on
STALE_META = "key_out_of_date"  # {hub hex: frames}: known hubs heard under a key we lack
MAX_HELD = 64
#: Frames from known hubs under no key we hold, with none readable since, before the hub says
#: its key is out of date (a frame or two may be noise or another network on the channel).
STALE_AFTER = 3
REJOIN = (
    "this hub's network key is out of date: the network's hubs send under a key it does not "
    "hold (it missed a key rotation's grace, or it was revoked). To rejoin: on a hub of the "
    "network run `fieldkit network show --secrets` and, here, `fieldkit network join --force "
    "CODE` with the join code it shows."
)

#: For a sync or bundle refused under every key this hub holds.
REJOIN_HINT = (
    "if the network moved to a new key that this hub missed (a rotation's grace ended while "
    "it was away, or it was revoked), rejoin: on a hub of the network run `fieldkit network "
    "show --secrets`, and here `fieldkit network join --force CODE` with the join code it shows"
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


@dataclasses.dataclass(frozen=True)
class Keys:
    current: bytes
    old: tuple[bytes, ...]
    until_ms: int | None


class KeyRing:
    def __init__(self, hub: Hub, private: X25519PrivateKey, keys: Keys) -> None:
        self.hub = hub
        self.private = private
        self.keys = keys
        self.peers: dict[int, bytes] = {}
        self.held: list[bytes] = []
        self.stale: dict[int, int] = {}
        self.stats: Counter[str] = Counter()
        self.last_announce: kn.Announce | None = None  # the last announce taken

    @classmethod
    async def open(cls, hub: Hub) -> KeyRing:
        text = await hub.store.meta(EXCHANGE_META)
        if text is None:
            private = X25519PrivateKey.generate()
            await hub.store.set_meta(EXCHANGE_META, _b64(private.private_bytes_raw()))
        else:
            private = X25519PrivateKey.from_private_bytes(_unb64(text))
        ring = cls(hub, private, Keys(b"", (), None))
        await ring.reload()
        hub.key_status = ring.status
        return ring

    async def reload(self) -> list[bytes]:
        """Read the keys, pins, held notices and revocations again (another process, such as
        ``fieldkit network rotate-key``, may have changed them); returns the notices held now
        that were not before (to broadcast)."""
        store, wall = self.hub.store, self.hub.wall()
        old, until = await previous_keys(store, wall)
        self.keys = Keys(await network_key(store), old, until)
        peers = json.loads(await store.meta(PEERS_META) or "{}")
        self.peers = {int(h, 16): _unb64(p) for h, p in peers.items()}
        before = set(self.held)
        self.held = [_unb64(b) for b in json.loads(await store.meta(HELD_META) or "[]")]
        revoked = json.loads(await store.meta(REVOKED_KEY) or "{}")
        self.hub.revoked.update({int(h, 16): int(s) for h, s in revoked.items()})
        self.stale = {int(h, 16): n for h, n in json.loads(await store.meta(STALE_META) or "{}")
                      .items()}  # fmt: skip
        return [blob for blob in self.held if blob not in before]

    # --- what the carriers ask -------------------------------------------------------

    def accepted(self) -> tuple[bytes, ...]:
        """The keys taken now: the current one, and the previous one during its grace."""
        until = self.keys.until_ms
        in_grace = until is not None and self.hub.wall() < until
        return (self.keys.current, *(self.keys.old if in_grace else ()))

    def in_grace(self) -> bool:
        return len(self.accepted()) > 1

    @property
    def public(self) -> bytes:
        return self.private.public_key().public_bytes_raw()

    def announce(self, ask: int = 0) -> bytes:
        """Our exchange key; ``ask``: a hub whose exchange key we lack, to announce its own."""
        return kn.seal(self.keys.current, kn.Announce(self.hub.id, self.public, ask))

    def moving(self) -> list[bytes]:
        """The rotate and revoke notices to pass on: while the grace lasts, else none."""
        return list(self.held) if self.in_grace() else []

    def outgoing(self) -> list[bytes]:
        """What to carry to another hub (HTTP sync, a bundle): our exchange key and those we
        pinned (sealed under the current key), and the notices to pass on."""
        pins = [kn.seal(self.keys.current, kn.Announce(h, p)) for h, p in sorted(self.peers.items())
                if h not in self.hub.revoked]  # fmt: skip
        return [self.announce(), *pins, *self.moving()]

    async def take_many(self, blobs: Iterable[bytes]) -> Counter[str]:
        outcomes: Counter[str] = Counter()
        for blob in blobs:
            outcomes[await self.take(blob)] += 1
        return outcomes

    async def take(self, blob: bytes) -> str:
        """Act on one notice; returns what it did: ``moved`` (to a new key), ``revoked``
        (learned of a revocation), ``learned`` (an exchange key), ``known`` (nothing new),
        ``stale`` (under a key we moved away from), ``conflict`` (another exchange key for a
        pinned hub), ``refused`` (under no key we hold, or not a notice)."""
        try:
            notice, under = kn.open_notice(self.accepted(), blob)
        except DecodeError:
            return self._count("refused")
        if isinstance(notice, kn.Announce):
            self.last_announce = notice
            return self._count(await self._pin(notice))
        current = under == self.keys.current
        if isinstance(notice, kn.Rotate):
            if not current:
                return self._count("stale")
            await self._hold(blob)
            await self._move(notice.new_key, notice.grace_s)
            return self._count("moved")
        outcome = "known"
        if notice.revoked not in self.hub.revoked:
            await self._revoke(notice.revoked, notice.kept_seq)
            self.stats["revocations learned"] += 1
            outcome = "revoked"
        await self._hold(blob)
        new = notice.unwrap(self.hub.id, self.private) if current else None
        if new is not None and len(new) == KEY_BYTES and new != self.keys.current:
            await self._move(new, notice.grace_s)
            outcome = "moved"
        return self._count(outcome)

    def _count(self, outcome: str) -> str:
        self.stats[outcome] += 1
        return outcome

    async def _pin(self, notice: kn.Announce) -> str:
        if notice.hub == self.hub.id:
            return "known"
        pinned = self.peers.get(notice.hub)
        if pinned is not None:
            return "known" if pinned == notice.public else "conflict"
        self.peers[notice.hub] = notice.public
        await self.hub.store.set_meta(PEERS_META, json.dumps(
            {f"{h:08x}": _b64(p) for h, p in sorted(self.peers.items())}))  # fmt: skip
        return "learned"

    async def _hold(self, blob: bytes) -> None:
        if blob in self.held:
            return
        self.held = [*self.held, blob][-MAX_HELD:]
        await self.hub.store.set_meta(HELD_META, json.dumps([_b64(b) for b in self.held]))

    async def _revoke(self, hub: int, kept_seq: int) -> None:
        self.hub.revoked[hub] = kept_seq
        await self.hub.store.set_meta(REVOKED_KEY, json.dumps(
            {f"{h:08x}": s for h, s in sorted(self.hub.revoked.items())}))  # fmt: skip

    async def _move(self, new: bytes, grace_s: float) -> None:
        store = self.hub.store
        await rotate_network_key(store, self.hub.wall(), new, grace_days=grace_s / 86_400)
        network = await saved_network(store)
        if network is not None and network.key != new:  # its join code carries the new key
            await save_network(store, dataclasses.replace(network, key=new))
        await store.set_meta(STALE_META, "{}")
        await self.reload()

    # --- the commands ------------------------------------------------------------------

    async def rotate(self, new: bytes | None = None, grace_days: float = GRACE_DAYS) -> bytes:
        """``fieldkit network rotate-key``: move to ``new`` (a fresh key if None). A fresh key
        is announced to the network in a notice sealed under the old one; a key given (one
        another hub made) is not: that hub's notice already travels."""
        old = self.keys.current
        key = await rotate_network_key(self.hub.store, self.hub.wall(), new,
                                       grace_days=grace_days)  # fmt: skip
        if new is None and key != old:
            await self._hold(kn.seal(old, kn.Rotate(self.hub.id, round(grace_days * 86_400), key)))
        if key != old:
            await self._move(key, grace_days * 86_400)  # the saved join code, the state
        return key

    async def revoke(self, revoked: int, grace_days: float = GRACE_DAYS) -> tuple[bytes, list[int]]:
        """``fieldkit network revoke HUB``: refuse ``revoked``'s ops beyond those held now, and
        move the network to a new key wrapped for every pinned hub but it. Returns the key
        and the hubs it was wrapped for."""
        if revoked == self.hub.id:
            raise ValueError("a hub cannot revoke itself")
        vector, beyond = await self.hub.store.version_vector(), await self.hub.store.held_beyond()
        kept = max([vector.get(revoked, 0), *beyond.get(revoked, ())])
        recipients = [(h, p) for h, p in sorted(self.peers.items())
                      if h != revoked and h not in self.hub.revoked]  # fmt: skip
        old, new = self.keys.current, X25519PrivateKey.generate().private_bytes_raw()
        grace_s = round(grace_days * 86_400)
        notices = kn.revoke_notices(self.hub.id, grace_s, revoked, kept, new, recipients)
        await self._revoke(revoked, kept)
        for notice in notices:
            await self._hold(kn.seal(old, notice))
        await self._move(new, grace_s)
        return new, [h for h, _ in recipients]

    # --- a hub left behind ---------------------------------------------------------------

    async def unreadable_from(self, sender: int) -> None:
        """A frame from ``sender``, a hub this one knows, under no key it holds."""
        self.stale[sender] = self.stale.get(sender, 0) + 1
        if self.stale[sender] in (1, STALE_AFTER):  # not a write per frame
            await self.hub.store.set_meta(STALE_META, json.dumps(
                {f"{h:08x}": n for h, n in self.stale.items()}))  # fmt: skip

    async def readable_from(self, sender: int) -> None:
        if self.stale.pop(sender, None) is not None:
            await self.hub.store.set_meta(STALE_META, json.dumps(
                {f"{h:08x}": n for h, n in self.stale.items()}))  # fmt: skip

    def out_of_date(self) -> bool:
        return any(n >= STALE_AFTER for n in self.stale.values())

    def status(self) -> dict[str, Any]:
        until = self.keys.until_ms if self.in_grace() else None
        view: dict[str, Any] = {
            "state": "out of date" if self.out_of_date() else "moving" if until else "current",
            "previous_key_accepted_until_ms": until,
            "exchange_keys_pinned": len(self.peers),
            "notices_held": len(self.held),
            "revoked": {hub_name(h): s for h, s in sorted(self.hub.revoked.items())},
            "revoked_ops_refused": self.hub.refused_revoked,
            "notices": dict(self.stats),
        }
        if self.hub.id in self.hub.revoked:
            view["state"] = "revoked"
        if view["state"] in ("out of date", "revoked"):
            view["message"] = REJOIN
        return view


async def stale_view(hub: Hub) -> dict[str, Any] | None:
    """For ``fieldkit status`` without the running hub: the key's state as last kept."""
    stale = json.loads(await hub.store.meta(STALE_META) or "{}")
    if any(int(n) >= STALE_AFTER for n in stale.values()):
        return {"state": "out of date", "message": REJOIN}
    return None
