"""API keys (operator): create, list, rotate and revoke the keys of every storefront."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, status

from app.api.deps import OperatorDep, TenancyDep
from app.api.schemas import ErrorResponse
from app.api.tenancy_schemas import (
    ApiKeyCreatedResponse,
    ApiKeyCreateRequest,
    ApiKeyListResponse,
    ApiKeyResponse,
    ApiKeyRotateRequest,
)
from app.core.security import STOREFRONT_ID_PATTERN
from app.services.tenancy import KEY_NAME_PATTERN, ApiKeyRecord

router = APIRouter(
    prefix="/v1/keys",
    tags=["keys"],
    responses={
        401: {"model": ErrorResponse, "description": "Missing or invalid API key."},
        403: {"model": ErrorResponse, "description": "Needs an operator key."},
        422: {"model": ErrorResponse, "description": "Invalid request."},
    },
)

KeyNamePath = Annotated[
    str, Path(min_length=1, max_length=128, pattern=KEY_NAME_PATTERN, examples=["acme-backend"])
]
_NOT_FOUND = {404: {"model": ErrorResponse, "description": "No active key by that name."}}


def _response(record: ApiKeyRecord) -> ApiKeyResponse:
    return ApiKeyResponse(
        name=record.name,
        storefront_id=record.storefront_id,
        scopes=sorted(record.scopes),
        created_at=record.created_at,
        rotated_at=record.rotated_at,
        revoked_at=record.revoked_at,
        previous_key_expires_at=record.previous_key_expires_at,
    )


def _created(key: str, record: ApiKeyRecord) -> ApiKeyCreatedResponse:
    return ApiKeyCreatedResponse(**_response(record).model_dump(), key=key)


@router.post(
    "",
    response_model=ApiKeyCreatedResponse,
    status_code=status.HTTP_201_CREATED,
    responses={
        404: {"model": ErrorResponse, "description": "No storefront with that id."},
        409: {"model": ErrorResponse, "description": "A key with this name exists."},
    },
)
async def create_api_key(
    body: ApiKeyCreateRequest, principal: OperatorDep, tenancy: TenancyDep
) -> ApiKeyCreatedResponse:
    """Create a key of a storefront; the secret is in this response only."""
    key, record = await tenancy.create_key(
        principal=principal, storefront_id=body.storefront_id, name=body.name, scopes=body.scopes
    )
    return _created(key, record)


@router.get("", response_model=ApiKeyListResponse)
async def list_api_keys(
    _: OperatorDep,
    tenancy: TenancyDep,
    storefront_id: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            pattern=STOREFRONT_ID_PATTERN,
            description="Only this storefront's keys.",
        ),
    ] = None,
) -> ApiKeyListResponse:
    """Keys (never their secrets), revoked ones included."""
    records = await tenancy.list_keys(storefront_id=storefront_id)
    return ApiKeyListResponse(data=[_response(r) for r in records], count=len(records))


@router.post("/{name}/rotate", response_model=ApiKeyCreatedResponse, responses=_NOT_FOUND)
async def rotate_api_key(
    name: KeyNamePath,
    principal: OperatorDep,
    tenancy: TenancyDep,
    body: Annotated[ApiKeyRotateRequest | None, Body()] = None,
) -> ApiKeyCreatedResponse:
    """Give a key a new secret; the old one works `grace_s` more seconds."""
    body = body or ApiKeyRotateRequest()
    key, record = await tenancy.rotate_key(principal=principal, name=name, grace_s=body.grace_s)
    return _created(key, record)


@router.delete("/{name}", response_model=ApiKeyResponse, responses=_NOT_FOUND)
async def revoke_api_key(
    name: KeyNamePath, principal: OperatorDep, tenancy: TenancyDep
) -> ApiKeyResponse:
    """Revoke a key (and a rotated-out secret of it) at once."""
    return _response(await tenancy.revoke_key(principal=principal, name=name))
