"""Experiments repository: definitions, versioned allocations and sticky assignments.

Allocations are stored as JSON slot ranges; turning them into objects and deciding who
gets what is `app.services.assignment`'s job (the store imports nothing above it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import (
    ExperimentAllocationRow,
    ExperimentAssignmentRow,
    ExperimentRow,
    ExperimentVariantRow,
    PolicyVersionRow,
    utcnow,
)


@dataclass(frozen=True)
class VariantRecord:
    name: str
    weight: float
    policy_version: str
    position: int  # 0 = control


@dataclass(frozen=True)
class ExperimentRecord:
    id: int
    storefront_id: str
    name: str
    salt: str
    status: str
    variants: tuple[VariantRecord, ...]  # by position: control first
    allocation_version: int
    ranges: list[Any]  # [[start, end, variant], ...] of the current version
    created_at: datetime | None
    updated_at: datetime | None

    @property
    def control(self) -> str:
        return self.variants[0].name


@dataclass(frozen=True)
class PolicyVersionRecord:
    name: str
    base_model: str
    adapter_path: str | None


async def get_experiment(
    db: AsyncSession, *, storefront_id: str, name: str
) -> ExperimentRecord | None:
    row = await db.scalar(
        select(ExperimentRow).where(
            ExperimentRow.storefront_id == storefront_id, ExperimentRow.name == name
        )
    )
    return None if row is None else await _record(db, row)


async def list_experiments(db: AsyncSession, *, storefront_id: str) -> list[ExperimentRecord]:
    rows = await db.scalars(
        select(ExperimentRow)
        .where(ExperimentRow.storefront_id == storefront_id)
        .order_by(ExperimentRow.id)
    )
    return [await _record(db, row) for row in rows]


async def running_experiments(
    db: AsyncSession, *, storefront_id: str | None
) -> list[ExperimentRecord]:
    """Running experiments of one storefront, or of every storefront (None: the policy
    resolver loads them all at once)."""
    query = select(ExperimentRow).where(ExperimentRow.status == "running")
    if storefront_id is not None:
        query = query.where(ExperimentRow.storefront_id == storefront_id)
    rows = await db.scalars(query.order_by(ExperimentRow.id))
    return [await _record(db, row) for row in rows]


async def create_experiment(
    db: AsyncSession,
    *,
    storefront_id: str,
    name: str,
    salt: str,
    status: str,
    variants: Sequence[VariantRecord],
    weights: dict[str, float],
    ranges: list[Any],
) -> ExperimentRecord:
    row = ExperimentRow(storefront_id=storefront_id, name=name, salt=salt, status=status)
    db.add(row)
    await db.flush()
    for v in variants:
        db.add(
            ExperimentVariantRow(
                experiment_id=row.id,
                name=v.name,
                weight=v.weight,
                policy_version=v.policy_version,
                position=v.position,
            )
        )
    db.add(ExperimentAllocationRow(experiment_id=row.id, version=1, weights=weights, ranges=ranges))
    await db.flush()
    return await _record(db, row)


async def update_status(db: AsyncSession, *, experiment_id: int, status: str) -> None:
    row = await db.get(ExperimentRow, experiment_id)
    assert row is not None
    row.status = status
    row.updated_at = utcnow()
    await db.flush()


async def add_allocation(
    db: AsyncSession,
    *,
    experiment_id: int,
    version: int,
    weights: dict[str, float],
    ranges: list[Any],
) -> None:
    """Record a new allocation version and the variants' new weights."""
    db.add(
        ExperimentAllocationRow(
            experiment_id=experiment_id, version=version, weights=weights, ranges=ranges
        )
    )
    rows = await db.scalars(
        select(ExperimentVariantRow).where(ExperimentVariantRow.experiment_id == experiment_id)
    )
    for row in rows:
        row.weight = float(weights.get(row.name, 0.0))
    experiment = await db.get(ExperimentRow, experiment_id)
    assert experiment is not None
    experiment.updated_at = utcnow()
    await db.flush()


