"""Idempotency records: claim a key before work, store the response after it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import IdempotencyRow, utcnow


def _mine(storefront_id: str, owner: str, key: str) -> Select[tuple[IdempotencyRow]]:
    return select(IdempotencyRow).where(
        IdempotencyRow.storefront_id == storefront_id,
        IdempotencyRow.owner == owner,
        IdempotencyRow.key == key,
    )


@dataclass(frozen=True)
class IdempotencyRecord:
    request_hash: str
    status_code: int | None  # None: the first request is still running
    response: dict[str, Any] | None
    created_at: datetime


async def claim(
    db: AsyncSession,
    *,
    storefront_id: str,
    owner: str,
    key: str,
    route: str,
    request_hash: str,
    stale_after_s: float | None = None,
) -> IdempotencyRecord | None:
    """Claim `key` for a new request (committed at once); None on success, else the
    existing record. The unique constraint settles races between concurrent retries.

    An unfinished claim older than `stale_after_s` belonged to a process that died
    mid-request (a live one finishes or releases it within the generation timeout): the
    same request takes it over instead of meeting "in progress" forever."""
    db.add(
        IdempotencyRow(
            storefront_id=storefront_id,
            owner=owner,
            key=key,
            route=route,
            request_hash=request_hash,
        )
    )
    try:
        await db.commit()
        return None
    except IntegrityError:
        await db.rollback()
    row = await db.scalar(_mine(storefront_id, owner, key))
    if row is None:  # released between our insert and this read: treat as in progress
        return IdempotencyRecord(request_hash, None, None, utcnow())
    if row.status_code is None and row.request_hash == request_hash and stale_after_s is not None:
        # Compare-and-set on the age: of two retries racing for a stale claim, one wins.
        taken = await db.execute(
            update(IdempotencyRow)
            .where(
                IdempotencyRow.id == row.id,
                IdempotencyRow.status_code.is_(None),
                IdempotencyRow.created_at < utcnow() - timedelta(seconds=stale_after_s),
            )
            .values(created_at=utcnow())
            # The DB compares the ages (SQLite hands back naive datetimes to Python).
            .execution_options(synchronize_session=False)
        )
        await db.commit()
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return None
    return IdempotencyRecord(row.request_hash, row.status_code, row.response, row.created_at)


async def complete(
    db: AsyncSession,
    *,
    storefront_id: str,
    owner: str,
    key: str,
    status_code: int,
    response: dict[str, Any],
) -> None:
    """Store the response (in the caller's transaction, with the work it describes)."""
    await db.execute(
        update(IdempotencyRow)
        .where(
            IdempotencyRow.storefront_id == storefront_id,
            IdempotencyRow.owner == owner,
            IdempotencyRow.key == key,
        )
        .values(status_code=status_code, response=response)
        .execution_options(synchronize_session=False)
    )


async def release(db: AsyncSession, *, storefront_id: str, owner: str, key: str) -> None:
    """Forget an unfinished claim so that a retry can run (the request failed)."""
    await db.execute(
        delete(IdempotencyRow).where(
            IdempotencyRow.storefront_id == storefront_id,
            IdempotencyRow.owner == owner,
            IdempotencyRow.key == key,
            IdempotencyRow.status_code.is_(None),
        )
    )
    await db.commit()


async def purge_older_than(db: AsyncSession, *, ttl_s: int) -> int:
    result = await db.execute(
        delete(IdempotencyRow).where(
            IdempotencyRow.created_at < utcnow() - timedelta(seconds=ttl_s)
        )
    )
    await db.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def delete_responses_of_sessions(
    db: AsyncSession, *, storefront_id: str, session_ids: Sequence[str]
) -> int:
    """Delete stored responses (reply text) of these sessions: part of erasing a shopper."""
    deleted = 0
    for start in range(0, len(session_ids), 500):  # bounded IN lists
        chunk = list(session_ids[start : start + 500])
        result = await db.execute(
            delete(IdempotencyRow).where(
                IdempotencyRow.storefront_id == storefront_id,
                IdempotencyRow.response["session_id"].as_string().in_(chunk),
            )
        )
        deleted += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return deleted
