"""A hub's store and the simulations' memory send the same ops in the same order."""

from __future__ import annotations

import random

from fieldkit.app.hub import Hub
from fieldkit.core.ops import Create, Op, RecordId, SetStatus
from fieldkit.core.records import Kind, Status
from fieldkit.sync.replica import MemoryReplica, StoreReplica

URGENCIES = ["critical", "today", "this_week", "flexible"]


def _ops(seed: int) -> list[Op]:
    rng = random.Random(seed)
    ops: list[Op] = []
    for origin in (0x0A, 0x0B, 0x0C):
        for seq in range(1, 9):
            if seq > 1 and rng.random() < 0.3:  # a status change of an earlier record
                target = RecordId(origin, rng.randrange(1, seq))
                body: Create | SetStatus = SetStatus(target, Status.MATCHED)
            else:
                fields = {"category": "water", "urgency": rng.choice(URGENCIES), "area": "x"}
                body = Create(RecordId(origin, seq), Kind.NEED, 1, fields)
            hlc = rng.randrange(1, 4) << 16  # clock ties across hubs on purpose
            ops.append(Op(origin, seq, hlc + seq, body))
    return ops


async def test_store_and_memory_replicas_send_in_one_order(hub: Hub) -> None:
    ops = _ops(seed=7)
    memory = MemoryReplica()
    await memory.receive(ops)
    store = StoreReplica(hub, offer_limit=1000)
    await store.receive(ops)
    ids = [(op.origin, op.seq) for op in ops]
    from_store = [(op.origin, op.seq) for op in await store.shareable_ops(ids)]
    from_memory = [(op.origin, op.seq) for op in await memory.shareable_ops(ids)]
    assert from_store == from_memory
    assert sorted(from_store) == sorted(ids)
