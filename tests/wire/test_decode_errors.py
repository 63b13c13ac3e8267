"""Every way the wire refuses bytes is one DecodeError, under FieldkitError, with a reason."""

from __future__ import annotations

import pytest

from fieldkit import errors
from fieldkit.wire import frame
from fieldkit.wire.bits import BitError, BitReader
from fieldkit.wire.ops_body import BodyError
from fieldkit.wire.text import TEXT_DEFLATE, TextError, unpack_text


def test_the_codecs_decode_error_is_the_one_in_the_error_tree() -> None:
    assert frame.DecodeError is errors.DecodeError
    assert issubclass(errors.DecodeError, errors.FieldkitError)


@pytest.mark.parametrize("internal", [BitError, BodyError, TextError])
def test_internal_wire_errors_are_decode_errors(internal: type[Exception]) -> None:
    assert issubclass(internal, errors.DecodeError)


def test_a_truncated_bitstream_raises_a_decode_error_with_a_known_reason() -> None:
    with pytest.raises(errors.DecodeError) as info:
        BitReader(b"").bits(3)
    assert info.value.reason == "truncated"
    assert info.value.reason in frame.REASONS


def test_a_text_stream_that_does_not_inflate_is_a_bad_text_decode_error() -> None:
    with pytest.raises(errors.DecodeError) as info:
        unpack_text(TEXT_DEFLATE, b"not deflate", 5)
    assert info.value.reason == "bad_text"
