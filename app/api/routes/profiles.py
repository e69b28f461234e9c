"""Profile admin: the facts the assistant may use about each shopper."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from app.api.deps import AdminDep, ProfilesDep
from app.api.schemas import ID_PATTERN, ErrorResponse, ProfileRequest, ProfileResponse

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


@router.put(
    "/{user_id}",
    response_model=ProfileResponse,
    responses={201: {"model": ProfileResponse, "description": "Created."}},
)
async def upsert_profile(
    user_id: UserIdPath,
    body: ProfileRequest,
    _: AdminDep,
    profiles: ProfilesDep,
    response: Response,
) -> ProfileResponse:
    """Create or replace a shopper's profile."""
    saved, created = await profiles.put(body.to_profile(user_id))
    if created:
        response.status_code = status.HTTP_201_CREATED
    return ProfileResponse.model_validate(saved.model_dump())


@router.get(
    "/{user_id}",
    response_model=ProfileResponse,
    responses={404: {"model": ErrorResponse, "description": "Unknown user."}},
)
async def read_profile(user_id: UserIdPath, _: AdminDep, profiles: ProfilesDep) -> ProfileResponse:
    """Read a shopper's profile."""
    profile = await profiles.get(user_id)
    return ProfileResponse.model_validate(profile.model_dump())
