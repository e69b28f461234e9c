"""API keys repository: keys are stored only as SHA-256 hashes, one row per named key.

Rotating a key replaces its hash and keeps the previous one valid until
`previous_key_expires_at` (a grace period for the caller to switch over); revoking it
ends both at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.security import Scope, format_scopes, generate_key, hash_key, parse_scopes
from app.store.models import ApiKeyRow, utcnow


@dataclass(frozen=True)
class ApiKeyRecord:
    name: str
    storefront_id: str
    scopes: frozenset[Scope]
    created_at: datetime | None = None
    revoked_at: datetime | None = None
    rotated_at: datetime | None = None
    previous_key_expires_at: datetime | None = None


def _record(row: ApiKeyRow) -> ApiKeyRecord:
    return ApiKeyRecord(
        name=row.name,
        storefront_id=row.storefront_id,
        scopes=parse_scopes(row.scope),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        rotated_at=row.rotated_at,
        previous_key_expires_at=row.previous_key_expires_at,
    )


async def create_api_key(
    db: AsyncSession, *, name: str, storefront_id: str, scopes: Iterable[Scope]
) -> tuple[str, ApiKeyRecord]:
    """Create a key; returns the plaintext (shown once, never stored) and its record.
    A duplicate name raises IntegrityError (the caller's transaction)."""
    key = generate_key()
    row = ApiKeyRow(
        name=name, storefront_id=storefront_id, key_hash=hash_key(key), scope=format_scopes(scopes)
    )
    db.add(row)
    await db.flush()
    return key, _record(row)


async def find_api_key(db: AsyncSession, *, key_hash: str) -> ApiKeyRecord | None:
    """The active key with this hash (its current one, or a rotated-out one still within
    its grace period), if any."""
    row = await db.scalar(
        select(ApiKeyRow).where(
            ApiKeyRow.revoked_at.is_(None),
            or_(
                ApiKeyRow.key_hash == key_hash,
                and_(
                    ApiKeyRow.previous_key_hash == key_hash,
                    ApiKeyRow.previous_key_expires_at > utcnow(),
                ),
            ),
        )
    )
    return None if row is None else _record(row)


async def get_api_key(db: AsyncSession, *, name: str) -> ApiKeyRecord | None:
    row = await db.scalar(select(ApiKeyRow).where(ApiKeyRow.name == name))
    return None if row is None else _record(row)


async def list_api_keys(db: AsyncSession, *, storefront_id: str | None) -> list[ApiKeyRecord]:
    """Every key, or a storefront's (None: all storefronts), revoked ones included."""
    query = select(ApiKeyRow).order_by(ApiKeyRow.storefront_id, ApiKeyRow.name)
    if storefront_id is not None:
        query = query.where(ApiKeyRow.storefront_id == storefront_id)
    return [_record(row) for row in await db.scalars(query)]


async def rotate_api_key(
    db: AsyncSession, *, name: str, grace_s: float
) -> tuple[str, ApiKeyRecord] | None:
    """Give an active key a new secret; the old one works `grace_s` more seconds.
    None if no active key has this name."""
    row = await db.scalar(
        select(ApiKeyRow)
        .where(ApiKeyRow.name == name, ApiKeyRow.revoked_at.is_(None))
        .with_for_update()
    )
    if row is None:
        return None
    key = generate_key()
    now = utcnow()
    row.previous_key_hash = row.key_hash if grace_s > 0 else None
    row.previous_key_expires_at = now + timedelta(seconds=grace_s) if grace_s > 0 else None
    row.key_hash = hash_key(key)
    row.rotated_at = now
    await db.flush()
    return key, _record(row)


async def revoke_api_key(db: AsyncSession, *, name: str) -> ApiKeyRecord | None:
    """Revoke an active key (and any rotated-out secret of it); None if none is active."""
    row = await db.scalar(
        select(ApiKeyRow)
        .where(ApiKeyRow.name == name, ApiKeyRow.revoked_at.is_(None))
        .with_for_update()
    )
    if row is None:
        return None
    row.revoked_at = utcnow()
    row.previous_key_expires_at = None
    await db.flush()
    return _record(row)


async def any_active_key(db: AsyncSession) -> bool:
    """Whether any key in the database can authenticate (not revoked)."""
    found = await db.scalar(select(ApiKeyRow.id).where(ApiKeyRow.revoked_at.is_(None)).limit(1))
    return found is not None
