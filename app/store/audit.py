"""Admin audit repository: one row per admin or operator change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import AdminAuditRow


@dataclass(frozen=True)
class AuditEntry:
    storefront_id: str | None
    actor: str
    action: str
    target: str | None
    request_id: str | None
    before: Any
    after: Any
    created_at: datetime | None = None


async def add_entry(db: AsyncSession, *, entry: AuditEntry) -> None:
    """Record a change in the caller's transaction, so it lands only with the change."""
    db.add(
        AdminAuditRow(
            storefront_id=entry.storefront_id,
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            request_id=entry.request_id,
            before=entry.before,
            after=entry.after,
        )
    )
    await db.flush()


async def list_entries(
    db: AsyncSession, *, storefront_id: str | None, limit: int = 100
) -> list[AuditEntry]:
    """The newest entries first: one storefront's, or every one (None)."""
    query = select(AdminAuditRow).order_by(AdminAuditRow.id.desc()).limit(limit)
    if storefront_id is not None:
        query = query.where(AdminAuditRow.storefront_id == storefront_id)
    return [
        AuditEntry(
            storefront_id=row.storefront_id,
            actor=row.actor,
            action=row.action,
            target=row.target,
            request_id=row.request_id,
            before=row.before,
            after=row.after,
            created_at=row.created_at,
        )
        for row in await db.scalars(query)
    ]


async def redact_target(db: AsyncSession, *, storefront_id: str, target: str) -> int:
    """Clear the before/after state of a storefront's entries about `target` (an erased
    shopper): who changed what and when stays. Returns the entries redacted."""
    result = await db.execute(
        update(AdminAuditRow)
        .where(AdminAuditRow.storefront_id == storefront_id, AdminAuditRow.target == target)
        .values(before=None, after=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
