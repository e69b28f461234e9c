"""Storefronts and API keys: the operator's use cases, shared by the API and the CLI.

Every change is audited (who, what, when, before/after); secrets and hashes never are.
A new key's plaintext is returned once and never stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import ConflictError, InvalidRequestError, NotFoundError
from app.core.security import STOREFRONT_ID_PATTERN, Principal, Scope, valid_storefront_id
from app.services.audit import record_change
from app.store import api_keys, storefronts
from app.store.api_keys import ApiKeyRecord
from app.store.storefronts import StorefrontRecord

# Key names label callers in rate-limit buckets, idempotency records and the audit trail.
# No `:`: the static keys (`static:admin`) and the CLI (`cli:<user>`) use it, so a stored
# key can never pass for one of them.
KEY_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
_KEY_NAME = re.compile(KEY_NAME_PATTERN)
MAX_GRACE_S = 30 * 86400  # a rotated-out secret never outlives a month


class UnknownApiKeyError(NotFoundError):
    code = "unknown_api_key"


class UnknownStorefrontError(NotFoundError):
    code = "unknown_storefront"


def key_snapshot(record: ApiKeyRecord) -> dict[str, Any]:
    """A key as the audit trail and the API show it: no secret, no hash."""
    return {
        "name": record.name,
        "storefront_id": record.storefront_id,
        "scopes": sorted(scope.value for scope in record.scopes),
        "revoked": record.revoked_at is not None,
    }


class TenancyService:
    """Create and list storefronts; create, list, rotate and revoke their API keys.

    Args:
        db: the database.
        forget_key: called with a key's name after it is rotated or revoked, so this
            replica's authentication cache drops it at once.
    """

    def __init__(
        self,
        *,
        db: async_sessionmaker[AsyncSession],
        forget_key: Callable[[str], None] | None = None,
    ) -> None:
        self._db = db
        self._forget_key = forget_key

    async def create_storefront(
        self, *, principal: Principal, storefront_id: str, name: str
    ) -> StorefrontRecord:
        if not valid_storefront_id(storefront_id):
            raise InvalidRequestError(f"id must match {STOREFRONT_ID_PATTERN}", param="id")
        try:
            async with self._db() as db, db.begin():
                if await storefronts.get_storefront(db, storefront_id=storefront_id):
                    raise _storefront_exists(storefront_id)
                record = await storefronts.create_storefront(
                    db, storefront_id=storefront_id, name=name
                )
                await record_change(
                    db,
                    principal=principal,
                    action="storefront.create",
                    storefront_id=storefront_id,
                    target=storefront_id,
                    after={"id": storefront_id, "name": name},
                )
        except IntegrityError as exc:  # a concurrent create of the same id
            raise _storefront_exists(storefront_id) from exc
        return record

    async def list_storefronts(self) -> list[StorefrontRecord]:
        async with self._db() as db:
            return await storefronts.list_storefronts(db)

    async def create_key(
        self, *, principal: Principal, storefront_id: str, name: str, scopes: Iterable[Scope]
    ) -> tuple[str, ApiKeyRecord]:
        """A new key of `storefront_id`: (plaintext shown once, its record)."""
        if not _KEY_NAME.match(name):
            raise InvalidRequestError(
                "name must be 1-128 letters, digits or `._-`, starting with a letter or digit",
                param="name",
            )
        wanted = frozenset(scopes)
        if not wanted:
            raise InvalidRequestError("give at least one scope", param="scopes")
        try:
            async with self._db() as db, db.begin():
                if await storefronts.get_storefront(db, storefront_id=storefront_id) is None:
                    # 404: the body is valid, the storefront it names does not exist
                    raise UnknownStorefrontError(
                        "unknown storefront: create it first (POST /v1/storefronts or "
                        "`more storefront create`)",
                        param="storefront_id",
                    )
                if await api_keys.get_api_key(db, name=name) is not None:
                    raise _key_exists(name)
                key, record = await api_keys.create_api_key(
                    db, name=name, storefront_id=storefront_id, scopes=wanted
                )
                await record_change(
                    db,
                    principal=principal,
                    action="apikey.create",
                    storefront_id=storefront_id,
                    target=name,
                    after=key_snapshot(record),
                )
        except IntegrityError as exc:  # a concurrent create of the same name
            raise _key_exists(name) from exc
        return key, record

    async def list_keys(self, *, storefront_id: str | None) -> list[ApiKeyRecord]:
        """Every key (None), or one storefront's; revoked ones included."""
        async with self._db() as db:
            return await api_keys.list_api_keys(db, storefront_id=storefront_id)

    async def rotate_key(
        self, *, principal: Principal, name: str, grace_s: float
    ) -> tuple[str, ApiKeyRecord]:
        """A new secret for an active key; the old one keeps working `grace_s` seconds
        (0: stops at once) so the storefront can deploy the new one."""
        if not 0 <= grace_s <= MAX_GRACE_S:
            raise InvalidRequestError(
                f"grace_s must be between 0 and {MAX_GRACE_S}", param="grace_s"
            )
        async with self._db() as db, db.begin():
            rotated = await api_keys.rotate_api_key(db, name=name, grace_s=grace_s)
            if rotated is None:
                raise UnknownApiKeyError("no active API key by that name", param="name")
            key, record = rotated
            await record_change(
                db,
                principal=principal,
                action="apikey.rotate",
                storefront_id=record.storefront_id,
                target=name,
                before=key_snapshot(record),
                after={**key_snapshot(record), "previous_secret_valid_for_s": grace_s},
            )
        if self._forget_key is not None:
            self._forget_key(name)
        return key, record

    async def revoke_key(self, *, principal: Principal, name: str) -> ApiKeyRecord:
        async with self._db() as db, db.begin():
            record = await api_keys.revoke_api_key(db, name=name)
            if record is None:
                raise UnknownApiKeyError("no active API key by that name", param="name")
            await record_change(
                db,
                principal=principal,
                action="apikey.revoke",
                storefront_id=record.storefront_id,
                target=name,
                before={**key_snapshot(record), "revoked": False},
                after=key_snapshot(record),
            )
        if self._forget_key is not None:
            self._forget_key(name)
        return record


def _storefront_exists(storefront_id: str) -> ConflictError:
    return ConflictError(f"storefront {storefront_id!r} already exists", code="storefront_exists")


def _key_exists(name: str) -> ConflictError:
    return ConflictError(f"an API key named {name!r} already exists", code="api_key_exists")
