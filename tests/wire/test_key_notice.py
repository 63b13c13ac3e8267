"""Key notices (issue 11): each fits a radio frame, opens only under the key it is sealed
under, and a revocation's new key opens only for the hubs it is wrapped for."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from fieldkit.mesh.transport import MAX_PAYLOAD
from fieldkit.wire import key_notice as kn

OLD, NEW = b"o" * 32, b"n" * 32


def test_each_kind_fits_a_frame_and_opens_only_under_its_key() -> None:
    notices: list[kn.Notice] = [
        kn.Announce(7, b"p" * 32, ask=9),
        kn.Rotate(7, 86_400, NEW),
        *kn.revoke_notices(7, 86_400, 3, 41, NEW, [(1, b"\x09" * 32), (2, b"\x05" * 32)]),
    ]
    for notice in notices:
        blob = kn.seal(OLD, notice)
        assert len(blob) <= MAX_PAYLOAD
        assert kn.open_notice([NEW, OLD], blob) == (notice, OLD)
        with pytest.raises(kn.DecodeError) as refused:
            kn.open_notice([NEW], blob)
        assert refused.value.reason == "auth"
        altered = blob[:-1] + bytes([blob[-1] ^ 1])
        with pytest.raises(kn.DecodeError):
            kn.open_notice([OLD], altered)


def test_a_revocation_wraps_the_new_key_for_every_recipient_but_the_revoked_hub() -> None:
    keys = {hub: X25519PrivateKey.generate() for hub in (1, 2, 3, 4)}
    publics = [(hub, k.public_key().public_bytes_raw()) for hub, k in keys.items()]
    notices = kn.revoke_notices(9, 0, 3, 12, NEW, publics)
    assert len(notices) == 2  # three recipients, two a frame
    opened = {
        hub: [n.unwrap(hub, keys[hub]) for n in notices if n.unwrap(hub, keys[hub])] for hub in keys
    }
    assert opened == {1: [NEW], 2: [NEW], 3: [], 4: [NEW]}
    # the revoked hub's own key opens nobody's wrap, nor does another hub's key
    assert all(n.unwrap(1, keys[3]) is None for n in notices)
    assert {n.revoked for n in notices} == {3}
    assert {n.kept_seq for n in notices} == {12}


def test_packed_notices_come_back_whole_and_a_cut_list_is_refused() -> None:
    blobs = [kn.seal(OLD, kn.Rotate(1, 5, NEW)), kn.seal(OLD, kn.Announce(2, b"q" * 32))]
    packed = kn.pack_many(blobs)
    assert kn.unpack_many(packed) == blobs
    with pytest.raises(kn.DecodeError):
        kn.unpack_many(packed[:-3])
    with pytest.raises(kn.DecodeError):
        kn.open_notice([OLD], b"\x01" + bytes(40))  # a frame, not a notice
