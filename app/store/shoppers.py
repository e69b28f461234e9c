"""Everything stored about one shopper of one storefront: export it, or erase it.

Erasure deletes the profile, the sessions with their messages (text, storefront
context, profile snapshots), stored chat responses and experiment assignments. Outcome
events are kept anonymised so aggregate counts survive: no user id, no session link, a
neutral id, and only the payload fields that carry no personal data (amount, currency,
score, reason, source).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.store import profiles
from app.store.models import (
    EventRow,
    ExperimentAssignmentRow,
    ExperimentRow,
    MessageRow,
    SessionRow,
)

# Event payload fields kept when a shopper is erased: counts and amounts, no free text
# (comments, notes), no identifiers (order ids).
ANONYMOUS_PAYLOAD_FIELDS = frozenset({"amount", "currency", "score", "reason", "source"})
_MESSAGE_FIELDS = (
    "role",
    "content",
    "created_at",
    "context",
    "profile_snapshot",
    "prompt_tokens",
    "completion_tokens",
    "latency_ms",
    "handoff",
    "intent",
    "guard_passed",
    "intervention",
    "raw_reply",
    "guard",
)
_SESSION_FIELDS = (
    "id",
    "variant",
    "policy_version",
    "experiment",
    "status",
    "created_at",
    "updated_at",
)
_EVENT_FIELDS = (
    "client_event_id",
    "origin",
    "type",
    "session_id",
    "variant",
    "policy_version",
    "experiment",
    "payload",
    "occurred_at",
    "created_at",
)


@dataclass
class ShopperData:
    """A shopper's stored data as plain values (JSON-ready apart from datetimes)."""

    profile: dict[str, Any] | None
    sessions: list[dict[str, Any]] = field(default_factory=list)  # each with "messages"
    events: list[dict[str, Any]] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.profile or self.sessions or self.events or self.assignments)


@dataclass(frozen=True)
class ErasureCounts:
    profile: bool
    sessions: int
    messages: int
    events_anonymised: int
    assignments: int

    @property
    def empty(self) -> bool:
        return not (self.profile or self.sessions or self.events_anonymised or self.assignments)


async def session_ids(db: AsyncSession, *, storefront_id: str, user_id: str) -> list[str]:
    rows = await db.scalars(
        select(SessionRow.id)
        .where(SessionRow.storefront_id == storefront_id, SessionRow.user_id == user_id)
        .order_by(SessionRow.created_at, SessionRow.id)
    )
    return list(rows)


def _events_of(storefront_id: str, user_id: str, sessions: list[str]) -> Any:
    mine = [EventRow.user_id == user_id]
    if sessions:
        mine.append(EventRow.session_id.in_(sessions))
    return select(EventRow).where(EventRow.storefront_id == storefront_id, or_(*mine))


async def export_shopper(db: AsyncSession, *, storefront_id: str, user_id: str) -> ShopperData:
    """Profile, sessions with every message, events and experiment assignments."""
    profile = await profiles.get_profile(db, storefront_id=storefront_id, user_id=user_id)
    data = ShopperData(profile=profile.model_dump(mode="json") if profile else None)
    rows = await db.scalars(
        select(SessionRow)
        .where(SessionRow.storefront_id == storefront_id, SessionRow.user_id == user_id)
        .order_by(SessionRow.created_at, SessionRow.id)
    )
    for session in rows:
        messages = await db.scalars(
            select(MessageRow).where(MessageRow.session_id == session.id).order_by(MessageRow.id)
        )
        entry = {name: getattr(session, name) for name in _SESSION_FIELDS}
        entry["messages"] = [{name: getattr(m, name) for name in _MESSAGE_FIELDS} for m in messages]
        data.sessions.append(entry)
    ids = [s["id"] for s in data.sessions]
    events = await db.scalars(_events_of(storefront_id, user_id, ids).order_by(EventRow.id))
    data.events = [{name: getattr(e, name) for name in _EVENT_FIELDS} for e in events]
    assignments = await db.execute(
        select(
            ExperimentRow.name,
            ExperimentAssignmentRow.variant,
            ExperimentAssignmentRow.created_at,
        )
        .join(ExperimentRow, ExperimentRow.id == ExperimentAssignmentRow.experiment_id)
        .where(
            ExperimentAssignmentRow.storefront_id == storefront_id,
            ExperimentAssignmentRow.user_id == user_id,
        )
        .order_by(ExperimentAssignmentRow.id)
    )
    data.assignments = [
        {"experiment": name, "variant": variant, "created_at": created}
        for name, variant, created in assignments
    ]
    return data


async def erase_shopper(
    db: AsyncSession, *, storefront_id: str, user_id: str, sessions: list[str]
) -> ErasureCounts:
    """Erase a shopper in the caller's transaction (`sessions`: their session ids, from
    `session_ids`, read first so the caller can also clear caches and responses)."""
    messages = 0
    if sessions:
        messages = int(
            await db.scalar(
                select(func.count(MessageRow.id)).where(MessageRow.session_id.in_(sessions))
            )
            or 0
        )
    events = list(await db.scalars(_events_of(storefront_id, user_id, sessions).with_for_update()))
    for event in events:
        event.user_id = None
        event.session_id = None
        event.request_hash = None
        # A client-chosen id may embed the shopper's or the order's id: replace it.
        event.client_event_id = f"erased:{event.id}"
        event.payload = {
            k: v for k, v in (event.payload or {}).items() if k in ANONYMOUS_PAYLOAD_FIELDS
        }
    await db.flush()
    if sessions:
        # Explicitly, not through ON DELETE CASCADE: the count above is what is deleted.
        await db.execute(
            delete(MessageRow)
            .where(MessageRow.session_id.in_(sessions))
            .execution_options(synchronize_session=False)
        )
        await db.execute(
            delete(SessionRow)
            .where(SessionRow.storefront_id == storefront_id, SessionRow.id.in_(sessions))
            .execution_options(synchronize_session=False)
        )
    assignments = await db.execute(
        delete(ExperimentAssignmentRow)
        .where(
            ExperimentAssignmentRow.storefront_id == storefront_id,
            ExperimentAssignmentRow.user_id == user_id,
        )
        .execution_options(synchronize_session=False)
    )
    profile = await profiles.delete_profile(db, storefront_id=storefront_id, user_id=user_id)
    return ErasureCounts(
        profile=profile,
        sessions=len(sessions),
        messages=messages,
        events_anonymised=len(events),
        assignments=int(assignments.rowcount or 0),  # type: ignore[attr-defined]
    )
