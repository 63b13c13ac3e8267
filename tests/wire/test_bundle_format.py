"""Bundles read a chunk at a time: the same envelopes as read whole, and the same refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldkit.wire.bundle_format import BundleError, BundleReader, read_bundle, write_bundle
from fieldkit.wire.messages import Envelope, Summary

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
    reader.finish()
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
        (b"FKBUNDLE\x02" + bytes(40), "another fieldkit version"),
        (DATA[:-1], "authentication"),
        (DATA[: len(DATA) // 2], "authentication"),
    ],
)
def test_a_bundle_read_in_chunks_is_refused_as_when_read_whole(data: bytes, message: str) -> None:
    with pytest.raises(BundleError, match=message):
        read_bundle(KEY, data)
    with pytest.raises(BundleError, match=message):
        check_in_chunks([data[start : start + 5] for start in range(0, len(data), 5)])
