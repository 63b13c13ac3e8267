"""Bundles read a chunk at a time: the same envelopes as read whole, and the same refusals."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldkit.wire.bundle_format import BundleError, BundleReader, read_bundle, write_bundle
from fieldkit.wire.messages import Envelope, Ops, Summary
from fieldkit.wire.sealed import Purpose

KEY = b"k" * 32
ENVELOPES = [Envelope(7, 0, Summary({7: n, 9: 3 * n})) for n in range(1, 9)]
DATA = write_bundle(KEY, ENVELOPES)


def check_in_chunks(chunks: list[bytes]) -> None:
    check = BundleReader(KEY, decode=False)
    for chunk in chunks:
        check.feed(chunk)
    check.finish()


def cut(data: bytes, sizes: list[int]) -> list[bytes]:
    out, pos = [], 0
    for size in sizes:
        out.append(data[pos : pos + size])
        pos += size
    return [*out, data[pos:]]


@given(st.lists(st.integers(0, 40), max_size=30))
def test_any_chunking_reads_the_envelopes_of_the_whole(sizes: list[int]) -> None:
    reader = BundleReader(KEY)
    got = [env for chunk in cut(DATA, sizes) for env in reader.feed(chunk)]
    got += reader.finish()
    assert got == read_bundle(KEY, DATA) == ENVELOPES


@given(st.integers(0, len(DATA) - 1), st.integers(1, 255), st.lists(st.integers(0, 40)))
def test_any_altered_byte_fails_the_tag_however_it_arrives(
    where: int, flip: int, sizes: list[int]
) -> None:
    data = bytearray(DATA)
    data[where] ^= flip
    with pytest.raises(BundleError):
        check_in_chunks(cut(bytes(data), sizes))
    with pytest.raises(BundleError):
        read_bundle(KEY, bytes(data))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a fieldkit bundle"),
        (b"PK\x03\x04 a zip file", "not a fieldkit bundle"),
        (b"FKBUNDLE\x03" + bytes(40), "another fieldkit version"),
        (b"FKBUNDLE\x02" + bytes(40), "authentication"),
        (DATA[:-1], "authentication"),
        (DATA[: len(DATA) // 2], "authentication"),
    ],
)
def test_a_bundle_read_in_chunks_is_refused_as_when_read_whole(data: bytes, message: str) -> None:
    with pytest.raises(BundleError, match=message):
        read_bundle(KEY, data)
    with pytest.raises(BundleError, match=message):
        check_in_chunks([data[start : start + 5] for start in range(0, len(data), 5)])


#: A bundle as every release before sealing wrote it (fieldkit main at b85c0c4, key b"k" * 32):
#: a summary and one op with a note and a consenting resident's contact, under an HMAC.
OLD_BUNDLE = bytes.fromhex(
    "464b42554e444c450114012828282800444041414121133212347354ca7e36012928282800208801c10d15"
    "63a1030280994121ab4330aa4a210000034b8204119e029680a5a9d000f502a61600be925da31d6fbd4699"
    "a5d2414fba2b254ae3cf55dd0b972c9fac2ef30b04bbc00a23d34de6e597de"
)


def test_a_plain_bundle_of_an_earlier_release_is_still_read() -> None:
    summary, ops = read_bundle(KEY, OLD_BUNDLE)
    assert summary.message == Summary({0x0A0A0A0A: 1})
    assert isinstance(ops.message, Ops)
    assert ops.message.ops[0].body.fields["contact_name"] == "Jean"  # type: ignore[union-attr]


@pytest.mark.parametrize("purpose", ["sync request", "sync answer"])
def test_sync_bodies_must_be_sealed(purpose: Purpose) -> None:
    with pytest.raises(BundleError, match="unsealed"):
        read_bundle(KEY, OLD_BUNDLE, purpose=purpose)


def test_a_bundle_opens_only_for_its_own_purpose_and_context() -> None:
    request = write_bundle(KEY, ENVELOPES, purpose="sync request", context=b"challenge 1")
    assert read_bundle(KEY, request, purpose="sync request", context=b"challenge 1") == ENVELOPES
    for purpose, context in [("sync request", b"challenge 2"), ("sync answer", b"challenge 1"),
                             ("bundle", b"")]:  # fmt: skip
        with pytest.raises(BundleError, match="authentication"):
            read_bundle(KEY, request, purpose=purpose, context=context)  # type: ignore[arg-type]


def test_the_bundle_bytes_depend_only_on_the_random_salt() -> None:
    fixed = write_bundle(KEY, ENVELOPES, random_bytes=bytes)
    assert fixed == write_bundle(KEY, ENVELOPES, random_bytes=bytes)
    assert fixed != DATA
    assert read_bundle(KEY, fixed) == read_bundle(KEY, DATA) == ENVELOPES


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([b"", b"FKBUNDLE\x01", b"FKBUNDLE\x02", DATA[:40]]),
    st.binary(max_size=300),
    st.sampled_from(["bundle", "sync request"]),
)
def test_any_bytes_are_read_or_refused_with_a_bundle_error_never_a_crash(
    head: bytes, tail: bytes, purpose: Purpose
) -> None:
    with contextlib.suppress(BundleError):
        read_bundle(KEY, head + tail, purpose=purpose)
