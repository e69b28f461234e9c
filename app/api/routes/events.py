"""Outcome events: offers shown, conversions, handoffs and ratings, idempotent by id
within the caller's storefront."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.api.deps import EventsDep, StorefrontDep
from app.api.outcome_schemas import EventRequest, EventResponse
from app.api.schemas import ErrorResponse
from app.services.events import EventType, OutcomeEvent, RecordStatus

router = APIRouter(
    prefix="/v1",
    tags=["events"],
    responses={
        401: {"model": ErrorResponse, "description": "Missing or invalid API key."},
        403: {"model": ErrorResponse, "description": "The key's scope does not allow this."},
        404: {
            "model": ErrorResponse,
            "description": "Unknown session (or not this user's, or not your storefront's).",
        },
        409: {
            "model": ErrorResponse,
            "description": "`event_id_reused`: this event_id was recorded with a different body.",
        },
        422: {"model": ErrorResponse, "description": "Malformed event."},
        503: {
            "model": ErrorResponse,
            "description": "Neither the database nor the outbox could take the event; retry "
            "with the same event_id (see `Retry-After`).",
        },
    },
)

_STATUS = {
    RecordStatus.RECORDED: status.HTTP_201_CREATED,
    RecordStatus.DUPLICATE: status.HTTP_200_OK,
    RecordStatus.QUEUED: status.HTTP_202_ACCEPTED,
}


@router.post(
    "/events",
    response_model=EventResponse,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {
            "model": EventResponse,
            "description": "Duplicate: this event_id was recorded with the same body; nothing "
            "changed.",
        },
        202: {
            "model": EventResponse,
            "description": "Accepted into the outbox (database unavailable); stored later.",
        },
    },
)
async def create_event(
    body: EventRequest, principal: StorefrontDep, events: EventsDep, response: Response
) -> EventResponse:
    """Record an outcome event of a chat session."""
    result = await events.record(
        OutcomeEvent(
            event_id=body.event_id,
            type=EventType(body.type),
            session_id=body.session_id,
            storefront_id=principal.storefront_id,
            user_id=body.user_id,
            payload=body.payload(),
            occurred_at=body.occurred_at,
        )
    )
    response.status_code = _STATUS[result.status]
    return EventResponse(
        event_id=result.event_id,
        status=result.status,
        variant=result.variant,
        policy_version=result.policy_version,
    )
