"""A/B experiments: definitions, ramps, the report (assignment in chat: `experiment_policies`).

An experiment has variants (control first), each pointing at a policy version, with
weights; its allocation of hash slots is versioned and changes minimally on a ramp
(`app.services.assignment`). Experiments belong to a storefront, whose admin creates,
ramps, starts, stops and reads them; their variants name versions of the shared policy
registry (which only operators change). At most one experiment per storefront runs at a
time: it decides the policy of that storefront's new sessions; a session keeps the
policy it started with.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
)
from app.core.security import Principal
from app.services.analysis import ExperimentReport, VariantAggregate, analyse
from app.services.assignment import (
    Allocation,
    AllocationError,
    ExperimentStatus,
    allocation_from_json,
    allocation_shares,
    allocation_to_json,
    initial_allocation,
    reallocate,
    slot_counts,
)
from app.services.audit import record_change
from app.store import experiments as repo
from app.store import outcomes

logger = logging.getLogger(__name__)

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)


class UnknownExperimentError(NotFoundError):
    code = "unknown_experiment"


# Names no experiment: another storefront's answer exactly like one that does not exist.
UNKNOWN_EXPERIMENT = "unknown experiment: GET /v1/experiments lists this storefront's"


@dataclass(frozen=True)
class VariantInput:
    name: str
    weight: float
    policy_version: str


class ExperimentService:
    """Admin use cases: create, ramp, start/stop, report."""

    def __init__(
        self,
        *,
        db: async_sessionmaker[AsyncSession],
        on_change: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._db = db
        self._on_change = on_change  # e.g. the resolver reloading the running experiment

    async def create(
        self,
        *,
        principal: Principal,
        name: str,
        variants: Sequence[VariantInput],
        salt: str | None = None,
        status: ExperimentStatus = ExperimentStatus.DRAFT,
    ) -> repo.ExperimentRecord:
        """Define an experiment of the caller's storefront (audited)."""
        storefront_id = principal.storefront_id
        if not _NAME.match(name):
            raise InvalidRequestError(f"name must match {NAME_PATTERN}", param="name")
        if len(variants) < 2:
            raise InvalidRequestError("an experiment needs at least two variants", param="variants")
        names = [v.name for v in variants]
        if len(set(names)) != len(names):
            # 409, not 422: a body can be well formed and still collide with itself (no
            # JSON Schema keyword says "unique by name"), like a name already taken.
            raise ConflictError(
                "variant names must be unique", code="duplicate_variant_name", param="variants"
            )
        for v in variants:
            if not _NAME.match(v.name):
                raise InvalidRequestError(
                    f"variant names must match {NAME_PATTERN}", param="variants"
                )
        weights = {v.name: float(v.weight) for v in variants}
        allocation = _allocation(weights)
        async with self._db() as db, db.begin():
            for v in variants:
                if await repo.get_policy_version(db, name=v.policy_version) is None:
                    # The body is fine; the registry's state is not there yet.
                    raise ConflictError(
                        f"unknown policy version {v.policy_version!r}: register it first",
                        code="unknown_policy_version",
                        param="variants",
                    )
            if await repo.get_experiment(db, storefront_id=storefront_id, name=name) is not None:
                raise ConflictError(f"experiment {name!r} already exists", code="experiment_exists")
            if status is ExperimentStatus.RUNNING:
                await _only_one_running(db, storefront_id, name)
            try:
                record = await repo.create_experiment(
                    db,
                    storefront_id=storefront_id,
                    name=name,
                    salt=salt or name,
                    status=status.value,
                    variants=[
                        repo.VariantRecord(v.name, float(v.weight), v.policy_version, i)
                        for i, v in enumerate(variants)
                    ],
                    weights=weights,
                    ranges=allocation_to_json(allocation),
                )
            except IntegrityError as exc:  # a concurrent create with the same name
                raise ConflictError(
                    f"experiment {name!r} already exists", code="experiment_exists"
                ) from exc
            await record_change(
                db,
                principal=principal,
                action="experiment.create",
                storefront_id=storefront_id,
                target=name,
                after=snapshot(record),
            )
        await self._changed()
        return record

    async def update(
        self,
        *,
        principal: Principal,
        name: str,
        weights: dict[str, float] | None = None,
        status: ExperimentStatus | None = None,
    ) -> repo.ExperimentRecord:
        """Ramp weights (minimal reallocation; assigned users stay) and/or change status
        of one of the caller's storefront's experiments (audited)."""
        storefront_id = principal.storefront_id
        async with self._db() as db, db.begin():
            record = before = await self._get(db, storefront_id, name)
            if weights is not None:
                known = {v.name for v in record.variants}
                if set(weights) != known:
                    raise ConflictError(
                        f"weights must name exactly the variants {sorted(known)}",
                        code="variant_mismatch",
                        param="weights",
                    )
                current = allocation_from_json(record.ranges)
                ordered = {v.name: float(weights[v.name]) for v in record.variants}
                new = _reallocate(current, ordered)
                if new != current:
                    await repo.add_allocation(
                        db,
                        experiment_id=record.id,
                        version=record.allocation_version + 1,
                        weights=ordered,
                        ranges=allocation_to_json(new),
                    )
            if status is not None and status.value != record.status:
                if status is ExperimentStatus.DRAFT:
                    raise InvalidRequestError(
                        "an experiment cannot go back to draft", param="status"
                    )
                if status is ExperimentStatus.RUNNING:
                    await _only_one_running(db, storefront_id, name)
                await repo.update_status(db, experiment_id=record.id, status=status.value)
            record = await self._get(db, storefront_id, name)
            await record_change(
                db,
                principal=principal,
                action="experiment.update",
                storefront_id=storefront_id,
                target=name,
                before=snapshot(before),
                after=snapshot(record),
            )
        await self._changed()
        return record

    async def get(self, *, storefront_id: str, name: str) -> repo.ExperimentRecord:
        async with self._db() as db:
            return await self._get(db, storefront_id, name)

    async def list(self, *, storefront_id: str) -> list[repo.ExperimentRecord]:
        async with self._db() as db:
            return await repo.list_experiments(db, storefront_id=storefront_id)

    async def report(
        self, *, storefront_id: str, name: str, alpha: float = 0.05
    ) -> ExperimentReport:
        """Per-variant outcomes with lifts, intervals, p-values and the SRM check."""
        async with self._db() as db:
            record = await self._get(db, storefront_id, name)
            counts = await outcomes.experiment_counts(
                db, storefront_id=storefront_id, experiment=name
            )
            assigned = await repo.assignment_counts(db, experiment_id=record.id)
            history = await repo.allocation_history(db, experiment_id=record.id)
        units: dict[str, int] = {}
        for (variant, _), n in assigned.items():
            units[variant] = units.get(variant, 0) + n
        aggregates = []
        for v in record.variants:
            c = counts.get(v.name) or outcomes.VariantCounts(v.name)
            aggregates.append(
                VariantAggregate(
                    variant=v.name,
                    sessions=c.sessions,
                    conversions=c.conversions,
                    offer_sessions=c.offer_sessions,
                    offer_conversions=c.offer_conversions,
                    handoffs=c.handoffs,
                    satisfaction=tuple(c.satisfaction),  # type: ignore[arg-type]
                    units=units.get(v.name, 0) if assigned else None,
                    checked_turns=c.checked_turns,
                    raw_passed_turns=c.raw_passed_turns,
                    intervened_turns=c.intervened_turns,
                )
            )
        return analyse(
            aggregates,
            control=record.control,
            expected_shares=_expected_shares(record, assigned, history),
            experiment=name,
            alpha=alpha,
        )

    async def _get(self, db: AsyncSession, storefront_id: str, name: str) -> repo.ExperimentRecord:
        record = await repo.get_experiment(db, storefront_id=storefront_id, name=name)
        if record is None:
            raise UnknownExperimentError(UNKNOWN_EXPERIMENT)
        return record

    async def _changed(self) -> None:
        if self._on_change is not None:
            await self._on_change()


