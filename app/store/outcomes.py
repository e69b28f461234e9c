"""Outcome events repository: idempotent inserts and per-variant experiment counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import EventOrigin, EventRow, MessageRow, SessionRow, SessionStatus

# (storefront_id, origin, client_event_id): what makes an event id unique.
EventKey = tuple[str, str, str]


@dataclass(frozen=True)
class NewEvent:
    """One event row to write; its key (storefront, origin, id) makes the write idempotent."""

    storefront_id: str
    client_event_id: str
    type: str
    session_id: str | None
    user_id: str | None
    variant: str | None
    policy_version: str | None
    experiment: str | None
    payload: dict[str, Any]
    occurred_at: datetime | None = None
    origin: str = EventOrigin.CLIENT
    request_hash: str | None = None  # of the client's request (None: server-made)

    @property
    def key(self) -> EventKey:
        return (self.storefront_id, self.origin, self.client_event_id)


async def insert_events(db: AsyncSession, events: Sequence[NewEvent]) -> set[EventKey]:
    """Insert events, skipping keys already stored; return the keys inserted now.

    `ON CONFLICT DO NOTHING` on the unique (storefront, origin, id) makes concurrent
    retries and outbox replays safe on both PostgreSQL and SQLite, without a
    read-then-write race.
    """
    if not events:
        return set()
    unique: dict[EventKey, NewEvent] = {}
    for e in events:
        unique.setdefault(e.key, e)  # the first of any repeated key wins
    dialect = db.bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [
        {
            "storefront_id": e.storefront_id,
            "origin": e.origin,
            "request_hash": e.request_hash,
            "client_event_id": e.client_event_id,
            "type": e.type,
            "session_id": e.session_id,
            "user_id": e.user_id,
            "variant": e.variant,
            "policy_version": e.policy_version,
            "experiment": e.experiment,
            "payload": e.payload,
            "occurred_at": e.occurred_at,
        }
        for e in unique.values()
    ]
    statement = (
        insert(EventRow)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["storefront_id", "origin", "client_event_id"])
        .returning(EventRow.storefront_id, EventRow.origin, EventRow.client_event_id)
    )
    result = await db.execute(statement)
    return {(row[0], row[1], row[2]) for row in result}


async def stored_request_hashes(
    db: AsyncSession, *, keys: Sequence[EventKey]
) -> dict[EventKey, str | None]:
    """The request hash stored under each key that exists (None: stored before hashes
    were kept, or server-made)."""
    if not keys:
        return {}
    rows = await db.execute(
        select(
            EventRow.storefront_id, EventRow.origin, EventRow.client_event_id, EventRow.request_hash
        ).where(
            or_(
                *(
                    and_(
                        EventRow.storefront_id == storefront_id,
                        EventRow.origin == origin,
                        EventRow.client_event_id == event_id,
                    )
                    for storefront_id, origin, event_id in keys
                )
            )
        )
    )
    return {(sf, origin, event_id): digest for sf, origin, event_id, digest in rows}


@dataclass
class VariantCounts:
    """Per-variant session outcomes of one experiment (the input of the analysis)."""

    variant: str
    sessions: int = 0
    conversions: int = 0  # sessions with at least one conversion
    offer_sessions: int = 0
    offer_conversions: int = 0
    handoffs: int = 0  # sessions handed off: event, flagged reply or human takeover
    satisfaction: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])
    revenue: dict[str, float] = field(default_factory=dict)  # currency -> converted amount
    # Per assistant turn the reply guard checked: the policy's own reply passed every
    # check (raw constraint satisfaction), and the guard replaced it (resample/fallback).
    checked_turns: int = 0
    raw_passed_turns: int = 0
    intervened_turns: int = 0


async def experiment_counts(
    db: AsyncSession, *, storefront_id: str, experiment: str
) -> dict[str, VariantCounts]:
    """Outcome counts per variant of one storefront's experiment, counted per session.

    Sessions come from `sessions.experiment`; a session counts as handed off when it has
    a handoff event, a reply the service flagged as a handoff, or a human took it over.
    """
    in_experiment = and_(
        SessionRow.storefront_id == storefront_id, SessionRow.experiment == experiment
    )
    sessions = await db.execute(
        select(SessionRow.id, SessionRow.variant, SessionRow.status).where(in_experiment)
    )
    variant_of: dict[str, str] = {}
    counts: dict[str, VariantCounts] = {}
    handed: set[str] = set()
    for session_id, variant, status in sessions:
        variant_of[session_id] = variant
        counts.setdefault(variant, VariantCounts(variant)).sessions += 1
        if status == SessionStatus.HUMAN:
            handed.add(session_id)

    flagged = await db.scalars(
        select(MessageRow.session_id)
        .join(SessionRow, SessionRow.id == MessageRow.session_id)
        .where(in_experiment, MessageRow.handoff.is_(True))
        .distinct()
    )
    handed.update(flagged)

    offered: set[str] = set()
    converted: set[str] = set()
    events = await db.execute(
        select(EventRow.session_id, EventRow.type, EventRow.payload).where(
            EventRow.storefront_id == storefront_id,
            EventRow.experiment == experiment,
            EventRow.session_id.is_not(None),
        )
    )
    for session_id, kind, payload in events:
        variant = variant_of.get(session_id)
        if variant is None:
            continue
        if kind == "offer_shown":
            offered.add(session_id)
        elif kind == "conversion":
            converted.add(session_id)
            currency = str(payload.get("currency", ""))
            revenue = counts[variant].revenue
            revenue[currency] = revenue.get(currency, 0.0) + float(payload.get("amount", 0))
        elif kind == "handoff":
            handed.add(session_id)
        elif kind == "satisfaction":
            score = int(payload.get("score", 0))
            if 1 <= score <= 5:
                counts[variant].satisfaction[score - 1] += 1

    guarded = await db.execute(
        select(MessageRow.session_id, MessageRow.guard_passed, MessageRow.intervention)
        .join(SessionRow, SessionRow.id == MessageRow.session_id)
        .where(in_experiment, MessageRow.guard_passed.is_not(None))
    )
    for session_id, passed, intervention in guarded:
        variant = variant_of.get(session_id)
        if variant is None:
            continue
        c = counts[variant]
        c.checked_turns += 1
        c.raw_passed_turns += bool(passed)
        c.intervened_turns += intervention not in (None, "none")

    for session_id, variant in variant_of.items():
        c = counts[variant]
        c.conversions += session_id in converted
        c.offer_sessions += session_id in offered
        c.offer_conversions += session_id in offered and session_id in converted
        c.handoffs += session_id in handed
    return counts


async def mark_session_human(db: AsyncSession, *, storefront_id: str, session_id: str) -> bool:
    """A human takes over: the assistant stays silent. False if it already was (or the
    session is not this storefront's)."""
    row = await db.scalar(
        select(SessionRow)
        .where(SessionRow.id == session_id, SessionRow.storefront_id == storefront_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None or row.status == SessionStatus.HUMAN:
        return False
    row.status = SessionStatus.HUMAN
    await db.flush()
    return True


def policy_handoff_event(
    *,
    storefront_id: str,
    session_id: str,
    user_id: str,
    variant: str,
    policy_version: str,
    experiment: str | None,
) -> NewEvent:
    """The handoff event of a reply that handed the shopper to a human (once per session)."""
    return NewEvent(
        storefront_id=storefront_id,
        origin=EventOrigin.SERVER,
        client_event_id=f"policy-handoff:{session_id}",
        type="handoff",
        session_id=session_id,
        user_id=user_id,
        variant=variant,
        policy_version=policy_version,
        experiment=experiment,
        payload={"reason": "policy", "source": "assistant"},
    )
