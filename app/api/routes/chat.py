"""Chat: one customer turn, as JSON or as server-sent events."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse
from starlette.types import Receive, Scope, Send

from app.api.deps import ChatDep, IdempotencyKeyDep, StorefrontDep
from app.api.errors import app_error_body, error_body
from app.api.schemas import ChatRequest, ChatResponse, ErrorResponse
from app.core.errors import AppError
from app.domain.profile import StorefrontContext
from app.services.chat import TurnStream, shielded
from app.services.turns import ChatReply, ChatTurn, Delta

router = APIRouter(
    prefix="/v1",
    tags=["chat"],
    responses={
        401: {"model": ErrorResponse, "description": "Missing or invalid API key."},
        403: {"model": ErrorResponse, "description": "The key's scope does not allow this."},
        404: {"model": ErrorResponse, "description": "Unknown user or session."},
        409: {
            "model": ErrorResponse,
            "description": "A reply is already being generated for this session, or the "
            "Idempotency-Key was used with a different body.",
        },
        422: {"model": ErrorResponse, "description": "Empty, oversized or malformed input."},
        429: {
            "model": ErrorResponse,
            "description": "Rate limit or engine overload; see `Retry-After`.",
        },
        503: {
            "model": ErrorResponse,
            "description": "Generation timed out or a dependency is down; see `Retry-After`.",
        },
    },
)

# Each server-sent event: `delta` (data: {"text"}), then `done` (data: the ChatResponse)
# or `error` (data: the ErrorResponse). `data` is JSON text, as SSE requires.
_SSE_DOC = {
    "text/event-stream": {
        "schema": {
            "type": "object",
            "required": ["event", "data"],
            "properties": {
                "event": {"type": "string", "enum": ["delta", "done", "error"]},
                "data": {
                    "type": "string",
                    "description": "JSON: StreamDelta for `delta`, ChatResponse for `done`, "
                    "ErrorResponse for `error`.",
                },
            },
        },
        "example": 'event: delta\ndata: {"text": "Yes"}\n\nevent: done\ndata: {"session_id": '
        '"...", "reply": "Yes, ...", "variant": "default", "policy_version": "base", '
        '"handoff": false, "usage": {...}, "latency_ms": 812.4}\n\n',
    }
}


def _turn(body: ChatRequest) -> ChatTurn:
    return ChatTurn(
        user_id=body.user_id,
        message=body.message,
        session_id=body.session_id,
        context=body.context or StorefrontContext(),
        context_sent=body.context is not None,
    )


def _headers(reply: ChatReply) -> dict[str, str]:
    headers = {}
    if reply.replayed:
        headers["Idempotent-Replayed"] = "true"
    if reply.degraded:
        headers["X-More-Degraded"] = "session-cache"
    return headers


async def _events(stream: AsyncIterator[Delta | ChatReply]) -> AsyncIterator[dict[str, Any]]:
    """SSE events: `delta`s, then `done` with the full response, or one `error`."""
    try:
        async for item in stream:
            if isinstance(item, Delta):
                yield {"event": "delta", "data": json.dumps({"text": item.text})}
            else:
                yield {"event": "done", "data": json.dumps(item.to_dict())}
    except AppError as exc:
        yield {"event": "error", "data": json.dumps(app_error_body(exc))}
    except Exception:
        body = error_body("server_error", "internal_error", "internal error; it has been logged")
        yield {"event": "error", "data": json.dumps(body)}


class _TurnEventResponse(EventSourceResponse):
    """An SSE response that closes its turn however the response ends.

    A client that hangs up makes sse-starlette cancel its task group, possibly before the
    event generator ever ran (and so before any cleanup of its own could). Closing the
    turn here, shielded from that cancellation, releases the session lock and settles
    the Idempotency-Key claim in every case: before the first event, mid-stream, or
    while the reply is checked or written.
    """

    def __init__(self, stream: TurnStream) -> None:
        super().__init__(_events(stream), ping=15)
        self._turn_stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await shielded(self._close())

    async def _close(self) -> None:
        # Close the event generator first (it may be suspended inside the turn's own
        # generator), then the turn.
        with contextlib.suppress(Exception):
            await self.body_iterator.aclose()  # type: ignore[attr-defined]
        await self._turn_stream.aclose()


async def _sse(
    chat: ChatDep, principal: StorefrontDep, body: ChatRequest, key: str | None
) -> EventSourceResponse:
    stream = await chat.open_stream(principal=principal, turn=_turn(body), idempotency_key=key)
    return _TurnEventResponse(stream)


@router.post(
    "/chat",
    response_model=ChatResponse,
    responses={200: {"content": _SSE_DOC, "description": "JSON, or SSE when `stream` is true."}},
)
async def create_chat_reply(
    body: ChatRequest,
    principal: StorefrontDep,
    chat: ChatDep,
    idempotency_key: IdempotencyKeyDep = None,
) -> Any:
    """Reply to a shopper's message (SSE when `stream` is true)."""
    if body.stream:
        return await _sse(chat, principal, body, idempotency_key)
    reply = await chat.reply(principal=principal, turn=_turn(body), idempotency_key=idempotency_key)
    return JSONResponse(reply.to_dict(), headers=_headers(reply))


@router.post(
    "/chat/stream",
    response_class=EventSourceResponse,
    responses={
        200: {"content": _SSE_DOC, "description": "`delta` events, then `done` or `error`."}
    },
)
async def stream_chat_reply(
    body: ChatRequest,
    principal: StorefrontDep,
    chat: ChatDep,
    idempotency_key: IdempotencyKeyDep = None,
) -> EventSourceResponse:
    """Reply to a shopper's message as server-sent events."""
    return await _sse(chat, principal, body, idempotency_key)
