"""Policy registry: register (hot-loads the adapter), promote and roll back versions.

The registry is shared by every storefront (one engine serves them all): changing it
needs the operator scope; admins may read it to pick versions for their experiments."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, status

from app.api.deps import OperatorDep, RegistryDep, RegistryReaderDep
from app.api.outcome_schemas import (
    PolicyListResponse,
    PolicyRegisterRequest,
    PolicyResponse,
    PolicyRollbackResponse,
)
from app.api.schemas import ErrorResponse
from app.store.policy_versions import PolicyVersion

router = APIRouter(
    prefix="/v1/policies",
    tags=["policies"],
    responses={
        401: {"model": ErrorResponse, "description": "Missing or invalid API key."},
        403: {
            "model": ErrorResponse,
            "description": "Changes need an operator key; reading needs admin or operator.",
        },
        422: {"model": ErrorResponse, "description": "Invalid request or adapter folder."},
    },
)

VersionPath = Annotated[
    str,
    Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"),
]
_NOT_FOUND = {404: {"model": ErrorResponse, "description": "Unknown policy version."}}


def _response(version: PolicyVersion) -> PolicyResponse:
    return PolicyResponse.model_validate(asdict(version))


@router.post(
    "",
    response_model=PolicyResponse,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ErrorResponse, "description": "The version name exists."}},
)
async def create_policy(
    body: PolicyRegisterRequest, principal: OperatorDep, registry: RegistryDep
) -> PolicyResponse:
    """Register a policy version; its adapter is loaded into the engine now."""
    version = await registry.register(
        principal=principal,
        name=body.name,
        adapter_path=body.adapter_path,
        details=body.details,
        metrics=body.metrics,
    )
    return _response(version)


@router.get("", response_model=PolicyListResponse)
async def list_policies(_: RegistryReaderDep, registry: RegistryDep) -> PolicyListResponse:
    """All registered policy versions."""
    versions = await registry.list()
    return PolicyListResponse(data=[_response(v) for v in versions], count=len(versions))


@router.post(
    "/rollback",
    response_model=PolicyRollbackResponse,
    responses={409: {"model": ErrorResponse, "description": "Nothing is promoted."}},
)
async def rollback_policy(principal: OperatorDep, registry: RegistryDep) -> PolicyRollbackResponse:
    """Withdraw the promoted version and restore the previous one (or the default)."""
    withdrawn, promoted = await registry.rollback(principal=principal)
    return PolicyRollbackResponse(
        withdrawn=_response(withdrawn), promoted=_response(promoted) if promoted else None
    )


@router.get("/{name}", response_model=PolicyResponse, responses=_NOT_FOUND)
async def read_policy(
    name: VersionPath, _: RegistryReaderDep, registry: RegistryDep
) -> PolicyResponse:
    """One policy version."""
    return _response(await registry.get(name))


@router.post("/{name}/promote", response_model=PolicyResponse, responses=_NOT_FOUND)
async def promote_policy(
    name: VersionPath, principal: OperatorDep, registry: RegistryDep
) -> PolicyResponse:
    """Serve this version to new sessions outside experiments (no restart)."""
    return _response(await registry.promote(principal=principal, name=name))
