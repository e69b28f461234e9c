"""Typed dependencies: the services built in the lifespan, and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.core.config import Settings
from app.core.security import Principal, Scope
from app.core.timing import span
from app.services.chat import ChatService
from app.services.container import Services
from app.services.events import EventService
from app.services.experiments import ExperimentService
from app.services.handoff import HandoffService
from app.services.profiles import ProfileService
from app.services.registry import PolicyRegistry
from app.services.shopper_data import ShopperDataService
from app.services.tenancy import TenancyService

# auto_error=False: a missing key becomes our own 401 in the common error shape.
_bearer = HTTPBearer(
    auto_error=False,
    description="An API key: it belongs to one storefront and carries scopes (storefront, "
    "admin, operator).",
)


def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


def get_chat(services: ServicesDep) -> ChatService:
    return services.chat


def get_profiles(services: ServicesDep) -> ProfileService:
    return services.profiles


def get_shoppers(services: ServicesDep) -> ShopperDataService:
    return services.shoppers


def get_tenancy(services: ServicesDep) -> TenancyService:
    return services.tenancy


SettingsDep = Annotated[Settings, Depends(get_settings)]
ChatDep = Annotated[ChatService, Depends(get_chat)]
ProfilesDep = Annotated[ProfileService, Depends(get_profiles)]
ShoppersDep = Annotated[ShopperDataService, Depends(get_shoppers)]
TenancyDep = Annotated[TenancyService, Depends(get_tenancy)]
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def require_storefront(services: ServicesDep, credentials: CredentialsDep) -> Principal:
    token = credentials.credentials if credentials else None
    with span("auth"):
        return await services.auth.authenticate(token, needed=Scope.STOREFRONT)


async def require_admin(services: ServicesDep, credentials: CredentialsDep) -> Principal:
    token = credentials.credentials if credentials else None
    return await services.auth.authenticate(token, needed=Scope.ADMIN)


async def require_operator(services: ServicesDep, credentials: CredentialsDep) -> Principal:
    token = credentials.credentials if credentials else None
    return await services.auth.authenticate(token, needed=Scope.OPERATOR)


async def require_admin_or_operator(
    services: ServicesDep, credentials: CredentialsDep
) -> Principal:
    token = credentials.credentials if credentials else None
    return await services.auth.authenticate(token, needed=(Scope.ADMIN, Scope.OPERATOR))


# The caller, checked for a scope; each carries the key's storefront.
StorefrontDep = Annotated[Principal, Depends(require_storefront)]
AdminDep = Annotated[Principal, Depends(require_admin)]
OperatorDep = Annotated[Principal, Depends(require_operator)]
# Reading the shared registry: operators, and admins choosing versions for experiments.
RegistryReaderDep = Annotated[Principal, Depends(require_admin_or_operator)]
IdempotencyKeyDep = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]{1,255}$",
        description="Retrying with the same key replays the stored response; the same key "
        "with a different body is a 409.",
    ),
]


def get_events(services: ServicesDep) -> EventService:
    return services.events


def get_handoffs(services: ServicesDep) -> HandoffService:
    return services.handoffs


def get_experiments(services: ServicesDep) -> ExperimentService:
    return services.experiments


def get_registry(services: ServicesDep) -> PolicyRegistry:
    return services.registry


EventsDep = Annotated[EventService, Depends(get_events)]
HandoffsDep = Annotated[HandoffService, Depends(get_handoffs)]
ExperimentsDep = Annotated[ExperimentService, Depends(get_experiments)]
RegistryDep = Annotated[PolicyRegistry, Depends(get_registry)]
