"""Human takeover: a session handed to a person; the assistant stays silent for it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import (
    DATABASE_DOWN_ERRORS,
    AppError,
    DatabaseUnavailableError,
    UnknownSessionError,
)
from app.services.events import (
    UNKNOWN_SESSION,
    EventService,
    EventType,
    HandoffReason,
    OutcomeEvent,
    observe,
)
from app.store import conversations, outcomes
from app.store.models import EventOrigin


@dataclass(frozen=True)
class HandoffResult:
    session_id: str
    status: str  # always "human"
    already: bool  # the session had been handed over before: nothing changed
    variant: str
    policy_version: str


class HandoffService:
    def __init__(self, *, db: async_sessionmaker[AsyncSession], events: EventService) -> None:
        self._db = db
        self._events = events

    async def take_over(
        self,
        *,
        storefront_id: str,
        session_id: str,
        reason: HandoffReason,
        user_id: str | None = None,
        note: str | None = None,
        source: str | None = None,
    ) -> HandoffResult:
        """Mark the session as human-handled and log one handoff event, atomically.

        Idempotent: the event id is derived from the session (in the server's namespace,
        which clients cannot write), so a repeated takeover neither changes anything nor
        counts twice. Unlike outcome events this cannot go through the outbox: silencing
        the bot needs the database. Another storefront's session is an unknown one.
        """
        try:
            async with self._db() as db, db.begin():
                session = await conversations.get_session(
                    db, storefront_id=storefront_id, session_id=session_id
                )
                if session is None or user_id not in (None, session.user_id):
                    raise UnknownSessionError(UNKNOWN_SESSION, param="session_id")
                changed = await outcomes.mark_session_human(
                    db, storefront_id=storefront_id, session_id=session_id
                )
                payload = {"reason": reason.value}
                if note:
                    payload["note"] = note
                if source:
                    payload["source"] = source
                stored = await self._events.record_in(
                    db,
                    OutcomeEvent(
                        event_id=f"takeover:{session_id}",
                        type=EventType.HANDOFF,
                        session_id=session_id,
                        storefront_id=storefront_id,
                        payload=payload,
                        origin=EventOrigin.SERVER,
                    ),
                )
        except AppError:
            raise
        except DATABASE_DOWN_ERRORS as exc:
            raise DatabaseUnavailableError(
                "the database is unavailable; retry the takeover shortly", retry_after_s=5
            ) from exc
        observe(stored)
        return HandoffResult(
            session_id=session_id,
            status="human",
            already=not changed,
            variant=session.variant,
            policy_version=session.policy_version,
        )
