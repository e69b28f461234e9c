"""`MoreClient` (sync) and `AsyncMoreClient` (async) for the service's HTTP API.

Each endpoint is written once, on `_Endpoints`, as a `_Call` (method, path, body, which
key, whether repeating it is safe); the two clients differ only in how they send a call,
so both follow the same retry policy (`more_client.retry`) and raise the same errors.
"""

from __future__ import annotations

import asyncio
import json
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Self, TypeVar
from urllib.parse import quote

import httpx
from tenacity import AsyncRetrying, Retrying

from more_client.errors import MoreApiError
from more_client.retry import RetryPolicy

JSON = dict[str, Any]
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

# What a call returns: the value itself (MoreClient) or an awaitable of it (AsyncMoreClient).
_J = TypeVar("_J")  # parsed JSON body
_B = TypeVar("_B")  # raw body bytes
_R = TypeVar("_R")  # the httpx.Response


@dataclass(frozen=True)
class _Call:
    """One request, before it is sent."""

    method: str
    path: str
    json: Any = None
    params: Mapping[str, Any] | None = None
    admin: bool = False  # sent with the admin key (profiles, experiments, policies)
    idempotency_key: str | None = None
    deduplicated: bool = False  # the API applies a repeat of this POST once (by id or state)

    @property
    def idempotent(self) -> bool:
        """Safe to apply twice: by HTTP semantics, by its Idempotency-Key, or deduplicated."""
        return (
            self.method in _IDEMPOTENT_METHODS
            or self.idempotency_key is not None
            or self.deduplicated
        )


def _segment(value: str) -> str:
    """A path segment, escaped so an id can never reach another route."""
    return quote(value, safe="")