async def allocation_history(db: AsyncSession, *, experiment_id: int) -> dict[int, list[Any]]:
    """version -> ranges, every version ever used."""
    rows = await db.execute(
        select(ExperimentAllocationRow.version, ExperimentAllocationRow.ranges).where(
            ExperimentAllocationRow.experiment_id == experiment_id
        )
    )
    return {version: ranges for version, ranges in rows}


async def get_assignment(
    db: AsyncSession, *, storefront_id: str, experiment_id: int, user_id: str
) -> str | None:
    return await db.scalar(
        select(ExperimentAssignmentRow.variant).where(
            ExperimentAssignmentRow.storefront_id == storefront_id,
            ExperimentAssignmentRow.experiment_id == experiment_id,
            ExperimentAssignmentRow.user_id == user_id,
        )
    )


async def put_assignment(
    db: AsyncSession,
    *,
    storefront_id: str,
    experiment_id: int,
    user_id: str,
    variant: str,
    version: int,
) -> tuple[str, bool]:
    """Store the user's variant unless one exists: (stored variant, inserted now).

    `ON CONFLICT DO NOTHING` settles races between replicas: the first writer wins
    and everybody reads its value back.
    """
    insert = postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert
    inserted = await db.scalar(
        insert(ExperimentAssignmentRow)
        .values(
            storefront_id=storefront_id,
            experiment_id=experiment_id,
            user_id=user_id,
            variant=variant,
            allocation_version=version,
        )
        .on_conflict_do_nothing(index_elements=["storefront_id", "user_id", "experiment_id"])
        .returning(ExperimentAssignmentRow.variant)
    )
    if inserted is not None:
        return inserted, True
    stored = await get_assignment(
        db, storefront_id=storefront_id, experiment_id=experiment_id, user_id=user_id
    )
    assert stored is not None
    return stored, False


async def assignment_counts(db: AsyncSession, *, experiment_id: int) -> dict[tuple[str, int], int]:
    """(variant, allocation version) -> assigned users."""
    rows = await db.execute(
        select(
            ExperimentAssignmentRow.variant,
            ExperimentAssignmentRow.allocation_version,
            func.count(),
        )
        .where(ExperimentAssignmentRow.experiment_id == experiment_id)
        .group_by(ExperimentAssignmentRow.variant, ExperimentAssignmentRow.allocation_version)
    )
    return {(variant, version): n for variant, version, n in rows}


async def get_policy_version(db: AsyncSession, *, name: str) -> PolicyVersionRecord | None:
    row = await db.get(PolicyVersionRow, name)
    if row is None:
        return None
    return PolicyVersionRecord(row.name, row.base_model, row.adapter_path)


async def ensure_policy_version(
    db: AsyncSession, *, name: str, base_model: str, adapter_path: str | None
) -> PolicyVersionRecord:
    """Register a policy version if it is missing (used to seed the default experiment)."""
    row = await db.get(PolicyVersionRow, name)
    if row is None:
        row = PolicyVersionRow(
            name=name, base_model=base_model, adapter_path=adapter_path, details={}, metrics={}
        )
        db.add(row)
        await db.flush()
    return PolicyVersionRecord(row.name, row.base_model, row.adapter_path)


async def _record(db: AsyncSession, row: ExperimentRow) -> ExperimentRecord:
    variants = await db.scalars(
        select(ExperimentVariantRow)
        .where(ExperimentVariantRow.experiment_id == row.id)
        .order_by(ExperimentVariantRow.position, ExperimentVariantRow.id)
    )
    allocation = await db.scalar(
        select(ExperimentAllocationRow)
        .where(ExperimentAllocationRow.experiment_id == row.id)
        .order_by(ExperimentAllocationRow.version.desc())
        .limit(1)
    )
    return ExperimentRecord(
        id=row.id,
        storefront_id=row.storefront_id,
        name=row.name,
        salt=row.salt,
        status=row.status,
        variants=tuple(
            VariantRecord(v.name, v.weight, v.policy_version, v.position) for v in variants
        ),
        allocation_version=allocation.version if allocation else 0,
        ranges=list(allocation.ranges) if allocation else [],
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
