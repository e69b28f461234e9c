"""Writing a finished turn: the durable record first, then the session cache.

One database transaction holds the session (on its first turn), both messages, the
handoff (session silenced + handoff event) and the stored idempotent response: a failure
leaves none of them behind. The cache is updated after the commit; if it is down the turn
stays in the database only and the reply is flagged degraded (the next turn reads the
history from the database and backfills the cache).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import metrics
from app.core.errors import database_call
from app.domain.prompt import ChatMessage
from app.services.idempotency import IdempotencyClaim, IdempotencyService
from app.services.policies import Policy
from app.store import conversations, outcomes
from app.store.db import one_writer_at_a_time
from app.store.sessions import CacheUnavailableError, SessionCache

logger = logging.getLogger(__name__)


class TurnLog:
    def __init__(
        self,
        *,
        db: async_sessionmaker[AsyncSession],
        cache: SessionCache,
        idempotency: IdempotencyService,
    ) -> None:
        self._db = db
        self._cache = cache
        self._idempotency = idempotency
        # SQLite: turns are written one after another from here (see `one_writer_at_a_time`).
        self._write_lock = asyncio.Lock() if one_writer_at_a_time(db) else None

    async def record(
        self,
        *,
        storefront_id: str,
        session_id: str,
        user_id: str,
        policy: Policy,
        api_key_name: str | None,
        turn: conversations.TurnRecord,
        claim: IdempotencyClaim | None,
        response: dict[str, Any],
        history: Sequence[ChatMessage],
        history_from_cache: bool,
        is_new: bool,
    ) -> bool:
        """Persist the turn, then cache it; False when the cache could not be updated."""
        handoff_logged = await database_call(
            self._persist(
                storefront_id,
                session_id,
                user_id,
                policy,
                api_key_name,
                turn,
                claim,
                response,
                is_new,
            )
        )
        if handoff_logged:
            metrics.HANDOFFS.labels(policy.variant, "policy").inc()
        new_messages: list[ChatMessage] = [
            {"role": "user", "content": turn.user_message},
            {"role": "assistant", "content": turn.reply},
        ]
        try:
            if history_from_cache:
                if is_new:
                    await self._cache.set_history(session_id, new_messages)
                else:
                    await self._cache.append(session_id, new_messages)
            else:  # backfill what was read from the database
                await self._cache.set_history(session_id, [*history, *new_messages])
        except CacheUnavailableError as exc:
            logger.warning("session cache unavailable, turn kept in the database only: %s", exc)
            return False
        return True

    async def _persist(
        self,
        storefront_id: str,
        session_id: str,
        user_id: str,
        policy: Policy,
        api_key_name: str | None,
        turn: conversations.TurnRecord,
        claim: IdempotencyClaim | None,
        response: dict[str, Any],
        is_new: bool,
    ) -> bool:
        """The one transaction; True when it logged the session's handoff event."""
        handoff_logged = False
        queue = self._write_lock or contextlib.nullcontext()
        async with queue, self._db() as db, db.begin():
            await conversations.record_turn(
                db,
                storefront_id=storefront_id,
                session_id=session_id,
                user_id=user_id,
                variant=policy.variant,
                policy_version=policy.version,
                experiment=policy.experiment,
                api_key_name=api_key_name,
                turn=turn,
                is_new=is_new,
            )
            if turn.handoff:  # the reply handed the shopper to a person: the bot goes silent
                await outcomes.mark_session_human(
                    db, storefront_id=storefront_id, session_id=session_id
                )
                # The session row knows its experiment (a later turn's policy may not).
                stored = await conversations.get_session(
                    db, storefront_id=storefront_id, session_id=session_id
                )
                handoff_logged = bool(
                    await outcomes.insert_events(
                        db,
                        [
                            outcomes.policy_handoff_event(
                                storefront_id=storefront_id,
                                session_id=session_id,
                                user_id=user_id,
                                variant=policy.variant,
                                policy_version=policy.version,
                                experiment=stored.experiment if stored else None,
                            )
                        ],
                    )
                )
            if claim is not None:
                await self._idempotency.complete(db, claim, status_code=200, response=response)
        return handoff_logged
