"""Builds the outcome-logging and experiment services in the app lifespan.

One `async with` in `app.main`: the outbox (Redis stream with Redis, else a local
spool folder), the event, takeover and experiment services, and the background task
that drains the outbox into the database. Everything is closed on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.engine.base import ChatEngine
from app.services.events import EventService
from app.services.experiment_policies import ExperimentPolicyResolver
from app.services.experiments import ExperimentService
from app.services.handoff import HandoffService
from app.services.outbox import Outbox, RedisStreamOutbox, SpoolOutbox
from app.services.policies import PolicyResolver
from app.services.registry import PolicyRegistry

logger = logging.getLogger(__name__)


@dataclass
class OutcomeServices:
    events: EventService
    handoffs: HandoffService
    experiments: ExperimentService
    registry: PolicyRegistry


def make_outbox(settings: Settings) -> Outbox:
    """A Redis stream when Redis is configured (shared by replicas), else a local spool."""
    if settings.REDIS_URL:
        return RedisStreamOutbox(
            settings.REDIS_URL,
            key=f"{settings.MORE_REDIS_PREFIX}events:outbox",
            timeout_s=settings.MORE_REDIS_TIMEOUT_S,
        )
    return SpoolOutbox(settings.MORE_DATA_DIR / "outbox")


@contextlib.asynccontextmanager
async def outcome_services(
    settings: Settings,
    *,
    db: async_sessionmaker[AsyncSession],
    resolver: PolicyResolver,
    engine: ChatEngine,
    outbox: Outbox | None = None,
    drain_interval_s: float = 2.0,
) -> AsyncIterator[OutcomeServices]:
    outbox = outbox or make_outbox(settings)
    events = EventService(db=db, outbox=outbox, drain_interval_s=drain_interval_s)
    on_change = None
    if isinstance(resolver, ExperimentPolicyResolver):
        resolver.bind_engine(engine.add_adapter)
        on_change = resolver.invalidate
    services = OutcomeServices(
        events=events,
        handoffs=HandoffService(db=db, events=events),
        experiments=ExperimentService(db=db, on_change=on_change),
        registry=PolicyRegistry(
            db=db,
            add_adapter=engine.add_adapter,
            base_model=engine.model_name,
            adapters_root=settings.MORE_ADAPTERS_ROOT,
            on_change=on_change,
        ),
    )
    drainer = asyncio.create_task(events.run_drainer(), name="events-outbox-drainer")
    try:
        yield services
    finally:
        drainer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await drainer
        await outbox.close()
