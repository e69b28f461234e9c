"""One JSON error shape for every failure: `{"error": {"type", "code", "message", "param"}}`.

App errors, HTTP errors (404/405 from routing), validation errors and anything
unexpected all map here; the SSE `error` event carries the same body.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.core.errors import AppError, DatabaseUnavailableError

logger = logging.getLogger(__name__)

_HTTP_TYPES = {
    400: ("invalid_request_error", "bad_request"),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "forbidden"),
    404: ("not_found_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    406: ("invalid_request_error", "not_acceptable"),
    413: ("invalid_request_error", "payload_too_large"),
    415: ("invalid_request_error", "unsupported_media_type"),
    422: ("invalid_request_error", "invalid_request"),
    429: ("rate_limit_error", "rate_limited"),
}


def error_body(type_: str, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"type": type_, "code": code, "message": message, "param": param}}


def app_error_body(exc: AppError) -> dict[str, Any]:
    return error_body(exc.type, exc.code, exc.message, exc.param)


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    """The first problem, phrased for a person: `message: String should have at most ...`."""
    errors = exc.errors()
    if not errors:
        return "invalid request", None
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ())]
    where = loc[0] if loc else ""
    path = [part for part in loc[1:] if part]
    if first.get("type") == "json_invalid":
        return "request body is not valid JSON", None
    if where == "body" and not path:
        return f"request body: {first.get('msg', 'invalid')}", None
    param = ".".join(path) or where or None
    msg = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{param}: {msg}{more}" if param else f"{msg}{more}", param


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    if exc.status >= 500:
        logger.warning("%s: %s", exc.code, exc.message)
    return JSONResponse(app_error_body(exc), status_code=exc.status, headers=exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    message, param = _validation_message(exc)
    body = error_body("invalid_request_error", "invalid_request", message, param)
    return JSONResponse(body, status_code=422)


def _allowed_methods(request: Request) -> list[str]:
    """Every method served at the path template this path resolves to, as the OpenAPI
    schema lists them.

    Starlette's 405 names only the first route that matched, so a path with a GET and a
    PUT route answered a POST with `Allow: PUT`. The template is the first route's that
    matches (as routing resolves it): `/v1/policies/rollback` is the rollback route's
    path, not an instance of `/v1/policies/{name}`."""
    routes = request.app.router.routes
    first = next((r for r in routes if r.matches(request.scope)[0] is not Match.NONE), None)
    template = getattr(first, "path", None)
    methods: set[str] = set()
    for route in routes:
        if template is not None and getattr(route, "path", None) == template:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


# FastAPI's answer to a body it could not decode at all (not UTF-8, a broken form).
_UNPARSABLE_BODY = "There was an error parsing the body"


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:
        # The same mistake as malformed JSON, so the same documented answer: 422.
        body = error_body(
            "invalid_request_error", "invalid_request", "request body is not valid JSON"
        )
        return JSONResponse(body, status_code=422)
    type_, code = _HTTP_TYPES.get(exc.status_code, ("server_error", "http_error"))
    if exc.status_code >= 500:
        type_ = "server_error"
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404 and message == "Not Found":
        message = "no such endpoint; see /docs"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allowed = _allowed_methods(request)
        headers["Allow"] = ", ".join(allowed)
        message = f"method {request.method} not allowed here; use {' or '.join(allowed)}"
    return JSONResponse(
        error_body(type_, code, message), status_code=exc.status_code, headers=headers
    )


# PostgreSQL's "lock_not_available": a row stayed locked past MORE_DB_LOCK_TIMEOUT_S.
_LOCK_NOT_AVAILABLE = "55P03"


async def _database_error(_: Request, exc: Exception) -> JSONResponse:
    logger.error("database error: %s", exc)
    busy = getattr(getattr(exc, "orig", None), "sqlstate", None) == _LOCK_NOT_AVAILABLE
    message = (
        "the record is busy with another request; retry shortly"
        if busy
        else "the database is unavailable; retry shortly"
    )
    err = DatabaseUnavailableError(message, retry_after_s=5)
    return JSONResponse(app_error_body(err), status_code=err.status, headers=err.headers)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return JSONResponse(
        error_body("server_error", "internal_error", "internal error; it has been logged"),
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(SQLAlchemyError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
