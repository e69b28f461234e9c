"""Outcome events repository: idempotent inserts and per-variant experiment counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import EventRow, MessageRow, SessionRow, SessionStatus


@dataclass(frozen=True)
class NewEvent:
    """One event row to write; `client_event_id` makes the write idempotent."""

    client_event_id: str
    type: str
    session_id: str | None
    user_id: str | None
    variant: str | None
    policy_version: str | None
    experiment: str | None
    payload: dict[str, Any]
    occurred_at: datetime | None = None


async def insert_events(db: AsyncSession, events: Sequence[NewEvent]) -> set[str]:
    """Insert events, skipping ids already stored; return the ids inserted now.

    `ON CONFLICT DO NOTHING` on the unique client event id makes concurrent retries and
    outbox replays safe on both PostgreSQL and SQLite, without a read-then-write race.
    """
    if not events:
        return set()
    unique: dict[str, NewEvent] = {}
    for e in events:
        unique.setdefault(e.client_event_id, e)  # the first of any repeated id wins
    dialect = db.bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [
        {
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
        .on_conflict_do_nothing(index_elements=["client_event_id"])
        .returning(EventRow.client_event_id)
    )
    result = await db.execute(statement)
    return set(result.scalars())


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


async def experiment_counts(db: AsyncSession, *, experiment: str) -> dict[str, VariantCounts]:
    """Outcome counts per variant, counted per session.

    Sessions come from `sessions.experiment`; a session counts as handed off when it has
    a handoff event, a reply the service flagged as a handoff, or a human took it over.
    """
    sessions = await db.execute(
        select(SessionRow.id, SessionRow.variant, SessionRow.status).where(
            SessionRow.experiment == experiment
        )
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
        .where(SessionRow.experiment == experiment, MessageRow.handoff.is_(True))
        .distinct()
    )
    handed.update(flagged)

    offered: set[str] = set()
    converted: set[str] = set()
    events = await db.execute(
        select(EventRow.session_id, EventRow.type, EventRow.payload).where(
            EventRow.experiment == experiment, EventRow.session_id.is_not(None)
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
        .where(SessionRow.experiment == experiment, MessageRow.guard_passed.is_not(None))
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


async def mark_session_human(db: AsyncSession, *, session_id: str) -> bool:
    """A human takes over: the assistant stays silent. False if it already was."""
    row = await db.get(SessionRow, session_id, with_for_update=True)
    if row is None or row.status == SessionStatus.HUMAN:
        return False
    row.status = SessionStatus.HUMAN
    await db.flush()
    return True


def policy_handoff_event(
    *,
    session_id: str,
    user_id: str,
    variant: str,
    policy_version: str,
    experiment: str | None,
) -> NewEvent:
    """The handoff event of a reply that handed the shopper to a human (once per session)."""
    return NewEvent(
        client_event_id=f"policy-handoff:{session_id}",
        type="handoff",
        session_id=session_id,
        user_id=user_id,
        variant=variant,
        policy_version=policy_version,
        experiment=experiment,
        payload={"reason": "policy", "source": "assistant"},
    )
