"""Policy registry: register, promote and roll back policy versions, without a restart.

A policy version is the shared base model plus an optional LoRA adapter, with free-form
metadata and evaluation metrics. Registering one loads its adapter into the running
engine at once (so a broken folder is refused with a clear error and promotion is
instant); promoting it makes it the policy of new sessions outside experiments;
rolling back restores the previously promoted version, or the configured default.
Sessions keep the policy they started with.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import ConflictError, InvalidRequestError, NotFoundError
from app.core.security import Principal
from app.engine.base import Adapter, AdapterError
from app.services.audit import record_change
from app.store import policy_versions as repo

logger = logging.getLogger(__name__)

VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
_VERSION = re.compile(VERSION_PATTERN)
# An absolute POSIX path inside a message (a library's error can carry one).
_ABSOLUTE_PATH = re.compile(r"(?<![\w.])/[^\s'\"`:,;)]+")


class UnknownPolicyVersionError(NotFoundError):
    code = "unknown_policy_version"


class PolicyRegistry:
    def __init__(
        self,
        *,
        db: async_sessionmaker[AsyncSession],
        add_adapter: Callable[[Adapter], Awaitable[None]],
        base_model: str,
        adapters_root: Path,
        on_change: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """`adapters_root`: every registered adapter folder must resolve inside it."""
        self._db = db
        self._add_adapter = add_adapter
        self.base_model = base_model
        self.adapters_root = adapters_root.resolve()
        self._on_change = on_change

    async def register(
        self,
        *,
        principal: Principal,
        name: str,
        adapter_path: str | None,
        details: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> repo.PolicyVersion:
        """Load the adapter into the engine (hot) and record the version (audited)."""
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
            path = str(self.confine(adapter_path))
            try:
                await self._add_adapter(Adapter(name=name, path=path))
            except AdapterError as exc:
                # The full error (paths and all) stays in the server's log.
                logger.warning("adapter of policy %s refused: %s", name, exc)
                raise InvalidRequestError(self._public(str(exc)), param="adapter_path") from exc
        try:
            async with self._db() as db, db.begin():
                version = await repo.create(
                    db,
                    name=name,
                    base_model=self.base_model,
                    adapter_path=path,
                    details=details or {},
                    metrics=metrics or {},
                )
                await record_change(
                    db,
                    principal=principal,
                    action="policy.register",
                    storefront_id=None,  # the registry is shared by every storefront
                    target=name,
                    after=_snapshot(version),
                )
                return version
        except IntegrityError as exc:  # a concurrent registration of the same name
            raise ConflictError(
                f"policy version {name!r} exists", code="policy_version_exists"
            ) from exc

    def confine(self, adapter_path: str) -> Path:
        """The adapter folder `adapter_path` names, which must lie inside the adapters root.

        A relative path is taken relative to the root; symlinks are followed before the
        check, so a link inside the root cannot point the engine elsewhere. The error never
        echoes a resolved server path.
        """
        path = (self.adapters_root / adapter_path).resolve()
        if not path.is_relative_to(self.adapters_root):
            raise InvalidRequestError(
                "adapter_path must be a folder inside the server's adapters root "
                "(MORE_ADAPTERS_ROOT); give it relative to that folder",
                param="adapter_path",
            )
        return path

    def _public(self, message: str) -> str:
        """`message` with server paths made relative to the adapters root, or hidden."""
        message = message.replace(f"{self.adapters_root}/", "").replace(
            str(self.adapters_root), "."
        )
        return _ABSOLUTE_PATH.sub("<path>", message)

    async def get(self, name: str) -> repo.PolicyVersion:
        async with self._db() as db:
            version = await repo.get(db, name=name)
        if version is None:
            raise UnknownPolicyVersionError(f"no policy version {name!r}")
        return version

    async def list(self) -> list[repo.PolicyVersion]:
        async with self._db() as db:
            return await repo.list_all(db)

    async def promote(self, *, principal: Principal, name: str) -> repo.PolicyVersion:
        """New sessions outside experiments get this version from now on (audited)."""
        async with self._db() as db, db.begin():
            before = await repo.promoted(db)
            if await repo.get(db, name=name) is None:
                raise UnknownPolicyVersionError(f"no policy version {name!r}")
            await repo.promote(db, name=name)
            version = await repo.get(db, name=name)
            await record_change(
                db,
                principal=principal,
                action="policy.promote",
                storefront_id=None,
                target=name,
                before={"promoted": before.name if before else None},
                after={"promoted": name},
            )
        await self._changed()
        assert version is not None
        return version

    async def rollback(
        self, *, principal: Principal
    ) -> tuple[repo.PolicyVersion, repo.PolicyVersion | None]:
        """Withdraw the promoted version: (withdrawn, now promoted or None = the default).
        Audited."""
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
            await record_change(
                db,
                principal=principal,
                action="policy.rollback",
                storefront_id=None,
                target=current.name,
                before={"promoted": current.name},
                after={"promoted": previous.name if previous else None},
            )
        await self._changed()
        assert withdrawn is not None
        return withdrawn, previous

    async def _changed(self) -> None:
        if self._on_change is not None:
            await self._on_change()


def _snapshot(version: repo.PolicyVersion) -> dict[str, Any]:
    """A policy version as the audit trail records it."""
    return {
        "name": version.name,
        "base_model": version.base_model,
        "adapter_path": version.adapter_path,
        "status": version.status,
        "details": version.details,
        "metrics": version.metrics,
    }
