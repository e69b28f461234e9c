"""Which policy a new session gets while experiments run: the storefront's running
experiment assigns a variant (sticky by user, stored in the database), else the
registry's promoted version, else the configured default policy.

Experiment administration is `app.services.experiments`; the hash-slot allocation is
`app.services.assignment`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import metrics
from app.core.errors import (
    DATABASE_DOWN_ERRORS,
    DatabaseUnavailableError,
    NotFoundError,
    ServiceUnavailableError,
)
from app.core.security import DEFAULT_STOREFRONT_ID
from app.engine.base import Adapter, AdapterError
from app.services.assignment import Allocation, allocation_from_json, assign_sticky
from app.services.policies import DEFAULT_VARIANT, Policy, PolicyResolver
from app.store import experiments as repo
from app.store import policy_versions

logger = logging.getLogger(__name__)


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
        except DATABASE_DOWN_ERRORS as exc:  # a clean 503, like every other database outage
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
        for version in await self._versions_at_start():
            adapter = await self._adapter(version)
            if adapter is not None and adapter not in adapters:
                adapters.append(adapter)
        self._engine_has.update(a.name for a in adapters)
        return adapters

    async def serves_base(self) -> bool:
        """Whether some shoppers get the base model without an adapter: the default has
        none, or a running experiment's variant (or the promoted version) has none."""
        if not await self._default.adapters():
            return True
        return any([await self._adapter(v) is None for v in await self._versions_at_start()])

    async def _versions_at_start(self) -> list[str]:
        """The running experiments' policy versions and the promoted one (none when the
        experiments cannot be read: then the default serves everyone)."""
        try:
            running = await self._current()
        except Exception as exc:  # e.g. not migrated yet
            logger.warning("could not read experiments at startup: %s", exc)
            return []
        versions = [v.policy_version for r in running.values() for v in r.record.variants]
        if self._promoted is not None:
            versions.append(self._promoted)
        return versions

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
