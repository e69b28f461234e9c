"""API keys repository: keys are stored only as SHA-256 hashes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.security import Scope, generate_key, hash_key
from app.store.models import ApiKeyRow


@dataclass(frozen=True)
class ApiKeyRecord:
    name: str
    scope: Scope
    key_hash: str


async def create_api_key(db: AsyncSession, *, name: str, scope: Scope) -> tuple[str, ApiKeyRecord]:
    """Create a key; returns the plaintext (shown once, never stored) and its record."""
    key = generate_key()
    row = ApiKeyRow(name=name, key_hash=hash_key(key), scope=scope.value)
    db.add(row)
    await db.flush()
    return key, ApiKeyRecord(name=name, scope=scope, key_hash=row.key_hash)


async def find_api_key(db: AsyncSession, *, key_hash: str) -> ApiKeyRecord | None:
    """The active (not revoked) key with this hash, if any."""
    row = await db.scalar(
        select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash, ApiKeyRow.revoked_at.is_(None))
    )
    if row is None:
        return None
    return ApiKeyRecord(name=row.name, scope=Scope(row.scope), key_hash=row.key_hash)