class _Endpoints(ABC, Generic[_J, _B, _R]):
    """The endpoints the tools use; subclasses only send calls."""

    def __init__(
        self, *, api_key: str | None, admin_key: str | None, retry: RetryPolicy | None
    ) -> None:
        self._api_key = api_key
        self._admin_key = admin_key
        self.retry = retry or RetryPolicy()

    @abstractmethod
    def _send(self, call: _Call) -> _R: ...

    @abstractmethod
    def _json(self, call: _Call) -> _J: ...

    @abstractmethod
    def _bytes(self, call: _Call) -> _B: ...

    def _headers(self, call: _Call) -> dict[str, str]:
        # An admin key may do everything a storefront key may, so either stands in for a
        # missing other; a storefront key on an admin call gets the API's 403.
        first, second = (
            (self._admin_key, self._api_key) if call.admin else (self._api_key, self._admin_key)
        )
        key = first or second
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        if call.idempotency_key is not None:
            headers["Idempotency-Key"] = call.idempotency_key
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        admin: bool = False,
        idempotency_key: str | None = None,
    ) -> _R:
        """Any endpoint, for callers that need the response itself (headers, timing).

        Args:
            method: "GET", "POST", ...
            path: e.g. "/v1/chat" (relative to the base URL).
            json: the JSON body, or None for none.
            params: query parameters.
            admin: send the admin key instead of the storefront key.
            idempotency_key: sent as `Idempotency-Key`; makes a POST safe to retry.

        Returns:
            The 2xx `httpx.Response`.

        Raises:
            MoreApiError: a non-2xx answer, after the retries the policy allows.
            httpx.TransportError: no answer (connection, timeout), after retries.
        """
        call = _Call(method.upper(), path, json, params, admin, idempotency_key)
        return self._send(call)

    # --- storefront --------------------------------------------------------------------

    def chat(
        self,
        *,
        user_id: str,
        message: str,
        session_id: str | None = None,
        context: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> _J:
        """`POST /v1/chat`: the assistant's reply to one shopper message (JSON, not SSE).

        Args:
            user_id: the shopper; their profile must be stored.
            message: what they wrote.
            session_id: the session to continue; None starts a new one.
            context: the storefront page (`items`, `order_id`, ...); empty or None: omitted.
            idempotency_key: a repeat with the same key replays the stored reply, so the
                call may also be retried after server and transport errors.

        Returns:
            The `ChatResponse` body: session_id, reply, variant, policy_version, handoff,
            usage, latency_ms.

        Raises:
            MoreApiError: e.g. 404 unknown user, 409 session busy, 422 bad input.
            httpx.TransportError: no answer, after retries.
        """
        body: JSON = {"user_id": user_id, "message": message}
        if session_id is not None:
            body["session_id"] = session_id
        if context:
            body["context"] = dict(context)
        return self._json(_Call("POST", "/v1/chat", body, idempotency_key=idempotency_key))

    def post_event(self, event: Mapping[str, Any]) -> _J:
        """`POST /v1/events`: record an outcome event (offer shown, conversion, rating, ...).

        The API stores each `event_id` once, so the call is retried like an idempotent one.

        Args:
            event: the event body: `event_id`, `type`, `session_id` and the type's fields.

        Returns:
            The `EventResponse` body (status `recorded`, `duplicate` or `queued`).

        Raises:
            MoreApiError: e.g. 404 unknown session, 422 malformed event.
            httpx.TransportError: no answer, after retries.
        """
        return self._json(_Call("POST", "/v1/events", dict(event), deduplicated=True))

    def handoff(
        self,
        session_id: str,
        *,
        reason: str | None = None,
        user_id: str | None = None,
        note: str | None = None,
        source: str | None = None,
    ) -> _J:
        """`POST /v1/sessions/{id}/handoff`: hand the session to a human agent.

        Handing over a session twice changes nothing, so the call is retried like an
        idempotent one.

        Args:
            session_id: the session.
            reason: e.g. "customer_request" (None: the API's default).
            user_id: the shopper, checked against the session when given.
            note: free text for the agent.
            source: who reports it, e.g. "simulator" (kept apart in the analysis).

        Returns:
            The `HandoffResponse` body.

        Raises:
            MoreApiError: e.g. 404 unknown session.
            httpx.TransportError: no answer, after retries.
        """
        fields = {"reason": reason, "user_id": user_id, "note": note, "source": source}
        body = {k: v for k, v in fields.items() if v is not None}
        path = f"/v1/sessions/{_segment(session_id)}/handoff"
        return self._json(_Call("POST", path, body, deduplicated=True))

    # --- admin -------------------------------------------------------------------------

    def put_profile(self, user_id: str, fields: Mapping[str, Any]) -> _J:
        """`PUT /v1/profiles/{user_id}`: create or replace a shopper's profile (admin).

        Args:
            user_id: the shopper (the path names them; `fields` must not repeat it).
            fields: the profile's facts (credit limit, standing, currency, ...).

        Returns:
            The stored profile.

        Raises:
            MoreApiError: e.g. 403 not an admin key, 422 invalid profile.
            httpx.TransportError: no answer, after retries.
        """
        path = f"/v1/profiles/{_segment(user_id)}"
        return self._json(_Call("PUT", path, dict(fields), admin=True))

    def list_experiments(self) -> _J:
        """`GET /v1/experiments`: every experiment with status and shares (admin).

        Returns:
            `{"data": [ExperimentResponse, ...], "count": n}`.

        Raises:
            MoreApiError: e.g. 403 not an admin key.
            httpx.TransportError: no answer, after retries.
        """
        return self._json(_Call("GET", "/v1/experiments", admin=True))

    def create_experiment(
        self,
        *,
        name: str,
        variants: Sequence[Mapping[str, Any]],
        status: str = "draft",
        salt: str | None = None,
    ) -> _J:
        """`POST /v1/experiments`: define an A/B experiment (admin).

        Args:
            name: the experiment's name.
            variants: `{"name", "policy_version", "weight"}` each, control first.
            status: "draft" or "running".
            salt: assignment hash salt; None: the API uses the name.

        Returns:
            The `ExperimentResponse` body.

        Raises:
            MoreApiError: e.g. 409 name taken or another experiment running, 422 invalid.
            httpx.TransportError: no answer, after retries.
        """
        body: JSON = {"name": name, "status": status, "variants": [dict(v) for v in variants]}
        if salt is not None:
            body["salt"] = salt
        return self._json(_Call("POST", "/v1/experiments", body, admin=True))

    def update_experiment(
        self,
        name: str,
        *,
        weights: Mapping[str, float] | None = None,
        status: str | None = None,
    ) -> _J:
        """`PATCH /v1/experiments/{name}`: ramp weights and/or start or stop (admin).

        Args:
            name: the experiment.
            weights: the new weight of every variant, or None to keep them.
            status: "running" or "stopped", or None to keep it.

        Returns:
            The `ExperimentResponse` body.

        Raises:
            MoreApiError: e.g. 404 unknown experiment, 409 another one is running.
            httpx.TransportError: no answer, after retries.
        """
        body: JSON = {}
        if weights is not None:
            body["weights"] = dict(weights)
        if status is not None:
            body["status"] = status
        path = f"/v1/experiments/{_segment(name)}"
        return self._json(_Call("PATCH", path, body, admin=True))

    def experiment_report(self, name: str, *, alpha: float | None = None) -> _J:
        """`GET /v1/experiments/{name}/report`: outcomes, lifts and the SRM check (admin).

        Args:
            name: the experiment.
            alpha: significance level; None: the API's default (0.05).

        Returns:
            The `ExperimentReportResponse` body (with its `markdown` rendering).

        Raises:
            MoreApiError: e.g. 404 unknown experiment.
            httpx.TransportError: no answer, after retries.
        """
        params = {"alpha": alpha} if alpha is not None else None
        path = f"/v1/experiments/{_segment(name)}/report"
        return self._json(_Call("GET", path, params=params, admin=True))

    def experiment_report_png(self, name: str, *, alpha: float | None = None) -> _B:
        """`GET /v1/experiments/{name}/report.png`: the report as a PNG chart (admin).

        Args:
            name: the experiment.
            alpha: significance level; None: the API's default (0.05).

        Returns:
            The PNG bytes.

        Raises:
            MoreApiError: e.g. 404 unknown experiment.
            httpx.TransportError: no answer, after retries.
        """
        params = {"alpha": alpha} if alpha is not None else None
        path = f"/v1/experiments/{_segment(name)}/report.png"
        return self._bytes(_Call("GET", path, params=params, admin=True))

    def list_policies(self) -> _J:
        """`GET /v1/policies`: every registered policy version (admin).

        Returns:
            `{"data": [PolicyResponse, ...], "count": n}`.

        Raises:
            MoreApiError: e.g. 403 not an admin key.
            httpx.TransportError: no answer, after retries.
        """
        return self._json(_Call("GET", "/v1/policies", admin=True))

    def get_policy(self, name: str) -> _J:
        """`GET /v1/policies/{name}`: one policy version (admin).

        Args:
            name: the version's name.

        Returns:
            The `PolicyResponse` body (name, adapter_path, status, details, metrics, ...).

        Raises:
            MoreApiError: e.g. 404 unknown version, 403 not an admin key.
            httpx.TransportError: no answer, after retries.
        """
        return self._json(_Call("GET", f"/v1/policies/{_segment(name)}", admin=True))

    def register_policy(
        self,
        *,
        name: str,
        adapter_path: str,
        details: Mapping[str, Any] | None = None,
        metrics: Mapping[str, Any] | None = None,
    ) -> _J:
        """`POST /v1/policies`: register a version; the service loads its adapter now (admin).

        The version is registered, not promoted. Not retried after server or transport
        errors (the version may exist by then; a repeat would be a 409).

        Args:
            name: the new version's name.
            adapter_path: the LoRA adapter folder, as the service sees it.
            details: provenance (run folder, base version, ...).
            metrics: evaluation figures.

        Returns:
            The `PolicyResponse` body.

        Raises:
            MoreApiError: e.g. 409 name exists, 422 not an adapter folder.
            httpx.TransportError: no answer, after retries.
        """
        body: JSON = {"name": name, "adapter_path": adapter_path}
        if details is not None:
            body["details"] = dict(details)
        if metrics is not None:
            body["metrics"] = dict(metrics)
        return self._json(_Call("POST", "/v1/policies", body, admin=True))


class MoreClient(_Endpoints[JSON, bytes, httpx.Response]):
    """The service's HTTP API, synchronous (on `httpx.Client`).

    Args:
        base_url: the service, e.g. "http://127.0.0.1:8000".
        api_key: the storefront key, sent on chat, event and handoff calls.
        admin_key: the admin key, sent on profile, experiment and policy calls. Either key
            stands in for a missing other (an admin key may do what a storefront key may).
        timeout_s: per request, seconds (or an `httpx.Timeout`).
        retry: which failures are retried and how long to wait; default `RetryPolicy()`.
        transport: an httpx transport (tests pass `httpx.MockTransport`).
        limits: connection pool limits; None: httpx's defaults.
        sleep: waits between attempts (tests pass a no-op).

    Every call raises `MoreApiError` for a non-2xx answer and `httpx.TransportError` when
    no answer came, once the retries `retry` allows are spent. Use it as a context manager
    or `close()` it.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        admin_key: str | None = None,
        timeout_s: float | httpx.Timeout = 60.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        limits: httpx.Limits | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(api_key=api_key, admin_key=admin_key, retry=retry)
        options: dict[str, Any] = {"limits": limits} if limits is not None else {}
        self._http = httpx.Client(
            base_url=base_url, timeout=timeout_s, transport=transport, **options
        )
        self._sleep = sleep

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _send(self, call: _Call) -> httpx.Response:
        what = f"{call.method} {call.path}"
        kwargs = self.retry.tenacity_kwargs(idempotent=call.idempotent, what=what)
        return Retrying(sleep=self._sleep, **kwargs)(self._attempt, call)

    def _attempt(self, call: _Call) -> httpx.Response:
        response = self._http.request(
            call.method, call.path, json=call.json, params=call.params, headers=self._headers(call)
        )
        if not response.is_success:
            raise MoreApiError.from_response(response)
        return response

    def _json(self, call: _Call) -> JSON:
        response = self._send(call)
        body: JSON = response.json() if response.content else {}
        return body

    def _bytes(self, call: _Call) -> bytes:
        return self._send(call).content


class AsyncMoreClient(_Endpoints[Awaitable[JSON], Awaitable[bytes], Awaitable[httpx.Response]]):
    """The service's HTTP API, asynchronous (on `httpx.AsyncClient`); await each call.

    Args:
        base_url: the service, e.g. "http://127.0.0.1:8000".
        api_key: the storefront key, sent on chat, event and handoff calls.
        admin_key: the admin key, sent on profile, experiment and policy calls. Either key
            stands in for a missing other (an admin key may do what a storefront key may).
        timeout_s: per request, seconds (or an `httpx.Timeout`).
        retry: which failures are retried and how long to wait; default `RetryPolicy()`.
        transport: an httpx transport (`httpx.MockTransport`, `httpx.ASGITransport`).
        limits: connection pool limits; None: httpx's defaults.
        sleep: waits between attempts (tests pass a no-op coroutine).

    Every call raises `MoreApiError` for a non-2xx answer and `httpx.TransportError` when
    no answer came, once the retries `retry` allows are spent. Use it as an async context
    manager or `await aclose()`.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        admin_key: str | None = None,
        timeout_s: float | httpx.Timeout = 60.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: httpx.Limits | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(api_key=api_key, admin_key=admin_key, retry=retry)
        options: dict[str, Any] = {"limits": limits} if limits is not None else {}
        self._http = httpx.AsyncClient(
            base_url=base_url, timeout=timeout_s, transport=transport, **options
        )
        self._sleep = sleep

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _send(self, call: _Call) -> httpx.Response:
        what = f"{call.method} {call.path}"
        kwargs = self.retry.tenacity_kwargs(idempotent=call.idempotent, what=what)
        return await AsyncRetrying(sleep=self._sleep, **kwargs)(self._attempt, call)

    async def _attempt(self, call: _Call) -> httpx.Response:
        response = await self._http.request(
            call.method, call.path, json=call.json, params=call.params, headers=self._headers(call)
        )
        if not response.is_success:
            raise MoreApiError.from_response(response)
        return response

    async def _json(self, call: _Call) -> JSON:
        response = await self._send(call)
        body: JSON = response.json() if response.content else {}
        return body

    async def _bytes(self, call: _Call) -> bytes:
        return (await self._send(call)).content

    async def stream_chat(
        self,
        *,
        user_id: str,
        message: str,
        session_id: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[tuple[str, JSON]]:
        """`POST /v1/chat/stream`: the server-sent events as they arrive, `(event, data)`:
        `delta` ({"text"}) pieces, then `done` (the ChatResponse) or `error` (the error
        shape). Not retried: a stream may have been partly read.

        Raises:
            MoreApiError: the request was refused before streaming (4xx/5xx status).
            httpx.TransportError: no answer.
        """
        body: JSON = {"user_id": user_id, "message": message}
        if session_id is not None:
            body["session_id"] = session_id
        if context:
            body["context"] = dict(context)
        call = _Call("POST", "/v1/chat/stream", body)
        async with self._http.stream(
            "POST", call.path, json=body, headers=self._headers(call)
        ) as response:
            if not response.is_success:
                await response.aread()
                raise MoreApiError.from_response(response)
            event = "message"
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line.removeprefix("event:").strip()
                elif line.startswith("data:"):
                    yield event, json.loads(line.removeprefix("data:").strip())
                    event = "message"
