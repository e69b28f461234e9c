"""Authentication: static keys from the settings, else keys from the database.

Every key belongs to a storefront. The static keys belong to the default storefront: the
storefront key has the `storefront` scope, the admin key `admin` and `operator` (it is
the bootstrap key that registers policies and creates storefronts and keys).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from cachetools import TTLCache
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import AuthenticationError, PermissionDeniedError
from app.core.security import DEFAULT_STOREFRONT_ID, Principal, Scope, hash_key
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
        # Named with a `:`, which stored key names cannot contain: never mistaken for one.
        if storefront_key:
            shop = Principal(
                "static:storefront", DEFAULT_STOREFRONT_ID, frozenset({Scope.STOREFRONT})
            )
            self._static.append((hash_key(storefront_key), shop))
        if admin_key:
            admin = Principal(
                "static:admin", DEFAULT_STOREFRONT_ID, frozenset({Scope.ADMIN, Scope.OPERATOR})
            )
            self._static.append((hash_key(admin_key), admin))
        # Key hash -> who it is (None: no such key), for a short while; least recently used
        # entries go first when many distinct keys are tried.
        self._cache: TTLCache[str, Principal | None] = TTLCache(
            maxsize=10_000, ttl=_KEY_CACHE_TTL_S
        )

    async def identify(self, token: str | None) -> Principal:
        """The caller behind `token`, whatever it may do; `AuthenticationError` if none."""
        if not token:
            raise AuthenticationError(
                "missing API key: send `Authorization: Bearer <key>`", code="missing_api_key"
            )
        principal = await self._lookup(hash_key(token))
        if principal is None:
            raise AuthenticationError("invalid API key")
        return principal

    async def authenticate(
        self, token: str | None, *, needed: Scope | Iterable[Scope]
    ) -> Principal:
        """The caller behind `token`, if it may act with `needed` scope (or any of several)."""
        principal = await self.identify(token)
        wanted = (needed,) if isinstance(needed, Scope) else tuple(needed)
        if not principal.allows_any(wanted):
            has = " ".join(sorted(scope.value for scope in principal.scopes))
            needs = " or ".join(repr(scope.value) for scope in wanted)
            raise PermissionDeniedError(
                f"this API key has scope {has!r}; this endpoint needs {needs}"
            )
        return principal

    def forget_key(self, name: str) -> None:
        """Stop this replica reusing a cached lookup of the key `name` (revoked or
        rotated here; other replicas notice within the cache TTL)."""
        for key_hash, principal in list(self._cache.items()):
            if principal is not None and principal.key_name == name:
                self._cache.pop(key_hash, None)

    async def has_keys(self) -> bool:
        """Whether any key can authenticate: a static one, or an active one in the database."""
        if self._static:
            return True
        async with self._db() as db:
            return await api_keys.any_active_key(db)

    async def _lookup(self, key_hash: str) -> Principal | None:
        found: Principal | None = None
        # Compare against every static key, so timing does not reveal which one matched.
        for stored, principal in self._static:
            if hmac.compare_digest(key_hash, stored):
                found = principal
        if found is not None:
            return found
        if key_hash in self._cache:
            return self._cache[key_hash]
        async with self._db() as db:
            record = await api_keys.find_api_key(db, key_hash=key_hash)
        principal = (
            None if record is None else Principal(record.name, record.storefront_id, record.scopes)
        )
        self._cache[key_hash] = principal
        return principal
