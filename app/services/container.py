"""Everything a request needs, built once per process in the app lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.engine.base import ChatEngine
from app.services.auth import Authenticator
from app.services.chat import ChatService
from app.services.events import EventService
from app.services.experiments import ExperimentService
from app.services.handoff import HandoffService
from app.services.idempotency import IdempotencyService
from app.services.policies import PolicyResolver
from app.services.profiles import ProfileService
from app.services.rate_limits import RateLimiter
from app.services.registry import PolicyRegistry
from app.services.shopper_data import ShopperDataService
from app.services.tenancy import TenancyService
from app.store.sessions import SessionCache


@dataclass
class Services:
    settings: Settings
    db_engine: AsyncEngine
    db: async_sessionmaker[AsyncSession]
    cache: SessionCache
    engine: ChatEngine
    policies: PolicyResolver
    auth: Authenticator
    limiter: RateLimiter
    profiles: ProfileService
    idempotency: IdempotencyService
    chat: ChatService
    shoppers: ShopperDataService
    tenancy: TenancyService
    # Outcome logging, human takeover, experiments and the policy registry.
    events: EventService
    handoffs: HandoffService
    experiments: ExperimentService
    registry: PolicyRegistry
