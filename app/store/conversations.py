"""Sessions and messages repository: the durable record of every turn."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.prompt import ChatMessage
from app.store.models import MessageRow, SessionRow, SessionStatus, utcnow


@dataclass(frozen=True)
class SessionRecord:
    id: str
    storefront_id: str
    user_id: str
    variant: str
    policy_version: str
    experiment: str | None
    status: str


@dataclass(frozen=True)
class TurnRecord:
    """A completed turn: the user's message and the assistant's reply with its cost."""

    user_message: str
    reply: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    handoff: bool
    # Stored with the user message for retraining (JSON-ready dicts); None: not recorded.
    context: dict[str, Any] | None = None
    profile_snapshot: dict[str, Any] | None = None
    # The reply guard's record (assistant row): intent, intervention, the replaced reply.
    intent: str | None = None
    guard_passed: bool | None = None
    intervention: str | None = None
    raw_reply: str | None = None
    guard: dict[str, Any] | None = None


def _record(row: SessionRow) -> SessionRecord:
    return SessionRecord(
        id=row.id,
        storefront_id=row.storefront_id,
        user_id=row.user_id,
        variant=row.variant,
        policy_version=row.policy_version,
        experiment=row.experiment,
        status=row.status,
    )


async def _session_row(
    db: AsyncSession, storefront_id: str, session_id: str, *, lock: bool = False
) -> SessionRow | None:
    query = select(SessionRow).where(
        SessionRow.id == session_id, SessionRow.storefront_id == storefront_id
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await db.scalar(query)


async def get_session(
    db: AsyncSession, *, storefront_id: str, session_id: str
) -> SessionRecord | None:
    """The session if it belongs to `storefront_id` (another storefront's is None)."""
    row = await _session_row(db, storefront_id, session_id)
    return None if row is None else _record(row)


async def recent_history(
    db: AsyncSession, *, storefront_id: str, session_id: str, max_messages: int
) -> list[ChatMessage]:
    """The last `max_messages` messages of a session, oldest first."""
    if max_messages <= 0:
        return []
    rows = await db.scalars(
        select(MessageRow)
        .join(SessionRow, SessionRow.id == MessageRow.session_id)
        .where(MessageRow.session_id == session_id, SessionRow.storefront_id == storefront_id)
        .order_by(MessageRow.id.desc())
        .limit(max_messages)
    )
    return [{"role": row.role, "content": row.content} for row in reversed(list(rows))]  # type: ignore[typeddict-item]


async def latest_context(
    db: AsyncSession, *, storefront_id: str, session_id: str
) -> dict[str, Any] | None:
    """The storefront context stored with the session's latest user message (None: no
    turn yet, or one recorded before contexts were kept)."""
    return await db.scalar(
        select(MessageRow.context)
        .join(SessionRow, SessionRow.id == MessageRow.session_id)
        .where(
            MessageRow.session_id == session_id,
            SessionRow.storefront_id == storefront_id,
            MessageRow.role == "user",
        )
        .order_by(MessageRow.id.desc())
        .limit(1)
    )


async def record_turn(
    db: AsyncSession,
    *,
    storefront_id: str,
    session_id: str,
    user_id: str,
    variant: str,
    policy_version: str,
    experiment: str | None,
    api_key_name: str | None,
    turn: TurnRecord,
    is_new: bool | None = None,
) -> None:
    """Add the turn's two messages, creating the session on its first turn.

    The caller owns the transaction, so both messages (and the session) land together.
    `is_new`: whether the session has no row yet, when the caller knows (the chat service
    minted its id this turn); None looks it up. Two statements either way, written as SQL
    rather than through the unit of work: this runs on every chat turn, and each statement
    is one more hop to the database driver's thread.
    """
    if is_new is None:
        is_new = await _session_row(db, storefront_id, session_id) is None
    if is_new:
        await db.execute(
            insert(SessionRow).values(
                id=session_id,
                storefront_id=storefront_id,
                user_id=user_id,
                variant=variant,
                policy_version=policy_version,
                experiment=experiment,
                status=SessionStatus.ACTIVE,
                api_key_name=api_key_name,
            )
        )
    else:
        await db.execute(
            update(SessionRow)
            .where(SessionRow.id == session_id, SessionRow.storefront_id == storefront_id)
            .values(updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    # One row per message, every column named in both (a multi-row VALUES needs them alike).
    no_reply: dict[str, Any] = {name: null() for name in _REPLY_COLUMNS}
    await db.execute(
        insert(MessageRow).values(
            [
                {
                    **no_reply,
                    "session_id": session_id,
                    "role": "user",
                    "content": turn.user_message,
                    "context": _json(turn.context),
                    "profile_snapshot": _json(turn.profile_snapshot),
                },
                {
                    **no_reply,
                    "session_id": session_id,
                    "role": "assistant",
                    "content": turn.reply,
                    "context": null(),
                    "profile_snapshot": null(),
                    "prompt_tokens": turn.prompt_tokens,
                    "completion_tokens": turn.completion_tokens,
                    "latency_ms": turn.latency_ms,
                    "handoff": turn.handoff,
                    "intent": turn.intent,
                    "guard_passed": turn.guard_passed,
                    "intervention": turn.intervention,
                    "raw_reply": turn.raw_reply,
                    "guard": _json(turn.guard),
                },
            ]
        )
    )


def _json(value: dict[str, Any] | None) -> Any:
    """SQL NULL for a missing document (a bare None would be stored as JSON `null`)."""
    return null() if value is None else value


# The assistant row's own columns: every one a user row leaves empty.
_REPLY_COLUMNS = tuple(
    column.name
    for column in MessageRow.__table__.columns
    if column.name
    not in {"id", "session_id", "role", "content", "created_at", "context", "profile_snapshot"}
)


async def count_messages(db: AsyncSession, *, storefront_id: str, session_id: str) -> int:
    return int(
        await db.scalar(
            select(func.count(MessageRow.id))
            .join(SessionRow, SessionRow.id == MessageRow.session_id)
            .where(MessageRow.session_id == session_id, SessionRow.storefront_id == storefront_id)
        )
        or 0
    )


async def purge_messages_before(db: AsyncSession, *, cutoff: datetime) -> int:
    """Delete every message older than `cutoff` (all storefronts: retention is one
    setting); their text, storefront context and profile snapshots go with them. Sessions
    and outcome events stay, so A/B reports keep counting. Returns the messages deleted."""
    result = await db.execute(delete(MessageRow).where(MessageRow.created_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
