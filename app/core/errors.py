"""Application errors: each carries its HTTP status, a stable code and a safe message.

Services raise these; `app/api/errors.py` turns every one into the single JSON error
shape (and the SSE `error` event). Nothing here knows about FastAPI.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError

T = TypeVar("T")
_logger = logging.getLogger(__name__)


class AppError(Exception):
    """Base class: `status` and `type` are per class, `code`/`message` per instance."""

    status: int = 500
    type: str = "server_error"
    code: str = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        retry_after_s: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.param = param
        self.retry_after_s = retry_after_s

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)} if self.retry_after_s is not None else {}


class InvalidRequestError(AppError):
    status = 422
    type = "invalid_request_error"
    code = "invalid_request"


class AuthenticationError(AppError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class PermissionDeniedError(AppError):
    status = 403
    type = "permission_error"
    code = "insufficient_scope"


class NotFoundError(AppError):
    status = 404
    type = "not_found_error"
    code = "not_found"


class UnknownUserError(NotFoundError):
    code = "unknown_user"


class UnknownSessionError(NotFoundError):
    code = "unknown_session"


class ConflictError(AppError):
    status = 409
    type = "conflict_error"
    code = "conflict"


class GenerationInProgressError(ConflictError):
    code = "generation_in_progress"


class SessionHandedOffError(ConflictError):
    code = "session_handed_off"


class IdempotencyKeyReusedError(ConflictError):
    code = "idempotency_key_reused"


class IdempotencyInProgressError(ConflictError):
    code = "idempotency_key_in_progress"


class EventIdReusedError(ConflictError):
    """An outcome event id already stored with a different body."""

    code = "event_id_reused"


class PayloadTooLargeError(AppError):
    status = 413
    type = "invalid_request_error"
    code = "payload_too_large"


class RateLimitedError(AppError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limited"


class OverloadedError(RateLimitedError):
    code = "engine_overloaded"


class ServiceUnavailableError(AppError):
    status = 503
    type = "unavailable_error"
    code = "service_unavailable"


class GenerationTimeoutError(ServiceUnavailableError):
    code = "generation_timeout"


class DatabaseUnavailableError(ServiceUnavailableError):
    code = "database_unavailable"


# --- dependency outages -----------------------------------------------------------------

# What a database outage looks like to the service: the driver's errors, socket errors and
# timeouts. The one classification every service uses (and the API's last-resort handler).
DATABASE_DOWN_ERRORS: tuple[type[BaseException], ...] = (SQLAlchemyError, OSError, TimeoutError)


def database_unavailable(message: str = "the database is unavailable; retry shortly") -> AppError:
    """The error a service raises for a database outage (503 with Retry-After)."""
    return DatabaseUnavailableError(message, retry_after_s=5)


async def database_call(awaitable: Awaitable[T]) -> T:
    """Await a database operation, turning an outage into `DatabaseUnavailableError`
    (app errors raised inside pass through unchanged)."""
    try:
        return await awaitable
    except AppError:
        raise
    except DATABASE_DOWN_ERRORS as exc:
        _logger.error("database unavailable: %s", type(exc).__name__)
        raise database_unavailable() from exc
