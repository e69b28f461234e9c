"""Authentication: static keys from the settings, else keys from the database."""

from __future__ import annotations

import hmac
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import AuthenticationError, PermissionDeniedError
from app.core.security import Principal, Scope, hash_key
from app.store import api_keys

# A revoked key keeps working on a replica for at most this long.
_KEY_CACHE_TTL_S = 30.0


class Authenticator:
    def __init__(
        self,
        *,
        db: async_sessionmaker[AsyncSession],
        storefront_key: str | None,
        admin_key: str | None,
    ) -> None:
        self._db = db
        self._static: list[tuple[str, Principal]] = []
        if storefront_key:
            self._static.append(
                (hash_key(storefront_key), Principal("static-storefront", Scope.STOREFRONT))
            )
        if admin_key:
            self._static.append((hash_key(admin_key), Principal("static-admin", Scope.ADMIN)))
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def authenticate(self, token: str | None, *, needed: Scope) -> Principal:
        """The caller behind `token`, if it may act with `needed` scope."""
        if not token:
            raise AuthenticationError(
                "missing API key: send `Authorization: Bearer <key>`", code="missing_api_key"
            )
        principal = await self._lookup(hash_key(token))
        if principal is None:
            raise AuthenticationError("invalid API key")
        if not principal.allows(needed):
            raise PermissionDeniedError(
                f"this API key has scope {principal.scope.value!r}; this endpoint needs "
                f"{needed.value!r}"
            )
        return principal

    async def _lookup(self, key_hash: str) -> Principal | None:
        found: Principal | None = None
        # Compare against every static key, so timing does not reveal which one matched.
        for stored, principal in self._static:
            if hmac.compare_digest(key_hash, stored):
                found = principal
        if found is not None:
            return found
        now = time.monotonic()
        hit = self._cache.get(key_hash)
        if hit is not None and hit[0] > now:
            return hit[1]
        async with self._db() as db:
            record = await api_keys.find_api_key(db, key_hash=key_hash)
        principal = None if record is None else Principal(record.name, record.scope)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key_hash] = (now + _KEY_CACHE_TTL_S, principal)
        return principal
