"""Storefronts repository: the tenants every key, shopper, session and event belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import StorefrontRow


@dataclass(frozen=True)
class StorefrontRecord:
    id: str
    name: str
    created_at: datetime | None


def _record(row: StorefrontRow) -> StorefrontRecord:
    return StorefrontRecord(id=row.id, name=row.name, created_at=row.created_at)


async def create_storefront(db: AsyncSession, *, storefront_id: str, name: str) -> StorefrontRecord:
    """Insert a storefront (the caller's transaction; a duplicate id raises IntegrityError)."""
    row = StorefrontRow(id=storefront_id, name=name)
    db.add(row)
    await db.flush()
    return _record(row)


async def get_storefront(db: AsyncSession, *, storefront_id: str) -> StorefrontRecord | None:
    row = await db.get(StorefrontRow, storefront_id)
    return None if row is None else _record(row)


async def list_storefronts(db: AsyncSession) -> list[StorefrontRecord]:
    rows = await db.scalars(select(StorefrontRow).order_by(StorefrontRow.id))
    return [_record(row) for row in rows]
