"""Policy registry repository: servable policy versions and their promotion history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import PolicyVersionRow, utcnow

REGISTERED = "registered"
PROMOTED = "promoted"  # the default policy of sessions outside experiments (at most one)
RETIRED = "retired"  # was promoted, superseded by a newer promotion
ROLLED_BACK = "rolled_back"  # was promoted, withdrawn by a rollback


@dataclass(frozen=True)
class PolicyVersion:
    name: str
    base_model: str
    adapter_path: str | None
    status: str
    details: dict[str, Any]
    metrics: dict[str, Any]
    created_at: datetime | None
    promoted_at: datetime | None


def _record(row: PolicyVersionRow) -> PolicyVersion:
    return PolicyVersion(
        name=row.name,
        base_model=row.base_model,
        adapter_path=row.adapter_path,
        status=row.status,
        details=dict(row.details or {}),
        metrics=dict(row.metrics or {}),
        created_at=row.created_at,
        promoted_at=row.promoted_at,
    )


async def get(db: AsyncSession, *, name: str) -> PolicyVersion | None:
    row = await db.get(PolicyVersionRow, name)
    return None if row is None else _record(row)


async def list_all(db: AsyncSession) -> list[PolicyVersion]:
    rows = await db.scalars(select(PolicyVersionRow).order_by(PolicyVersionRow.created_at))
    return [_record(r) for r in rows]


async def create(
    db: AsyncSession,
    *,
    name: str,
    base_model: str,
    adapter_path: str | None,
    details: dict[str, Any],
    metrics: dict[str, Any],
) -> PolicyVersion:
    row = PolicyVersionRow(
        name=name,
        base_model=base_model,
        adapter_path=adapter_path,
        status=REGISTERED,
        details=details,
        metrics=metrics,
    )
    db.add(row)
    await db.flush()
    return _record(row)


async def promoted(db: AsyncSession) -> PolicyVersion | None:
    row = await db.scalar(select(PolicyVersionRow).where(PolicyVersionRow.status == PROMOTED))
    return None if row is None else _record(row)


async def promote(db: AsyncSession, *, name: str, previous_status: str = RETIRED) -> None:
    """Make `name` the promoted version; the current one (if another) gets `previous_status`."""
    rows = await db.scalars(
        select(PolicyVersionRow).where(PolicyVersionRow.status == PROMOTED).with_for_update()
    )
    for row in rows:
        if row.name != name:
            row.status = previous_status
    target = await db.get(PolicyVersionRow, name, with_for_update=True)
    assert target is not None
    target.status = PROMOTED
    target.promoted_at = utcnow()
    await db.flush()


async def demote_current(db: AsyncSession, *, status: str = ROLLED_BACK) -> PolicyVersion | None:
    """Withdraw the promoted version (nothing promoted afterwards); return it."""
    row = await db.scalar(
        select(PolicyVersionRow).where(PolicyVersionRow.status == PROMOTED).with_for_update()
    )
    if row is None:
        return None
    row.status = status
    await db.flush()
    return _record(row)


async def previously_promoted(db: AsyncSession, *, exclude: str) -> PolicyVersion | None:
    """The most recently superseded promotion other than `exclude` (the rollback target).

    Versions withdrawn by a rollback are never targets, so repeated rollbacks walk back
    through the promotion history instead of toggling between two versions.
    """
    row = await db.scalar(
        select(PolicyVersionRow)
        .where(
            PolicyVersionRow.status == RETIRED,
            PolicyVersionRow.promoted_at.is_not(None),
            PolicyVersionRow.name != exclude,
        )
        .order_by(PolicyVersionRow.promoted_at.desc())
        .limit(1)
    )
    return None if row is None else _record(row)
