"""Storefronts (operator): the tenants that API keys, shoppers, sessions and events
belong to."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import OperatorDep, TenancyDep
from app.api.schemas import ErrorResponse
from app.api.tenancy_schemas import (
    StorefrontCreateRequest,
    StorefrontListResponse,
    StorefrontResponse,
)
from app.services.tenancy import StorefrontRecord

router = APIRouter(
    prefix="/v1/storefronts",
    tags=["storefronts"],
    responses={
        401: {"model": ErrorResponse, "description": "Missing or invalid API key."},
        403: {"model": ErrorResponse, "description": "Needs an operator key."},
        422: {"model": ErrorResponse, "description": "Invalid request."},
    },
)


def _response(record: StorefrontRecord) -> StorefrontResponse:
    return StorefrontResponse(id=record.id, name=record.name, created_at=record.created_at)


@router.post(
    "",
    response_model=StorefrontResponse,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ErrorResponse, "description": "The id exists."}},
)
async def create_storefront(
    body: StorefrontCreateRequest, principal: OperatorDep, tenancy: TenancyDep
) -> StorefrontResponse:
    """Create a storefront (then give it keys with POST /v1/keys)."""
    record = await tenancy.create_storefront(
        principal=principal, storefront_id=body.id, name=body.name
    )
    return _response(record)


@router.get("", response_model=StorefrontListResponse)
async def list_storefronts(_: OperatorDep, tenancy: TenancyDep) -> StorefrontListResponse:
    """All storefronts."""
    records = await tenancy.list_storefronts()
    return StorefrontListResponse(data=[_response(r) for r in records], count=len(records))
