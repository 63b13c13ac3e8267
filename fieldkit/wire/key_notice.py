"""Key notices (pure): how a network's new key, a revocation and each hub's exchange key
travel between hubs, over every carrier hubs share (radio, HTTP sync, bundles).

A notice is one small self-contained blob, at most a radio frame::

    NOTICE_BYTE (1) | nonce (12) | ChaCha20-Poly1305(notice key, nonce, body, NOTICE_BYTE)
    notice key = HKDF-SHA256(network key, no salt, "fieldkit key notice v1")

so a hub reads it only under a network key it holds, and a hub of an earlier release, which
takes its first byte for a wire version it does not know, drops it. Bodies, by kind:

* **announce** (``1 | hub (4) | X25519 public key (32) | ask (4)``): the hub's exchange key.
  Hubs pin the first one they learn for a hub id (:mod:`fieldkit.app.keyring`); ``ask``, if
  not 0, is a hub whose own announce the sender lacks (it heard that hub's frames).
* **rotate** (``2 | issuer (4) | grace s (4) | new network key (32)``): sealed under the key
  the network moves away from: every hub that holds that key moves (``fieldkit network
  rotate-key``), and so would anyone else who holds it — a rotation protects against a
  leaked key only once the leak is closed; for a stolen hub, revoke it.
* **revoke** (``3 | issuer (4) | grace s (4) | revoked hub (4) | kept seq (4) | ephemeral
  X25519 public key (32) | n (1) | n × (hub (4) | wrapped key (48))``): the revoked hub's
  ops up to ``kept seq`` stay, any later are refused; the new key is wrapped for each
  recipient's exchange key, never for the revoked hub's (``fieldkit network revoke``), so
  holding the old network key opens the notice but not the new key. At most
  :data:`RECIPIENTS_PER_NOTICE` recipients a notice, to fit a frame: a revocation for many
  hubs is several notices.

A wrap: ``ChaCha20-Poly1305(HKDF-SHA256(X25519(ephemeral, recipient), "fieldkit key wrap
v1" | ephemeral public | recipient public), zero nonce, new key, revoked hub)``; each
ephemeral key wraps once per recipient, so the zero nonce never repeats under one key.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fieldkit.errors import DecodeError as DecodeError  # re-exported: what decoding raises

#: The first byte of a notice: never a wire version (frames start with 1, 2, 3 …).
NOTICE_BYTE = 0xF5
NONCE = 12
TAG = 16
KEY = 32
PUBLIC = 32
WRAP = KEY + TAG
RECIPIENTS_PER_NOTICE = 2  # a revoke notice for two hubs is 183 bytes: one 200-byte frame
ANNOUNCE, ROTATE, REVOKE = 1, 2, 3

RandomBytes = Callable[[int], bytes]


@dataclass(frozen=True)
class Announce:
    hub: int
    public: bytes  # the hub's X25519 public key
    ask: int = 0  # a hub whose announce the sender lacks (0: none)


@dataclass(frozen=True)
class Rotate:
    issuer: int
    grace_s: int
    new_key: bytes


@dataclass(frozen=True)
class Revoke:
    issuer: int
    grace_s: int
    revoked: int
    kept_seq: int  # the revoked hub's ops up to this seq stay; later ones are refused
    ephemeral: bytes
    wraps: tuple[tuple[int, bytes], ...]  # (recipient hub, wrapped key)

    def unwrap(self, hub: int, private: X25519PrivateKey) -> bytes | None:
        """The new key, if this notice wraps it for ``hub`` (whose exchange key is
        ``private``); None if not for it or not openable."""
        for recipient, wrapped in self.wraps:
            if recipient != hub:
                continue
            public = private.public_key().public_bytes_raw()
            aead = _wrap_aead(private.exchange(X25519PublicKey.from_public_bytes(
                self.ephemeral)), self.ephemeral, public)  # fmt: skip
            try:
                return aead.decrypt(bytes(NONCE), wrapped, struct.pack(">I", self.revoked))
            except InvalidTag:
                return None
        return None


Notice = Announce | Rotate | Revoke


def _aead(network_key: bytes) -> ChaCha20Poly1305:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY, salt=None,
                info=b"fieldkit key notice v1")  # fmt: skip
    return ChaCha20Poly1305(hkdf.derive(network_key))


def _wrap_aead(shared: bytes, ephemeral: bytes, recipient: bytes) -> ChaCha20Poly1305:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY, salt=None,
                info=b"fieldkit key wrap v1" + ephemeral + recipient)  # fmt: skip
    return ChaCha20Poly1305(hkdf.derive(shared))


def _body(notice: Notice) -> bytes:
    if isinstance(notice, Announce):
        return (
            struct.pack(">BI", ANNOUNCE, notice.hub) + notice.public + struct.pack(">I", notice.ask)
        )
    if isinstance(notice, Rotate):
        return struct.pack(">BII", ROTATE, notice.issuer, notice.grace_s) + notice.new_key
    head = struct.pack(">BIIII", REVOKE, notice.issuer, notice.grace_s, notice.revoked,
                       notice.kept_seq)  # fmt: skip
    wraps = b"".join(struct.pack(">I", hub) + wrapped for hub, wrapped in notice.wraps)
    return head + notice.ephemeral + bytes([len(notice.wraps)]) + wraps


def seal(
    network_key: bytes, notice: Notice, random_bytes: RandomBytes = secrets.token_bytes
) -> bytes:
    nonce = random_bytes(NONCE)
    aad = bytes([NOTICE_BYTE])
    return aad + nonce + _aead(network_key).encrypt(nonce, _body(notice), aad)


def is_notice(payload: bytes) -> bool:
    return payload[:1] == bytes([NOTICE_BYTE])


def _parse(body: bytes) -> Notice:
    def bad(what: str) -> DecodeError:
        return DecodeError("bad_message", f"key notice: {what}")

    kind = body[0] if body else 0
    if kind == ANNOUNCE and len(body) == 9 + PUBLIC:
        (hub,), (ask,) = struct.unpack_from(">I", body, 1), struct.unpack_from(">I", body, 37)
        return Announce(hub, body[5 : 5 + PUBLIC], ask)
    if kind == ROTATE and len(body) == 9 + KEY:
        issuer, grace = struct.unpack_from(">II", body, 1)
        return Rotate(issuer, grace, body[9:])
    if kind == REVOKE and len(body) >= 17 + PUBLIC + 1:
        issuer, grace, revoked, kept = struct.unpack_from(">IIII", body, 1)
        ephemeral, count = body[17 : 17 + PUBLIC], body[17 + PUBLIC]
        rest = body[18 + PUBLIC :]
        if len(rest) != count * (4 + WRAP):
            raise bad("its wraps do not add up")
        wraps = tuple(
            (struct.unpack_from(">I", rest, i)[0], rest[i + 4 : i + 4 + WRAP])
            for i in range(0, len(rest), 4 + WRAP)
        )
        return Revoke(issuer, grace, revoked, kept, ephemeral, wraps)
    raise bad(f"unknown kind {kind} or length {len(body)}")


def open_notice(keys: Iterable[bytes], blob: bytes) -> tuple[Notice, bytes]:
    """The notice in ``blob`` and the key (of ``keys``) it is sealed under. DecodeError
    (reason ``version``: not a notice; ``auth``: under none of the keys; ``bad_message``)."""
    if not is_notice(blob):
        raise DecodeError("version", "not a key notice")
    if len(blob) < 1 + NONCE + TAG:
        raise DecodeError("truncated", "a key notice shorter than its header")
    nonce, sealed = blob[1 : 1 + NONCE], blob[1 + NONCE :]
    for key in keys:
        try:
            body = _aead(key).decrypt(nonce, sealed, blob[:1])
        except InvalidTag:
            continue
        return _parse(body), key
    raise DecodeError("auth", "a key notice under no key this hub holds")


def revoke_notices(
    issuer: int,
    grace_s: int,
    revoked: int,
    kept_seq: int,
    new_key: bytes,
    recipients: Iterable[tuple[int, bytes]],
) -> list[Revoke]:
    """The revocation, with ``new_key`` wrapped for each (hub, X25519 public key) of
    ``recipients`` (never the revoked hub's), :data:`RECIPIENTS_PER_NOTICE` per notice; one
    notice without wraps if there are none (the revocation still travels)."""
    chosen = sorted((h, p) for h, p in recipients if h != revoked)
    step = RECIPIENTS_PER_NOTICE
    groups = [chosen[i : i + step] for i in range(0, len(chosen), step)]
    out = []
    for group in groups or [[]]:
        ephemeral = X25519PrivateKey.generate()
        public = ephemeral.public_key().public_bytes_raw()
        wraps = []
        for hub, theirs in group:
            shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(theirs))
            aead = _wrap_aead(shared, public, theirs)
            wraps.append((hub, aead.encrypt(bytes(NONCE), new_key, struct.pack(">I", revoked))))
        out.append(Revoke(issuer, grace_s, revoked, kept_seq, public, tuple(wraps)))
    return out


# --- several notices in one blob (HTTP bodies, a bundle's preamble) ---------------------

MAX_NOTICES = 512
MAX_NOTICE = 255


def pack_many(blobs: Iterable[bytes]) -> bytes:
    out = bytearray()
    for blob in blobs:
        if len(blob) > MAX_NOTICE:
            raise ValueError("a key notice longer than a frame")
        out += bytes([len(blob)]) + blob
    return bytes(out)


def unpack_many(data: bytes) -> list[bytes]:
    """The notices packed by :func:`pack_many` (DecodeError if the lengths do not add up)."""
    out: list[bytes] = []
    i = 0
    while i < len(data):
        size = data[i]
        if i + 1 + size > len(data) or len(out) >= MAX_NOTICES:
            raise DecodeError("truncated", "a list of key notices cut short or too long")
        out.append(data[i + 1 : i + 1 + size])
        i += 1 + size
    return out
