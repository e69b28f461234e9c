"""Profile use cases: read (with a short per-replica TTL cache) and upsert."""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import UnknownUserError
from app.domain.profile import Profile
from app.store import profiles as repo


class ProfileService:
    """Profiles from the database, cached for `ttl_s` (a replica may serve a profile up to
    `ttl_s` old after another replica updates it; its own updates are seen at once)."""

    def __init__(self, *, db: async_sessionmaker[AsyncSession], ttl_s: float) -> None:
        self._db = db
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[float, Profile]] = {}

    async def get(self, user_id: str) -> Profile:
        now = time.monotonic()
        hit = self._cache.get(user_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        async with self._db() as db:
            profile = await repo.get_profile(db, user_id=user_id)
        if profile is None:
            self._cache.pop(user_id, None)
            raise UnknownUserError(
                f"no profile for user_id {user_id!r}: create it with PUT /v1/profiles/{user_id}",
                param="user_id",
            )
        if self._ttl_s > 0:
            if len(self._cache) > 10_000:  # bounded memory under many distinct users
                self._cache.clear()
            self._cache[user_id] = (now + self._ttl_s, profile)
        return profile

    async def put(self, profile: Profile) -> tuple[Profile, bool]:
        """Create or replace; returns the profile and whether it was created."""
        async with self._db() as db, db.begin():
            saved, created = await repo.upsert_profile(db, profile=profile)
        self._cache.pop(profile.user_id, None)
        return saved, created
