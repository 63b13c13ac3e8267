"""Sealed streams: readable only with the key and purpose, refused whole when anything changed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldkit.errors import BundleError
from fieldkit.wire.sealed import HEADER, OVERHEAD, SEGMENT, Opener, Sealer, open_sealed, seal

KEY = b"k" * 32
SIZES = [0, 1, 100, SEGMENT - 1, SEGMENT, SEGMENT + 1, 2 * SEGMENT, 2 * SEGMENT + 5]


def plain(size: int) -> bytes:
    return bytes(range(256)) * (size // 256) + bytes(size % 256)


def cut(data: bytes, sizes: list[int]) -> list[bytes]:
    out, pos = [], 0
    for size in sizes:
        out.append(data[pos : pos + size])
        pos += size
    return [*out, data[pos:]]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SIZES), st.lists(st.integers(0, 3 * SEGMENT), max_size=6))
def test_any_stream_read_in_any_chunks_is_what_was_sealed(size: int, sizes: list[int]) -> None:
    data = plain(size)
    sealer = Sealer(KEY, "bundle")
    sealed = sealer.header()
    for piece in cut(data, sizes):
        sealed += sealer.seal(piece)
    sealed += sealer.finish()
    assert len(sealed) == HEADER + size + OVERHEAD * max(1, -(-size // SEGMENT))
    opener = Opener(KEY, "bundle")
    got = b"".join(opener.feed(piece) for piece in cut(sealed, sizes)) + opener.finish()
    assert got == data


def test_each_stream_is_sealed_under_a_fresh_salt_and_hides_its_plaintext() -> None:
    data = b"Jean Baptiste, 555 0100, behind the blue church " * 50
    one, two = seal(KEY, "bundle", data), seal(KEY, "bundle", data)
    assert one != two
    for sealed in (one, two):
        assert b"Jean" not in sealed
        assert b"555 0100" not in sealed
        assert b"church" not in sealed


SEALED = seal(KEY, "bundle", plain(2 * SEGMENT + 5), b"aad")


@settings(max_examples=40, deadline=None)
@given(st.integers(0, len(SEALED) - 1), st.integers(1, 255))
def test_any_altered_byte_is_refused(where: int, flip: int) -> None:
    data = bytearray(SEALED)
    data[where] ^= flip
    with pytest.raises(BundleError, match="authentication"):
        open_sealed(KEY, "bundle", bytes(data), b"aad")


def segments(data: bytes) -> tuple[bytes, list[bytes]]:
    full = SEGMENT + OVERHEAD
    body = data[HEADER:]
    return data[:HEADER], [body[i : i + full] for i in range(0, len(body), full)]


@pytest.mark.parametrize(
    "damage",
    ["cut at a segment boundary", "cut inside", "last dropped", "reordered", "one appended",
     "trailing byte", "header only", "nothing"],
)  # fmt: skip
def test_a_stream_cut_reordered_or_extended_is_refused(damage: str) -> None:
    header, segs = segments(SEALED)
    assert len(segs) == 3
    data = {
        "cut at a segment boundary": header + segs[0],
        "cut inside": SEALED[: len(SEALED) - 3],
        "last dropped": header + segs[0] + segs[1],
        "reordered": header + segs[1] + segs[0] + segs[2],
        "one appended": SEALED + segs[2],
        "trailing byte": SEALED + b"\x00",
        "header only": header,
        "nothing": b"",
    }[damage]
    with pytest.raises(BundleError):
        open_sealed(KEY, "bundle", data, b"aad")


@pytest.mark.parametrize(
    ("key", "purpose", "aad"),
    [(b"z" * 32, "bundle", b"aad"), (KEY, "sync answer", b"aad"), (KEY, "bundle", b"other")],
)
def test_another_key_purpose_or_context_cannot_open_it(
    key: bytes, purpose: str, aad: bytes
) -> None:
    with pytest.raises(BundleError, match="authentication"):
        open_sealed(key, purpose, SEALED, aad)  # type: ignore[arg-type]


def test_a_bad_first_segment_is_refused_before_the_rest_arrives() -> None:
    data = bytearray(SEALED)
    data[HEADER + 3] ^= 1
    opener = Opener(KEY, "bundle", b"aad")
    with pytest.raises(BundleError):
        opener.feed(bytes(data[: HEADER + SEGMENT + OVERHEAD + 1]))
