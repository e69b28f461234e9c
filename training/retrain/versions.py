"""Which policy a retraining run starts from: an adapter folder, or a registered version
read through the admin API (or, for runs without a service, the registry's repository)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from more_client import AsyncMoreClient

PROMOTED = "promoted"  # `--base-policy promoted`: the version promoted right now
_NOTHING_PROMOTED = (
    "no policy version is promoted (the service runs its configured default): "
    "pass a version name or an adapter folder as --base-policy"
)


class RetrainError(RuntimeError):
    """The job cannot go on (too little data, unknown policy, registration refused)."""


@dataclass
class BasePolicy:
    name: str
    adapter_path: Path


async def resolve_base_policy(
    spec: str, *, api: AsyncMoreClient | None, database_url: str
) -> BasePolicy:
    """An adapter folder as is; otherwise a registered version, read through the admin API
    when `api` is given, else from the service's database (`app.store.policy_versions`, for
    runs without a service). `promoted` means whichever version is promoted now (what a
    scheduled job wants).

    Raises:
        RetrainError: unknown version, nothing promoted, a bare base model, or the registry
            refused the admin key.
    """
    folder = Path(spec).expanduser()
    if (folder / "adapter_config.json").is_file():
        return BasePolicy(folder.resolve().name, folder.resolve())
    if api is not None:
        version = await _version_via_api(api, spec)
    else:
        version = await _version_via_store(database_url, spec)
    name, adapter = version["name"], version.get("adapter_path")
    if not adapter:
        raise RetrainError(
            f"policy version {name!r} is the bare base model: retraining starts from an adapter "
            "(pass an adapter folder, e.g. a scaffold's, as --base-policy)"
        )
    return BasePolicy(name, Path(adapter))


async def _version_via_api(api: AsyncMoreClient, spec: str) -> dict[str, Any]:
    """The version's registry record (`name`, `adapter_path`, ...) from the admin API."""
    from more_client import MoreApiError

    try:
        if spec != PROMOTED:
            return await api.get_policy(spec)
        listed = await api.list_policies()
    except MoreApiError as exc:
        if exc.status == 404:
            raise RetrainError(
                f"no policy version {spec!r} is registered (and no such folder)"
            ) from exc
        if exc.status in (401, 403):
            raise RetrainError(
                f"the registry refused the admin key ({exc.status}): {exc.message}"
            ) from exc
        raise
    promoted = [v for v in listed["data"] if v["status"] == PROMOTED]
    if not promoted:
        raise RetrainError(_NOTHING_PROMOTED)
    return dict(promoted[0])


async def _version_via_store(database_url: str, spec: str) -> dict[str, Any]:
    """The same record from the registry's repository, for runs without a service."""
    from app.store import policy_versions
    from app.store.db import create_db_engine, create_session_factory

    engine = create_db_engine(database_url, pool_size=1)
    try:
        async with create_session_factory(engine)() as db:
            if spec == PROMOTED:
                version = await policy_versions.promoted(db)
            else:
                version = await policy_versions.get(db, name=spec)
    finally:
        await engine.dispose()
    if version is None:
        if spec == PROMOTED:
            raise RetrainError(_NOTHING_PROMOTED)
        raise RetrainError(f"no policy version {spec!r} is registered (and no such folder)")
    return {"name": version.name, "adapter_path": version.adapter_path}
