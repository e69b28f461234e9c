"""Human takeover of a session."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path

from app.api.deps import HandoffsDep, StorefrontDep
from app.api.outcome_schemas import HandoffRequest, HandoffResponse
from app.api.schemas import ErrorResponse

router = APIRouter(
    prefix="/v1/sessions",
    tags=["sessions"],
    responses={
        401: {"model": ErrorResponse, "description": "Missing or invalid API key."},
        403: {"model": ErrorResponse, "description": "The key's scope does not allow this."},
        404: {
            "model": ErrorResponse,
            "description": "Unknown session (or not this user's, or not your storefront's).",
        },
        422: {"model": ErrorResponse, "description": "Malformed request."},
        503: {"model": ErrorResponse, "description": "The database is unavailable; retry."},
    },
)

SessionIdPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9-]{1,64}$",
        examples=["0b7c1d7e-3f7a-4c55-9a51-8d3f8e0f2b61"],
    ),
]


@router.post("/{session_id}/handoff", response_model=HandoffResponse)
async def create_session_handoff(
    session_id: SessionIdPath,
    principal: StorefrontDep,
    handoffs: HandoffsDep,
    body: Annotated[HandoffRequest | None, Body()] = None,
) -> HandoffResponse:
    """Hand the session to a human agent; the assistant stays silent for it."""
    body = body or HandoffRequest()
    result = await handoffs.take_over(
        storefront_id=principal.storefront_id,
        session_id=session_id,
        reason=body.reason,
        user_id=body.user_id,
        note=body.note,
        source=body.source,
    )
    return HandoffResponse(
        session_id=result.session_id,
        status="human",
        already_handed_off=result.already,
        variant=result.variant,
        policy_version=result.policy_version,
    )
