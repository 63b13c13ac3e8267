"""What the cloud aggregator needs from a store beyond the storage port: enrolled hubs and
their credentials, sync challenges shared by every cloud process, and which hub delivered each
op (the audit). Both adapters implement it (tables of the last migration); mypy checks it.

Nothing the cloud must keep lives outside the database, so several cloud processes behind a
load balancer serve one region: a challenge issued by one is taken by another, a hub revoked
through one is refused by all.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from fieldkit.core.ops import Op
from fieldkit.store.port import StorePort, TxPort


@dataclass(frozen=True)
class EnrolledHub:
    name: str
    hub_id: int | None  # the hub's id, once it has joined
    enrolled_at: int  # unix seconds
    joined_at: int | None
    revoked_at: int | None
    delivered: int  # ops this hub delivered first


class CloudTxPort(TxPort, Protocol):
    async def record_delivery(self, op: Op, hub: str) -> None:
        """Remember that the enrolled hub named ``hub`` delivered ``op`` (first delivery)."""
        ...


class CloudPort(StorePort, Protocol):
    def transaction(self) -> AbstractAsyncContextManager[CloudTxPort]: ...

    async def enroll_hub(self, name: str, code_hash: bytes, now: int) -> None:
        """Enroll ``name`` (again): a new one-time code; any earlier credential is void."""
        ...

    async def redeem_code(
        self, code_hash: bytes, credential_hash: bytes, hub_id: int, now: int, issued_after: int
    ) -> str | None:
        """Trade an unused one-time code made after ``issued_after`` for a credential: the
        hub's name, or None."""
        ...

    async def revoke_hub(self, name: str, now: int) -> bool:
        """Refuse ``name`` from now on; False if no such hub is enrolled."""
        ...

    async def hub_for_credential(self, credential_hash: bytes) -> tuple[str, bool] | None:
        """The enrolled hub holding this credential and whether it is revoked, or None."""
        ...

    async def enrolled_hubs(self) -> list[EnrolledHub]: ...

    async def hub_names(self) -> dict[int, str]:
        """The name each joined hub is enrolled by, by hub id (cheap: no counting)."""
        ...

    async def issue_challenge(self, challenge: bytes, now: float, ttl: float) -> None:
        """Keep ``challenge`` until taken or ``ttl`` s old (older ones are dropped here)."""
        ...

    async def take_challenge(self, challenge: bytes, now: float, ttl: float) -> bool:
        """Whether ``challenge`` was issued, not yet taken, and younger than ``ttl``; taken."""
        ...

    async def delivered_by(self, origin: int, seq: int) -> str | None:
        """The enrolled hub that delivered op (origin, seq), if it came through one."""
        ...
