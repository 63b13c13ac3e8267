"""Replicas that gossip reads from and writes to.

:class:`StoreReplica` is a real hub's (its :class:`~fieldkit.app.hub.Hub` and SQLite store);
:class:`MemoryReplica` keeps ops in memory with the same fold, for the deterministic
simulations behind the convergence property tests and the sync benchmarks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fieldkit.app.hub import Hub
from fieldkit.core.fold import RecordState, state_hash
from fieldkit.core.ops import URGENCY_RANK, Op, RecordId, send_order, shareable
from fieldkit.sync.engine import to_ranges


class StoreReplica:
    """A real hub's ops, through its store."""

    def __init__(self, hub: Hub, offer_limit: int = 64) -> None:
        self.hub = hub
        self.offer_limit = offer_limit

    async def version_vector(self) -> dict[int, int]:
        return await self.hub.store.version_vector()

    async def held_beyond(self) -> dict[int, list[int]]:
        return await self.hub.store.held_beyond()

    async def shareable_ops(self, ids: Iterable[tuple[int, int]]) -> list[Op]:
        rows = await self.hub.store.ops_for_offer(to_ranges(ids), self.offer_limit)
        return [shareable(op, consented) for op, consented in rows]

    async def receive(self, ops: Sequence[Op]) -> int:
        return await self.hub.receive(ops)


class MemoryReplica:
    """Ops and folded records in memory: same rules as the store, no disk."""

    def __init__(self) -> None:
        self.ops: dict[tuple[int, int], Op] = {}
        self.states: dict[RecordId, RecordState] = {}
        self.contiguous: dict[int, int] = {}

    async def version_vector(self) -> dict[int, int]:
        return dict(self.contiguous)

    async def held_beyond(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for origin, seq in self.ops:
            if seq > self.contiguous.get(origin, 0):
                out.setdefault(origin, []).append(seq)
        return out

    def _urgency(self, op: Op) -> int | None:
        state = self.states.get(op.records()[0])
        urgency = state.value("urgency") if state else None
        return URGENCY_RANK.get(urgency) if isinstance(urgency, str) else None

    async def shareable_ops(self, ids: Iterable[tuple[int, int]]) -> list[Op]:
        ops = [self.ops[i] for i in ids if i in self.ops]
        ops.sort(key=lambda op: send_order(self._urgency(op), op))
        out = []
        for op in ops:
            state = self.states.get(op.records()[0])
            out.append(shareable(op, bool(state and state.value("share_contact"))))
        return out

    def add(self, op: Op) -> bool:
        if (op.origin, op.seq) in self.ops:
            return False
        self.ops[(op.origin, op.seq)] = op
        for rid in op.records():
            self.states.setdefault(rid, RecordState(rid)).apply(op)
        top = self.contiguous.get(op.origin, 0)
        while (op.origin, top + 1) in self.ops:
            top += 1
        self.contiguous[op.origin] = top
        return True

    async def receive(self, ops: Sequence[Op]) -> int:
        return sum(self.add(op) for op in ops)

    def public_hash(self) -> str:
        return state_hash(self.states.values(), public=True)
