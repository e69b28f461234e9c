"""Outcome events: record them idempotently, through an outbox when the database is down.

Every event is tied to a session of the caller's storefront; the session gives the
user, variant, policy version and experiment (the server's record wins over anything a
client could claim). Event ids are unique per storefront: an id seen before with the
same body is acknowledged as a duplicate and never counted twice; with another body it
is a conflict (`event_id_reused`). Ids the service makes itself (`takeover:<session>`,
`policy-handoff:<session>`) live in a separate namespace a client cannot write.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import metrics
from app.core.errors import (
    DATABASE_DOWN_ERRORS,
    AppError,
    DatabaseUnavailableError,
    EventIdReusedError,
    ServiceUnavailableError,
    UnknownSessionError,
)
from app.core.security import DEFAULT_STOREFRONT_ID
from app.services.idempotency import request_hash
from app.services.outbox import Outbox, OutboxError
from app.store import conversations, outcomes
from app.store.models import EventOrigin

logger = logging.getLogger(__name__)

# One message for an unknown session, another user's and another storefront's; it names
# no id, so a caller cannot probe which session ids exist.
UNKNOWN_SESSION = "unknown session: use the session_id of a reply (and its user_id, if given)"


def is_outage(exc: BaseException) -> bool:
    """The database is unreachable (retry later), as opposed to refusing this data.

    Only outages send events to the outbox: a statement the database rejects (a bug,
    bad data) would fail again on every replay and must not be queued.
    """
    if isinstance(
        exc,
        OSError
        | TimeoutError
        | sa_exc.TimeoutError
        | sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.DisconnectionError,
    ):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and bool(exc.connection_invalidated)


class EventType(StrEnum):
    OFFER_SHOWN = "offer_shown"
    CONVERSION = "conversion"
    HANDOFF = "handoff"
    SATISFACTION = "satisfaction"


class HandoffReason(StrEnum):
    """Why a session went to a human (a bounded metric label)."""

    POLICY = "policy"  # the assistant's reply handed off
    CUSTOMER_REQUEST = "customer_request"  # the shopper asked for a person
    UNRESOLVED = "unresolved"  # the shopper gave up on the assistant
    AGENT = "agent"  # an agent or supervisor took the session over
    OTHER = "other"


class RecordStatus(StrEnum):
    RECORDED = "recorded"  # stored now
    DUPLICATE = "duplicate"  # this event id was stored before: nothing changed
    QUEUED = "queued"  # the database is down: in the outbox, stored once it is back


@dataclass(frozen=True)
class OutcomeEvent:
    """One validated event as the service stores (and queues) it."""

    event_id: str
    type: EventType
    session_id: str
    storefront_id: str
    user_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)  # amount/currency/reason/score/...
    occurred_at: datetime | None = None
    origin: str = EventOrigin.CLIENT  # SERVER: an id the service made (own namespace)

    def request_hash(self) -> str | None:
        """Digest of what the client sent under this id (None for server-made events)."""
        if self.origin != EventOrigin.CLIENT:
            return None
        body = {k: v for k, v in self.to_json().items() if k not in ("storefront_id", "origin")}
        return request_hash("event", body)

    def to_json(self) -> dict[str, Any]:
        return {
            "storefront_id": self.storefront_id,
            "origin": self.origin,
            "event_id": self.event_id,
            "type": self.type.value,
            "session_id": self.session_id,
            "user_id": self.user_id,
            "payload": self.payload,
            "occurred_at": self.occurred_at.isoformat() if self.occurred_at else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OutcomeEvent:
        occurred = data.get("occurred_at")
        return cls(
            event_id=data["event_id"],
            type=EventType(data["type"]),
            session_id=data["session_id"],
            # Items queued before tenancy were all the default storefront's.
            storefront_id=data.get("storefront_id") or DEFAULT_STOREFRONT_ID,
            user_id=data.get("user_id"),
            payload=dict(data.get("payload") or {}),
            occurred_at=datetime.fromisoformat(occurred) if occurred else None,
            origin=data.get("origin") or EventOrigin.CLIENT,
        )


@dataclass(frozen=True)
class RecordResult:
    event_id: str
    status: RecordStatus
    variant: str | None = None
    policy_version: str | None = None


class EventService:
    """Records outcome events; drains the outbox in the background."""

    def __init__(
        self,
        *,
        db: async_sessionmaker[AsyncSession],
        outbox: Outbox | None,
        drain_interval_s: float = 2.0,
        batch_size: int = 200,
    ) -> None:
        self._db = db
        self.outbox = outbox
        self.drain_interval_s = drain_interval_s
        self.batch_size = batch_size

    async def record(self, event: OutcomeEvent) -> RecordResult:
        """Store one event; queue it in the outbox if the database is unavailable."""
        try:
            async with self._db() as db, db.begin():
                stored = await self._store(db, [event], strict=True)
        except AppError:
            raise
        except DATABASE_DOWN_ERRORS as exc:
            if not is_outage(exc):
                raise
            return await self._queue(event, exc)
        observe(stored)  # after the commit: counters never count a rolled-back event
        row = stored[0]
        status = RecordStatus.RECORDED if row[1] else RecordStatus.DUPLICATE
        return RecordResult(event.event_id, status, row[0].variant, row[0].policy_version)

    async def record_in(
        self, db: AsyncSession, event: OutcomeEvent
    ) -> list[tuple[outcomes.NewEvent, bool]]:
        """Store an event inside the caller's transaction (e.g. a human takeover); the
        caller passes the result to `observe()` once its transaction has committed."""
        return await self._store(db, [event], strict=True)

    async def _queue(self, event: OutcomeEvent, cause: BaseException) -> RecordResult:
        if self.outbox is None:
            raise DatabaseUnavailableError(
                "the database is unavailable; retry shortly", retry_after_s=5
            ) from cause
        logger.warning("database unavailable, event %s queued in the outbox", event.event_id)
        try:
            await self.outbox.put(event.to_json())
        except OutboxError as exc:
            # Neither the database nor the outbox took it: the client must retry.
            raise ServiceUnavailableError(
                "the event could not be stored; retry with the same event_id",
                code="event_store_unavailable",
                retry_after_s=5,
            ) from exc
        metrics.EVENTS_QUEUED.inc()
        return RecordResult(event.event_id, RecordStatus.QUEUED)

    async def _store(
        self, db: AsyncSession, events: Sequence[OutcomeEvent], *, strict: bool
    ) -> list[tuple[outcomes.NewEvent, bool]]:
        """Resolve each event's session and insert; (row, inserted now) per event.

        Strict (the online path): an unknown session, one of another user or another
        storefront, is a 404; an id stored before with another body is a 409.
        Lenient (outbox replay, the event was already accepted): it is stored without a
        session link and marked, never dropped; a reused id is kept as the first body.
        """
        rows: list[outcomes.NewEvent] = []
        for event in events:
            session = await conversations.get_session(
                db, storefront_id=event.storefront_id, session_id=event.session_id
            )
            if session is not None and event.user_id not in (None, session.user_id):
                session = None  # not this user's session: treat as unknown, leak nothing
            if session is None and strict:
                raise UnknownSessionError(UNKNOWN_SESSION, param="session_id")
            payload = dict(event.payload)
            if session is None:
                payload["unresolved_session_id"] = event.session_id
            rows.append(
                outcomes.NewEvent(
                    storefront_id=event.storefront_id,
                    origin=event.origin,
                    request_hash=event.request_hash(),
                    client_event_id=event.event_id,
                    type=event.type.value,
                    session_id=session.id if session else None,
                    user_id=session.user_id if session else event.user_id,
                    variant=session.variant if session else None,
                    policy_version=session.policy_version if session else None,
                    experiment=session.experiment if session else None,
                    payload=payload,
                    occurred_at=event.occurred_at,
                )
            )
        inserted = await outcomes.insert_events(db, rows)
        await self._check_reuse(db, [r for r in rows if r.key not in inserted], strict=strict)
        seen: set[outcomes.EventKey] = set()
        result = []
        for row in rows:
            # A batch may repeat an id (a retried request queued twice): count it once.
            result.append((row, row.key in inserted - seen))
            seen.add(row.key)
        return result

    @staticmethod
    async def _check_reuse(
        db: AsyncSession, duplicates: Sequence[outcomes.NewEvent], *, strict: bool
    ) -> None:
        """An id stored before must carry the same body as now (rows stored before bodies
        were hashed, and server-made ones, have no hash and always match)."""
        reused = [r for r in duplicates if r.request_hash is not None]
        stored = await outcomes.stored_request_hashes(db, keys=[r.key for r in reused])
        for row in reused:
            digest = stored.get(row.key)
            if digest is None or digest == row.request_hash:
                continue
            if strict:
                raise EventIdReusedError(
                    "this event_id was already recorded with a different body; use a new "
                    "event_id for a new event",
                    param="event_id",
                )
            logger.warning("outbox: event id reused with a different body, the first one is kept")

    async def drain_once(self) -> int:
        """Move one batch from the outbox into the database; items handled."""
        if self.outbox is None:
            return 0
        items = await self.outbox.read(self.batch_size)
        if not items:
            metrics.EVENTS_OUTBOX_PENDING.set(0)
            return 0
        events: list[OutcomeEvent] = []
        good: list[str] = []
        for item_id, data in items:
            try:
                events.append(OutcomeEvent.from_json(data))
                good.append(item_id)
            except (KeyError, ValueError, TypeError):
                # Only this service writes the outbox, so this is a bug: keep the item
                # out of the way (and logged) rather than blocking every later event.
                # Field names only: the values hold amounts and shoppers' comments.
                fields = sorted(data) if isinstance(data, dict) else type(data).__name__
                logger.error("dead-lettering malformed outbox item %s (fields %s)", item_id, fields)
                await self.outbox.dead_letter(item_id)
        try:
            async with self._db() as db, db.begin():
                stored = await self._store(db, events, strict=False)
        except DATABASE_DOWN_ERRORS as exc:
            if is_outage(exc):
                raise
            # One item the database refuses must not block the others: go one by one.
            return await self._drain_singly([(i, d) for i, d in items if i in good])
        observe(stored)
        await self.outbox.ack(good)  # only after the commit
        metrics.EVENTS_OUTBOX_PENDING.set(await self.outbox.pending())
        logger.info("outbox: %d event(s) written to the database", len(items))
        return len(items)

    async def _drain_singly(self, items: list[tuple[str, dict[str, Any]]]) -> int:
        assert self.outbox is not None
        for item_id, data in items:
            try:
                event = OutcomeEvent.from_json(data)
                async with self._db() as db, db.begin():
                    stored = await self._store(db, [event], strict=False)
            except DATABASE_DOWN_ERRORS as exc:
                if is_outage(exc):
                    raise
                logger.error(
                    "outbox item %s refused by the database, dead-lettered: %s", item_id, exc
                )
                await self.outbox.dead_letter(item_id)
                continue
            observe(stored)
            await self.outbox.ack([item_id])
        return len(items)

    async def drain_all(self) -> int:
        """Drain until the outbox is empty (raises if the database is still down)."""
        total = 0
        while n := await self.drain_once():
            total += n
        return total

    async def run_drainer(self) -> None:
        """Background loop (cancelled at shutdown): retry until the database is back."""
        if self.outbox is None:
            return
        while True:
            try:
                moved = await self.drain_once()
            except asyncio.CancelledError:
                raise
            except DATABASE_DOWN_ERRORS as exc:
                logger.debug("outbox drain waits for the database: %s", exc)
                moved = 0
            except Exception:
                logger.exception("outbox drain failed")
                moved = 0
            if moved < self.batch_size:
                await asyncio.sleep(self.drain_interval_s)


def observe(stored: Sequence[tuple[outcomes.NewEvent, bool]]) -> None:
    """Per-variant Prometheus counters, once per newly stored event."""
    for row, new in stored:
        if new:
            _observe(row)


def _observe(row: outcomes.NewEvent) -> None:
    variant = row.variant or "unknown"
    metrics.EVENTS_RECORDED.labels(row.type).inc()
    if row.type == EventType.OFFER_SHOWN:
        metrics.OFFERS_SHOWN.labels(variant).inc()
    elif row.type == EventType.CONVERSION:
        metrics.CONVERSIONS.labels(variant).inc()
        amount = row.payload.get("amount")
        if amount is not None:
            metrics.CONVERSION_AMOUNT.labels(variant, str(row.payload.get("currency"))).inc(
                float(Decimal(str(amount)))
            )
    elif row.type == EventType.HANDOFF:
        reason = str(row.payload.get("reason", HandoffReason.OTHER))
        if reason not in {r.value for r in HandoffReason}:
            reason = HandoffReason.OTHER.value
        metrics.HANDOFFS.labels(variant, reason).inc()
    elif row.type == EventType.SATISFACTION:
        metrics.SATISFACTION.labels(variant).observe(float(row.payload.get("score", 0)))
