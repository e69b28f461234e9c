"""Profile use cases: read (with a short per-replica TTL cache) and upsert, per storefront."""

from __future__ import annotations

from cachetools import TTLCache
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import UnknownUserError
from app.core.security import Principal
from app.domain.profile import Profile
from app.services.audit import record_change
from app.store import profiles as repo

# One message for "no such shopper" whatever the reason (never created, erased, or
# another storefront's): it names no id, so it cannot be used to probe which exist.
UNKNOWN_USER = "no profile for this user_id: create it with PUT /v1/profiles/{user_id}"


class ProfileService:
    """Profiles from the database, cached for `ttl_s` (a replica may serve a profile up to
    `ttl_s` old after another replica updates it; its own updates are seen at once)."""

    def __init__(self, *, db: async_sessionmaker[AsyncSession], ttl_s: float) -> None:
        self._db = db
        # (storefront, user) -> profile; least recently used entries go first under many
        # distinct shoppers. A TTL of 0 caches nothing.
        self._cache: TTLCache[tuple[str, str], Profile] | None = (
            TTLCache(maxsize=10_000, ttl=ttl_s) if ttl_s > 0 else None
        )

    async def get(self, *, storefront_id: str, user_id: str) -> Profile:
        """The storefront's shopper, or `UnknownUserError` (404)."""
        cache_key = (storefront_id, user_id)
        if self._cache is not None and cache_key in self._cache:
            return self._cache[cache_key]
        async with self._db() as db:
            profile = await repo.get_profile(db, storefront_id=storefront_id, user_id=user_id)
        if profile is None:
            self.forget(storefront_id=storefront_id, user_id=user_id)
            raise UnknownUserError(UNKNOWN_USER, param="user_id")
        if self._cache is not None:
            self._cache[cache_key] = profile
        return profile

    async def put(self, *, principal: Principal, profile: Profile) -> tuple[Profile, bool]:
        """Create or replace a shopper of the caller's storefront (audited); returns the
        profile and whether it was created."""
        storefront_id = principal.storefront_id
        async with self._db() as db, db.begin():
            previous, created = await repo.upsert_profile(
                db, storefront_id=storefront_id, profile=profile
            )
            await record_change(
                db,
                principal=principal,
                action="profile.put",
                storefront_id=storefront_id,
                target=profile.user_id,
                before=previous.model_dump(mode="json") if previous else None,
                after=profile.model_dump(mode="json"),
            )
        self.forget(storefront_id=storefront_id, user_id=profile.user_id)
        return profile, created

    def forget(self, *, storefront_id: str, user_id: str) -> None:
        """Drop this replica's cached copy (after a change or an erasure)."""
        if self._cache is not None:
            self._cache.pop((storefront_id, user_id), None)
