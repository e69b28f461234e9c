"""A shopper's data on request: export everything stored about them, or erase it; and
the retention purge of old messages.

Erasure (`DELETE /v1/profiles/{user_id}`) removes the profile, sessions, messages,
stored chat responses and experiment assignments, and keeps the shopper's outcome events
anonymised (`app.store.shoppers`), so conversion and handoff counts survive while
nothing links them to the person. Audit entries about the shopper lose their
before/after state (the personal data) but keep who did what when. Another storefront's
shopper is exactly as unknown as one that never existed.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import UnknownUserError, database_call
from app.core.security import Principal
from app.services.audit import record_change
from app.services.profiles import UNKNOWN_USER, ProfileService
from app.store import audit, conversations, idempotency, shoppers
from app.store.models import utcnow
from app.store.sessions import CacheUnavailableError, SessionCache
from app.store.shoppers import ErasureCounts, ShopperData

logger = logging.getLogger(__name__)


class ShopperDataService:
    def __init__(
        self,
        *,
        db: async_sessionmaker[AsyncSession],
        cache: SessionCache,
        profiles: ProfileService,
    ) -> None:
        self._db = db
        self._cache = cache
        self._profiles = profiles

    async def export(self, *, principal: Principal, user_id: str) -> ShopperData:
        """Everything stored about a shopper of the caller's storefront (audited: reading
        a whole record of a person is worth a trace)."""
        storefront_id = principal.storefront_id
        async with self._db() as db, db.begin():
            data = await shoppers.export_shopper(db, storefront_id=storefront_id, user_id=user_id)
            if data.empty:
                raise UnknownUserError(UNKNOWN_USER, param="user_id")
            await record_change(
                db,
                principal=principal,
                action="profile.export",
                storefront_id=storefront_id,
                target=user_id,
            )
        return data

    async def erase(self, *, principal: Principal, user_id: str) -> ErasureCounts:
        """Erase a shopper of the caller's storefront (one transaction, audited)."""
        storefront_id = principal.storefront_id
        async with self._db() as db, db.begin():
            sessions = await shoppers.session_ids(db, storefront_id=storefront_id, user_id=user_id)
            counts = await shoppers.erase_shopper(
                db, storefront_id=storefront_id, user_id=user_id, sessions=sessions
            )
            if counts.empty:
                raise UnknownUserError(UNKNOWN_USER, param="user_id")
            await idempotency.delete_responses_of_sessions(
                db, storefront_id=storefront_id, session_ids=sessions
            )
            await audit.redact_target(db, storefront_id=storefront_id, target=user_id)
            await record_change(
                db,
                principal=principal,
                action="profile.erase",
                storefront_id=storefront_id,
                target=user_id,
                before=asdict(counts),  # what existed: counts only, no personal data
            )
        self._profiles.forget(storefront_id=storefront_id, user_id=user_id)
        try:
            await self._cache.forget(sessions)
        except CacheUnavailableError as exc:
            # The cached copies expire with their TTL; no turn can use them meanwhile,
            # since the sessions no longer exist in the database.
            logger.warning("session cache unavailable, erased histories expire: %s", exc)
        return counts


async def purge_expired_messages(
    db: async_sessionmaker[AsyncSession], *, retention_days: int
) -> int:
    """Delete messages older than `retention_days` (every storefront); returns how many."""
    cutoff = utcnow() - timedelta(days=retention_days)

    async def purge() -> int:
        async with db() as session, session.begin():
            return await conversations.purge_messages_before(session, cutoff=cutoff)

    deleted = await database_call(purge())
    if deleted:
        logger.info("retention: deleted %d message(s) older than %d days", deleted, retention_days)
    return deleted
