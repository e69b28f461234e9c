"""The one error a client call raises for an answer outside 2xx (after any retries)."""

from __future__ import annotations

from typing import Any

import httpx


class MoreApiError(Exception):
    """The API answered with a non-2xx status, and retrying did not help (or was not allowed).

    The API's one error shape is `{"error": {"type", "code", "message", "param"}}`; a body
    in another shape (a proxy's HTML page, an empty 502) leaves `type`, `code` and `param`
    None and keeps the start of the body text as `message`.

    Attributes:
        status: the HTTP status code.
        type: the error family, e.g. `invalid_request_error`, `rate_limit_error`.
        code: the stable machine-readable code, e.g. `invalid_request`, `rate_limited`.
        message: the human-readable explanation.
        param: the request field at fault (validation errors), else None.
        retry_after: seconds the server asked the caller to wait (`Retry-After`), else None.
        method: the request's method, e.g. "POST".
        path: the request's path, e.g. "/v1/chat".
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str | None = None,  # named as in the API's error shape
        code: str | None = None,
        param: str | None = None,
        retry_after: float | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.retry_after = retry_after
        self.method = method
        self.path = path

    def __str__(self) -> str:
        where = f"{self.method} {self.path} -> " if self.method else ""
        code = f" {self.code}" if self.code else ""
        return f"{where}{self.status}{code}: {self.message}"

    @classmethod
    def from_response(cls, response: httpx.Response) -> MoreApiError:
        """Read the status, the error body and `Retry-After` of a failed response."""
        error: dict[str, Any] = {}
        try:
            body = response.json()
        except ValueError:  # not JSON (a proxy's page, an empty body)
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            error = body["error"]
        message = error.get("message") or response.text[:300] or response.reason_phrase
        return cls(
            response.status_code,
            str(message),
            type=error.get("type"),
            code=error.get("code"),
            param=error.get("param"),
            retry_after=retry_after_s(response),
            method=response.request.method,
            path=response.request.url.path,
        )


def retry_after_s(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds, or None when absent or not a number.

    The API always sends seconds; the HTTP-date form is not used by it, so it is ignored
    (the retry then falls back to exponential backoff).
    """
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0)
