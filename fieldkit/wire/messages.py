"""The sync protocol's messages (pure data). :mod:`fieldkit.wire.frame` puts them on the wire.

Every transport — LoRa frames, the HTTP hub-to-hub API, bundle files — carries these same
messages inside an authenticated :class:`Envelope`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from fieldkit.core.ops import Op


@dataclass(frozen=True)
class Summary:
    """What the sender holds: per origin hub, the highest seq up to which it has every op.

    ``extra`` lists, per origin, seqs it holds beyond a gap (so a neighbour repairing the gap
    need not resend them); it is usually empty. ``reads`` is the highest wire version the
    sender reads, when it says so (1 when it does not: every hub reads version 1).

    ``partial``: the vector lists only some of the origins its sender holds (a hub that knows
    more origins than a frame holds lists a share of them in turn, changed ones first); an
    origin it leaves out says nothing about what it holds.
    """

    vector: Mapping[int, int]
    extra: Mapping[int, Sequence[int]] = field(default_factory=dict)
    reads: int = 1
    partial: bool = False
    #: The sender could not read a frame that coded areas by its network's area table (it
    #: holds another table, or none): its neighbours then send areas by name.
    table_differs: bool = False


@dataclass(frozen=True)
class Ops:
    """A batch of ops, any origins, in any order; a summary may ride along (it costs a
    frame's fixed overhead less than a summary of its own)."""

    ops: Sequence[Op]
    summary: Summary | None = None
    #: Ops of this frame the decoder left out, as (origin, seq, reason): a newer hub's
    #: vocabulary (reason ``newer``, counted like a DecodeError reason). Never encoded.
    skipped: Sequence[tuple[int, int, str]] = field(default=(), compare=False)


@dataclass(frozen=True)
class Want:
    """Ask one hub, ``provider``, for ops: per origin, inclusive seq ranges.

    Only the provider answers, so hubs that cannot hear each other do not answer at once.
    """

    provider: int
    ranges: Mapping[int, Sequence[tuple[int, int]]]


Message = Summary | Ops | Want


@dataclass(frozen=True)
class Envelope:
    """A message as sent: who sent it, and a per-sender counter that rejects replays."""

    sender: int
    counter: int
    message: Message
