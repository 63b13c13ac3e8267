"""A runner's bundle with the network's keys: what ``fieldkit bundle export|import`` and the
console's download and upload share.

A bundle is sealed under the network's current key; while the network moves to a new key
(:mod:`fieldkit.app.keyring`) it starts with the key notices this hub passes on, so a hub not
yet moved takes the new key from the stick before it reads what is sealed under it, and a
bundle sealed under the previous key is still taken during the rotation's grace.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import IO

from fieldkit.app.hub import Hub
from fieldkit.app.keyring import REJOIN_HINT, KeyRing
from fieldkit.errors import BundleError
from fieldkit.sync.bundle_file import bundle_stream, import_bundle_file, read_notices, stream_bundle


def _notices(ring: KeyRing) -> list[bytes]:
    """What a bundle carries ahead of its ops: the new key's notices, only during a move."""
    return ring.outgoing() if ring.moving() else []


async def write_bundle(
    hub: Hub, sink: Callable[[bytes], object], since_ms: int | None = None
) -> int:
    """Write this hub's bundle to ``sink`` a chunk at a time; the number of ops."""
    ring = await KeyRing.open(hub)
    return await stream_bundle(hub, ring.keys.current, sink, since_ms, _notices(ring))


async def bundle_chunks(hub: Hub, since_ms: int | None = None) -> AsyncIterator[bytes]:
    """The same bundle as an async iterator of chunks (an HTTP download)."""
    ring = await KeyRing.open(hub)
    async for chunk in bundle_stream(hub, ring.keys.current, since_ms, _notices(ring)):
        yield chunk


@dataclass(frozen=True)
class Taken:
    new: int  # ops this hub lacked
    total: int  # ops in the bundle
    notices: Counter[str]  # what its key notices did here (:meth:`KeyRing.take`)
    ring: KeyRing


async def take_bundle(hub: Hub, file: IO[bytes]) -> Taken:
    """Take the key notices a bundle in a seekable ``file`` starts with, then its ops under
    the first key this hub accepts that opens it; BundleError (nothing stored) if none does."""
    ring = await KeyRing.open(hub)
    notices, _ = read_notices(file)
    traded = await ring.take_many(notices)
    keys = ring.accepted()
    for tried, under in enumerate(keys, 1):
        try:
            new, total = await import_bundle_file(hub, under, file)
        except BundleError as exc:
            if tried < len(keys):
                continue
            if "authentication" in str(exc):
                raise BundleError(f"{exc}; {REJOIN_HINT}") from None
            raise
        return Taken(new, total, traded, ring)
    raise AssertionError("a hub always accepts its current key")  # pragma: no cover
