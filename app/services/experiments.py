"""A/B experiments: definitions, ramps, sticky assignment in chat, and the report.

An experiment has variants (control first), each pointing at a policy version, with
weights; its allocation of hash slots is versioned and changes minimally on a ramp
(`app.services.assignment`). Experiments belong to a storefront, whose admin creates,
ramps, starts, stops and reads them; their variants name versions of the shared policy
registry (which only operators change). At most one experiment per storefront runs at a
time: it decides the policy of that storefront's new sessions; a session keeps the
policy it started with.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import metrics
from app.core.errors import (
    ConflictError,
    DatabaseUnavailableError,
    InvalidRequestError,
    NotFoundError,
    ServiceUnavailableError,
)
from app.core.security import DEFAULT_STOREFRONT_ID, Principal
from app.engine.base import Adapter, AdapterError
from app.services.analysis import ExperimentReport, VariantAggregate, analyse
from app.services.assignment import (
    Allocation,
    AllocationError,
    ExperimentStatus,
    allocation_from_json,
    allocation_shares,
    allocation_to_json,
    assign_sticky,
    initial_allocation,
    reallocate,
    slot_counts,
)
from app.services.audit import record_change
from app.services.events import DB_DOWN_ERRORS
from app.services.policies import DEFAULT_VARIANT, Policy, PolicyResolver
from app.store import experiments as repo
from app.store import outcomes, policy_versions

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


class _DbAssignmentStore:
    """`AssignmentStore` on the experiment_assignments table, inside one transaction."""

    def __init__(
        self, db: AsyncSession, *, storefront_id: str, experiment_id: int, version: int
    ) -> None:
        self._db = db
        self._storefront_id = storefront_id
        self._experiment_id = experiment_id
        self._version = version

    async def get(self, *, experiment: str, user_id: str) -> str | None:
        return await repo.get_assignment(
            self._db,
            storefront_id=self._storefront_id,
            experiment_id=self._experiment_id,
            user_id=user_id,
        )

    async def put_if_absent(
        self, *, experiment: str, user_id: str, variant: str
    ) -> tuple[str, bool]:
        return await repo.put_assignment(
            self._db,
            storefront_id=self._storefront_id,
            experiment_id=self._experiment_id,
            user_id=user_id,
            variant=variant,
            version=self._version,
        )


@dataclass(frozen=True)
class _Running:
    record: repo.ExperimentRecord
    allocation: Allocation


class ExperimentPolicyResolver(PolicyResolver):
    """The variant of the storefront's running experiment for a new session; otherwise
    the registry's promoted policy version, else the configured default policy.

    Every storefront's running experiment and the promoted version are cached for
    `refresh_s` (and
    reloaded at once when the admin API changes either), so a turn costs one indexed
    assignment lookup, and only on a session's first turn. Adapters of policy versions
    are added to the engine the first time they are needed, without a restart.
    """

    def __init__(
        self,
        *,
        db: async_sessionmaker[AsyncSession],
        default: PolicyResolver,
        refresh_s: float = 5.0,
    ) -> None:
        self._db = db
        self._default = default
        self._refresh_s = refresh_s
        self._running: dict[str, _Running] = {}  # storefront -> its running experiment
        self._promoted: str | None = None  # promoted policy version, if any
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()
        self._adapters: dict[str, Adapter | None] = {}
        self._add_adapter: Callable[[Adapter], Awaitable[None]] | None = None
        self._engine_has: set[str] = set()

    def bind_engine(self, add_adapter: Callable[[Adapter], Awaitable[None]]) -> None:
        """How to load an adapter into the engine without a restart."""
        self._add_adapter = add_adapter

    async def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    async def resolve(
        self,
        *,
        storefront_id: str,
        user_id: str,
        session_variant: str | None = None,
        session_policy_version: str | None = None,
    ) -> Policy:
        try:
            return await self._resolve(
                storefront_id, user_id, session_variant, session_policy_version
            )
        except DB_DOWN_ERRORS as exc:  # a clean 503, like every other database outage
            logger.error("policy resolution failed, database unavailable: %s", exc)
            raise DatabaseUnavailableError(
                "the database is unavailable; retry shortly", retry_after_s=5
            ) from exc

    async def _resolve(
        self,
        storefront_id: str,
        user_id: str,
        session_variant: str | None,
        session_policy_version: str | None,
    ) -> Policy:
        if session_policy_version is not None:
            # A session keeps the policy it started with, even after a ramp or a stop.
            try:
                return await self._policy(
                    session_variant or "default", session_policy_version, None
                )
            except NotFoundError:  # a version from an older configuration, never registered
                return await self._default.resolve(storefront_id=storefront_id, user_id=user_id)
        policy = await self._new_session_policy(storefront_id, user_id)
        metrics.SESSIONS_STARTED.labels(policy.variant).inc()
        return policy

    async def _new_session_policy(self, storefront_id: str, user_id: str) -> Policy:
        running = (await self._current()).get(storefront_id)
        if running is None:
            if self._promoted is not None:  # the registry's promoted version
                return await self._policy(DEFAULT_VARIANT, self._promoted, None)
            return await self._default.resolve(storefront_id=storefront_id, user_id=user_id)
        record = running.record
        async with self._db() as db, db.begin():
            store = _DbAssignmentStore(
                db,
                storefront_id=storefront_id,
                experiment_id=record.id,
                version=record.allocation_version,
            )
            assignment = await assign_sticky(
                store,
                experiment=record.name,
                salt=record.salt,
                allocation=running.allocation,
                user_id=user_id,
            )
        if assignment.new:
            metrics.EXPERIMENT_ASSIGNMENTS.labels(assignment.variant).inc()
        spec = next((v for v in record.variants if v.name == assignment.variant), None)
        if spec is None:  # only if a variant were removed: serve the default policy
            return await self._default.resolve(storefront_id=storefront_id, user_id=user_id)
        return await self._policy(spec.name, spec.policy_version, record.name)

    async def adapters(self) -> list[Adapter]:
        """Adapters to load at startup: the default's and the running experiments'."""
        adapters = list(await self._default.adapters())
        try:
            running = await self._current()
        except Exception as exc:  # e.g. not migrated yet: serve the default policy
            logger.warning("could not read experiments at startup: %s", exc)
            return adapters
        versions = [v.policy_version for r in running.values() for v in r.record.variants]
        if self._promoted is not None:
            versions.append(self._promoted)
        for version in versions:
            adapter = await self._adapter(version)
            if adapter is not None and adapter not in adapters:
                adapters.append(adapter)
        self._engine_has.update(a.name for a in adapters)
        return adapters

    async def serves_only_default(self) -> bool:
        """No experiment running and no version promoted: every shopper gets the default
        policy (so it may be served merged into the base weights)."""
        try:
            running = await self._current()
        except Exception as exc:  # e.g. not migrated yet: nothing else can be served
            logger.warning("could not read experiments at startup: %s", exc)
            return True
        return not running and self._promoted is None

    async def _current(self) -> dict[str, _Running]:
        """storefront -> its running experiment (one query for every storefront)."""
        if time.monotonic() - self._loaded_at < self._refresh_s:
            return self._running
        async with self._lock:
            if time.monotonic() - self._loaded_at >= self._refresh_s:
                async with self._db() as db:
                    running = await repo.running_experiments(db, storefront_id=None)
                    promoted = await policy_versions.promoted(db)
                self._promoted = promoted.name if promoted else None
                current: dict[str, _Running] = {}
                for record in running:  # oldest first: at most one per storefront anyway
                    current.setdefault(
                        record.storefront_id,
                        _Running(record, allocation_from_json(record.ranges)),
                    )
                self._running = current
                self._loaded_at = time.monotonic()
        return self._running

    async def _policy(self, variant: str, version: str, experiment: str | None) -> Policy:
        default = await self._default.resolve(storefront_id=DEFAULT_STOREFRONT_ID, user_id="")
        if version == default.version:
            return Policy(variant, version, default.adapter, experiment)
        adapter = await self._adapter(version)
        if adapter is not None and adapter.name not in self._engine_has:
            if self._add_adapter is not None:
                try:
                    await self._add_adapter(adapter)  # hot-load: no restart
                except AdapterError as exc:
                    # Serving another policy instead would corrupt the experiment.
                    logger.error("policy %s cannot be served: %s", version, exc)
                    raise ServiceUnavailableError(
                        f"policy version {version!r} cannot be loaded; retry later",
                        code="policy_unavailable",
                        retry_after_s=30,
                    ) from exc
            self._engine_has.add(adapter.name)
        return Policy(variant, version, adapter, experiment)

    async def _adapter(self, version: str) -> Adapter | None:
        if version not in self._adapters:
            async with self._db() as db:
                record = await repo.get_policy_version(db, name=version)
            if record is None:
                raise NotFoundError(f"policy version {version!r} is not registered")
            self._adapters[version] = (
                Adapter(name=version, path=record.adapter_path) if record.adapter_path else None
            )
        return self._adapters[version]


DEFAULT_EXPERIMENT = "sft-vs-more"


def _adapter_dir(path: Path) -> bool:
    return (path / "adapter_config.json").is_file()


async def ensure_default_experiment(
    db: async_sessionmaker[AsyncSession],
    *,
    adapters_dir: Path,
    base_model: str,
    base_version: str = "base",
) -> repo.ExperimentRecord | None:
    """The embedded default: a running 50/50 "sft-vs-more" between the shipped adapters.

    `adapters_dir/sft` and `adapters_dir/more` are PEFT adapter folders; with only the
    MORE adapter the control is the bare base model, registered as `base_version` without
    an adapter. It belongs to the default storefront. Nothing happens when no MORE adapter
    is shipped, when the experiment exists, or when another one is running there.
    """
    more, sft = adapters_dir / "more", adapters_dir / "sft"
    if not _adapter_dir(more):
        return None
    storefront_id = DEFAULT_STOREFRONT_ID
    async with db() as session, session.begin():
        if (
            await repo.get_experiment(session, storefront_id=storefront_id, name=DEFAULT_EXPERIMENT)
            is not None
        ):
            return None
        if await repo.running_experiments(session, storefront_id=storefront_id):
            return None
        await repo.ensure_policy_version(
            session, name="more-v1", base_model=base_model, adapter_path=str(more.resolve())
        )
        control = ("sft", "sft-v1") if _adapter_dir(sft) else ("base", base_version)
        if _adapter_dir(sft):
            await repo.ensure_policy_version(
                session, name="sft-v1", base_model=base_model, adapter_path=str(sft.resolve())
            )
        else:
            await repo.ensure_policy_version(
                session, name=base_version, base_model=base_model, adapter_path=None
            )
        weights = {control[0]: 0.5, "more": 0.5}
        record = await repo.create_experiment(
            session,
            storefront_id=storefront_id,
            name=DEFAULT_EXPERIMENT,
            salt=DEFAULT_EXPERIMENT,
            status=ExperimentStatus.RUNNING.value,
            variants=[
                repo.VariantRecord(control[0], 0.5, control[1], 0),
                repo.VariantRecord("more", 0.5, "more-v1", 1),
            ],
            weights=weights,
            ranges=allocation_to_json(initial_allocation(weights)),
        )
    logger.info("started the default experiment %s: %s vs more", DEFAULT_EXPERIMENT, control[0])
    return record
