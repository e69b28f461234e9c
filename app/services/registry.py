"""Policy registry: register, promote and roll back policy versions, without a restart.

A policy version is the shared base model plus an optional LoRA adapter, with free-form
metadata and evaluation metrics. Registering one loads its adapter into the running
engine at once (so a broken folder is refused with a clear error and promotion is
instant); promoting it makes it the policy of new sessions outside experiments;
rolling back restores the previously promoted version, or the configured default.
Sessions keep the policy they started with.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import ConflictError, InvalidRequestError, NotFoundError
from app.engine.base import Adapter, AdapterError
from app.store import policy_versions as repo

VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
_VERSION = re.compile(VERSION_PATTERN)


class UnknownPolicyVersionError(NotFoundError):
    code = "unknown_policy_version"


class PolicyRegistry:
    def __init__(
        self,
        *,
        db: async_sessionmaker[AsyncSession],
        add_adapter: Callable[[Adapter], Awaitable[None]],
        base_model: str,
        on_change: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._db = db
        self._add_adapter = add_adapter
        self.base_model = base_model
        self._on_change = on_change

    async def register(
        self,
        *,
        name: str,
        adapter_path: str | None,
        details: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> repo.PolicyVersion:
        """Load the adapter into the engine (hot) and record the version."""
        if not _VERSION.match(name):
            raise InvalidRequestError(f"name must match {VERSION_PATTERN}", param="name")
        async with self._db() as db:
            if await repo.get(db, name=name) is not None:
                raise ConflictError(
                    f"policy version {name!r} exists: versions are immutable, use a new name",
                    code="policy_version_exists",
                )
        path = None
        if adapter_path:
            path = str(Path(adapter_path).expanduser().resolve())
            try:
                await self._add_adapter(Adapter(name=name, path=path))
            except AdapterError as exc:
                raise InvalidRequestError(str(exc), param="adapter_path") from exc
        try:
            async with self._db() as db, db.begin():
                return await repo.create(
                    db,
                    name=name,
                    base_model=self.base_model,
                    adapter_path=path,
                    details=details or {},
                    metrics=metrics or {},
                )
        except IntegrityError as exc:  # a concurrent registration of the same name
            raise ConflictError(
                f"policy version {name!r} exists", code="policy_version_exists"
            ) from exc

    async def get(self, name: str) -> repo.PolicyVersion:
        async with self._db() as db:
            version = await repo.get(db, name=name)
        if version is None:
            raise UnknownPolicyVersionError(f"no policy version {name!r}")
        return version

    async def list(self) -> list[repo.PolicyVersion]:
        async with self._db() as db:
            return await repo.list_all(db)

    async def promote(self, name: str) -> repo.PolicyVersion:
        """New sessions outside experiments get this version from now on."""
        async with self._db() as db, db.begin():
            if await repo.get(db, name=name) is None:
                raise UnknownPolicyVersionError(f"no policy version {name!r}")
            await repo.promote(db, name=name)
            version = await repo.get(db, name=name)
        await self._changed()
        assert version is not None
        return version

    async def rollback(self) -> tuple[repo.PolicyVersion, repo.PolicyVersion | None]:
        """Withdraw the promoted version: (withdrawn, now promoted or None = the default)."""
        async with self._db() as db, db.begin():
            current = await repo.promoted(db)
            if current is None:
                raise ConflictError(
                    "no policy version is promoted: nothing to roll back",
                    code="nothing_to_roll_back",
                )
            previous = await repo.previously_promoted(db, exclude=current.name)
            if previous is None:
                await repo.demote_current(db, status=repo.ROLLED_BACK)
            else:
                await repo.promote(db, name=previous.name, previous_status=repo.ROLLED_BACK)
                previous = await repo.get(db, name=previous.name)
            withdrawn = await repo.get(db, name=current.name)
        await self._changed()
        assert withdrawn is not None
        return withdrawn, previous

    async def _changed(self) -> None:
        if self._on_change is not None:
            await self._on_change()