def snapshot(record: repo.ExperimentRecord) -> dict[str, Any]:
    """An experiment as the audit trail records it."""
    return {
        "name": record.name,
        "status": record.status,
        "salt": record.salt,
        "allocation_version": record.allocation_version,
        "variants": [
            {"name": v.name, "weight": v.weight, "policy_version": v.policy_version}
            for v in record.variants
        ],
    }


def effective_shares(record: repo.ExperimentRecord) -> dict[str, float]:
    """Each variant's share of the hash space in the current allocation."""
    shares = allocation_shares(allocation_from_json(record.ranges)) if record.ranges else {}
    return {v.name: shares.get(v.name, 0.0) for v in record.variants}


# Every weight the schema allows (0 to 1000) is valid on its own; only a set of weights
# that leaves no variant any traffic (all zero) cannot be allocated: a 409 like the other
# cross-field conflicts, since JSON Schema cannot state "some weight is positive".
def _allocation(weights: dict[str, float]) -> Allocation:
    try:
        return initial_allocation(weights)
    except AllocationError as exc:
        raise ConflictError(str(exc), code="invalid_allocation", param="variants") from exc


def _reallocate(current: Allocation, weights: dict[str, float]) -> Allocation:
    try:
        slot_counts(weights)  # validates
        return reallocate(current, weights)
    except AllocationError as exc:
        raise ConflictError(str(exc), code="invalid_allocation", param="weights") from exc


async def _only_one_running(db: AsyncSession, storefront_id: str, name: str) -> None:
    for other in await repo.running_experiments(db, storefront_id=storefront_id):
        if other.name != name:
            raise ConflictError(
                f"experiment {other.name!r} is running: stop it first (one experiment decides "
                "the policy of the storefront's new sessions)",
                code="experiment_running",
            )


def _expected_shares(
    record: repo.ExperimentRecord,
    assigned: dict[tuple[str, int], int],
    history: dict[int, list],
) -> dict[str, float]:
    """Expected share per variant of the assigned users, given when they were assigned.

    Users assigned under allocation version k were split by version k's shares, so the
    expected share is the user-weighted average of the versions' shares. Without a ramp
    this is just the weights.
    """
    names = [v.name for v in record.variants]
    per_version: dict[int, int] = {}
    for (_, version), n in assigned.items():
        per_version[version] = per_version.get(version, 0) + n
    total = sum(per_version.values())
    if total == 0:
        return {name: effective_shares(record)[name] for name in names}
    expected = dict.fromkeys(names, 0.0)
    for version, n in per_version.items():
        shares = allocation_shares(allocation_from_json(history[version]))
        for name in names:
            expected[name] += n / total * shares.get(name, 0.0)
    return expected
