"""Pure-ASGI admission in front of the routes: body size, authentication, rate limits.

FastAPI reads and parses a request's JSON body before any dependency runs, so neither a
size cap nor an authentication dependency could stop an 8 MB unauthenticated body from
being parsed. This gate runs first, on headers only:

1. a declared `Content-Length` over `MORE_MAX_BODY_BYTES` → 413;
2. on `/v1/` routes: a client IP over its failed-authentication budget → 429; no or an
   unknown key → 401 (counted against the IP); the key's route-family limit → 429;
3. the body is then read up to the cap (a chunked body that grows past it → 413) and
   handed to the app, which never sees more than the cap.

Scopes (storefront, admin, ...) stay with each route's dependency, which finds the key
in the authenticator's cache. Every refusal uses the API's one error shape.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import app_error_body
from app.api.schemas import ErrorResponse
from app.core.errors import AppError, AuthenticationError, PayloadTooLargeError
from app.core.security import bearer_token
from app.services.container import Services

_AUTHENTICATED_PREFIX = "/v1/"


# What the gate may answer on any `/v1/` operation, documented once for all of them
# (`include_router(..., responses=GATE_RESPONSES)`; a router's own entry wins).
GATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "model": ErrorResponse,
        "description": "Missing or invalid API key.",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    413: {"model": ErrorResponse, "description": "Body larger than `MORE_MAX_BODY_BYTES`."},
    429: {
        "model": ErrorResponse,
        "description": "Over a rate limit: the key's route family, the shopper's, the "
        "session's, or failed authentications from this address.",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    },
}


def route_family(path: str) -> str:
    """The rate-limit family of an authenticated path (`chat`, `events` or `admin`)."""
    if path == "/v1/chat" or path.startswith("/v1/chat/"):
        return "chat"
    if path.startswith(("/v1/events", "/v1/sessions/")):
        return "events"
    return "admin"  # profiles, experiments, policies and every other admin resource


def _family_limit(services: Services, family: str) -> int:
    settings = services.settings
    return {
        "chat": settings.MORE_RATE_LIMIT_PER_KEY,
        "events": settings.MORE_RATE_LIMIT_EVENTS_PER_KEY,
        "admin": settings.MORE_RATE_LIMIT_ADMIN_PER_KEY,
    }[family]


class _BodyTooLargeError(Exception):
    pass


class RequestGateMiddleware:
    """See the module docstring; settings come from `app.state.services` (the lifespan)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services: Services | None = getattr(scope["app"].state, "services", None)
        if scope["type"] != "http" or services is None:
            await self.app(scope, receive, send)
            return
        cap = services.settings.MORE_MAX_BODY_BYTES
        try:
            if _declared_length(scope) > cap:
                raise _too_large(cap)
            if scope["path"].startswith(_AUTHENTICATED_PREFIX):
                await self._admit(scope, services)
            try:
                body = await _read_body(receive, cap)
            except _BodyTooLargeError:
                raise _too_large(cap) from None
        except AppError as exc:
            response = JSONResponse(app_error_body(exc), exc.status, headers=exc.headers)
            await response(scope, receive, send)
            return
        if body is None:  # the client left while sending: nobody to answer
            return
        await self.app(scope, _replay(body, receive), send)

    async def _admit(self, scope: Scope, services: Services) -> None:
        """Authenticate the key and count the request against its route family."""
        settings, limiter = services.settings, services.limiter
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        failures = settings.MORE_RATE_LIMIT_AUTH_FAILURES_PER_IP
        # An address that keeps failing is refused before any key lookup, so guessing
        # keys (or flooding the database with unknown ones) is throttled.
        await limiter.check("auth-failures", ip, limit=failures, what="client address")
        headers = dict(scope["headers"])
        token = bearer_token(headers.get(b"authorization", b"").decode("latin-1"))
        try:
            principal = await services.auth.identify(token)
        except AuthenticationError:
            await limiter.count("auth-failures", ip, limit=failures)
            raise
        family = route_family(scope["path"])
        await limiter.hit(
            family, principal.key_name, limit=_family_limit(services, family), what="API key"
        )


def _too_large(cap: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"request body larger than {cap} bytes", param="body")


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0  # the server rejects a malformed length itself
    return 0


async def _read_body(receive: Receive, cap: int) -> bytes | None:
    """The whole body (None if the client disconnected first), or `_BodyTooLargeError` as
    soon as it passes `cap` bytes: a chunked body declares no length, so the bytes are
    counted as they arrive."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            raise _BodyTooLargeError
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body read already, then the server's messages
    (a streaming response listens on it for the client's disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
