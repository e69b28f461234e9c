"""`Idempotency-Key` handling: a retried POST replays the stored response; the same key
with a different payload is a conflict; a retry while the first is running is too."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import IdempotencyInProgressError, IdempotencyKeyReusedError
from app.store import idempotency as repo


@dataclass(frozen=True)
class IdempotencyClaim:
    """This request owns `key`; its response is stored with the work it describes."""

    storefront_id: str
    owner: str
    key: str


def request_hash(route: str, payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{route}\n{canonical}".encode()).hexdigest()


class IdempotencyService:
    def __init__(
        self, *, db: async_sessionmaker[AsyncSession], stale_after_s: float | None = None
    ) -> None:
        """`stale_after_s`: age past which an unfinished claim is taken over by a retry
        (its process died mid-request); None keeps every claim until it is released."""
        self._db = db
        self._stale_after_s = stale_after_s

    async def begin(
        self, *, storefront_id: str, owner: str, key: str, route: str, payload: dict[str, Any]
    ) -> IdempotencyClaim | dict[str, Any]:
        """Claim `key` for `owner` (an API key of `storefront_id`), or return the stored
        response of the earlier identical request."""
        digest = request_hash(route, payload)
        async with self._db() as db:
            existing = await repo.claim(
                db,
                storefront_id=storefront_id,
                owner=owner,
                key=key,
                route=route,
                request_hash=digest,
                stale_after_s=self._stale_after_s,
            )
        if existing is None:
            return IdempotencyClaim(storefront_id=storefront_id, owner=owner, key=key)
        if existing.request_hash != digest:
            raise IdempotencyKeyReusedError(
                "this Idempotency-Key was already used with a different request body; "
                "use a new key for a new request",
                param="Idempotency-Key",
            )
        if existing.response is None:
            raise IdempotencyInProgressError(
                "a request with this Idempotency-Key is still being processed; retry shortly",
                param="Idempotency-Key",
                retry_after_s=1,
            )
        return existing.response

    async def complete(
        self,
        db: AsyncSession,
        claim: IdempotencyClaim,
        *,
        status_code: int,
        response: dict[str, Any],
    ) -> None:
        """Store the response inside the caller's transaction."""
        await repo.complete(
            db,
            storefront_id=claim.storefront_id,
            owner=claim.owner,
            key=claim.key,
            status_code=status_code,
            response=response,
        )

    async def abandon(self, claim: IdempotencyClaim) -> None:
        """The request failed: free the key so that a retry runs again."""
        async with self._db() as db:
            await repo.release(
                db, storefront_id=claim.storefront_id, owner=claim.owner, key=claim.key
            )
