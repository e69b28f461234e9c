"""Profile admin: the facts the assistant may use about each shopper of the caller's
storefront, and the shopper's data on request (export, erasure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from app.api.deps import AdminDep, ProfilesDep, ShoppersDep
from app.api.schemas import ID_PATTERN, ErrorResponse, ProfileRequest, ProfileResponse
from app.api.tenancy_schemas import (
    ExportedAssignment,
    ExportedEvent,
    ExportedSession,
    ProfileErasureResponse,
    ProfileExportResponse,
)

router = APIRouter(
    prefix="/v1/profiles",
    tags=["profiles"],
    responses={
        401: {"model": ErrorResponse, "description": "Missing or invalid API key."},
        403: {"model": ErrorResponse, "description": "Needs an admin key."},
        422: {"model": ErrorResponse, "description": "Invalid profile."},
    },
)

UserIdPath = Annotated[
    str,
    Path(min_length=1, max_length=128, pattern=ID_PATTERN, examples=["demo-eligible"]),
]
_NOT_FOUND = {
    404: {
        "model": ErrorResponse,
        "description": "Nothing is stored for this user in your storefront.",
    }
}


@router.put(
    "/{user_id}",
    response_model=ProfileResponse,
    responses={201: {"model": ProfileResponse, "description": "Created."}},
)
async def upsert_profile(
    user_id: UserIdPath,
    body: ProfileRequest,
    principal: AdminDep,
    profiles: ProfilesDep,
    response: Response,
) -> ProfileResponse:
    """Create or replace a shopper's profile."""
    saved, created = await profiles.put(principal=principal, profile=body.to_profile(user_id))
    if created:
        response.status_code = status.HTTP_201_CREATED
    return ProfileResponse.model_validate(saved.model_dump())


@router.get("/{user_id}", response_model=ProfileResponse, responses=_NOT_FOUND)
async def read_profile(
    user_id: UserIdPath, principal: AdminDep, profiles: ProfilesDep
) -> ProfileResponse:
    """Read a shopper's profile."""
    profile = await profiles.get(storefront_id=principal.storefront_id, user_id=user_id)
    return ProfileResponse.model_validate(profile.model_dump())


@router.delete("/{user_id}", response_model=ProfileErasureResponse, responses=_NOT_FOUND)
async def delete_profile(
    user_id: UserIdPath, principal: AdminDep, shoppers: ShoppersDep
) -> ProfileErasureResponse:
    """Erase a shopper: profile, sessions, messages; outcome events kept anonymised."""
    counts = await shoppers.erase(principal=principal, user_id=user_id)
    return ProfileErasureResponse(
        user_id=user_id,
        profile=counts.profile,
        sessions=counts.sessions,
        messages=counts.messages,
        events_anonymised=counts.events_anonymised,
        assignments=counts.assignments,
    )


@router.get("/{user_id}/export", response_model=ProfileExportResponse, responses=_NOT_FOUND)
async def read_profile_export(
    user_id: UserIdPath, principal: AdminDep, shoppers: ShoppersDep
) -> ProfileExportResponse:
    """Everything stored about a shopper: profile, sessions with messages, events."""
    data = await shoppers.export(principal=principal, user_id=user_id)
    return ProfileExportResponse(
        user_id=user_id,
        storefront_id=principal.storefront_id,
        exported_at=datetime.now(UTC),
        profile=ProfileResponse.model_validate(data.profile) if data.profile else None,
        sessions=[ExportedSession.model_validate(s) for s in data.sessions],
        events=[
            ExportedEvent.model_validate({**e, "event_id": e["client_event_id"]})
            for e in data.events
        ],
        assignments=[ExportedAssignment.model_validate(a) for a in data.assignments],
    )
