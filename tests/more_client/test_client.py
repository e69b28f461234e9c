"""`MoreClient` / `AsyncMoreClient` against `httpx.MockTransport`: auth, errors, retries."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable

import httpx
import pytest

from more_client import AsyncMoreClient, MoreApiError, MoreClient, RetryPolicy

Handler = Callable[[httpx.Request], httpx.Response]


def api_error(status: int, code: str, message: str, **headers: str) -> httpx.Response:
    body = {"error": {"type": "some_error", "code": code, "message": message, "param": None}}
    return httpx.Response(status, json=body, headers=headers)


class Script:
    """Answers requests in order (the last answer repeats), recording each request."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        # A fresh response each time: httpx binds a response to the request it answers.
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


OK = httpx.Response(200, json={"reply": "Yes."})


def sync_client(handler: Handler, sleeps: list[float], **kwargs) -> MoreClient:
    return MoreClient(
        "http://more.test",
        "shop-key",
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
        **kwargs,
    )


def async_client(handler: Handler, sleeps: list[float], **kwargs) -> AsyncMoreClient:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return AsyncMoreClient(
        "http://more.test",
        "shop-key",
        transport=httpx.MockTransport(handler),
        sleep=sleep,
        **kwargs,
    )


def test_client_sends_the_key_the_body_and_the_idempotency_key() -> None:
    script = Script(OK)
    with sync_client(script, [], admin_key="admin-key") as api:
        assert api.chat(user_id="u-1", message="Hi", context={}, idempotency_key="k-1") == {
            "reply": "Yes."
        }
        api.put_profile("u 1/x", {"currency": "EUR"})
    chat, profile = script.requests
    assert chat.method == "POST" and chat.url == "http://more.test/v1/chat"
    assert chat.headers["Authorization"] == "Bearer shop-key"
    assert chat.headers["Idempotency-Key"] == "k-1"
    assert json.loads(chat.content) == {"user_id": "u-1", "message": "Hi"}  # empty context
    # Admin calls carry the admin key; the id is one escaped path segment.
    assert profile.method == "PUT" and profile.url.raw_path == b"/v1/profiles/u%201%2Fx"
    assert profile.headers["Authorization"] == "Bearer admin-key"
    assert "Idempotency-Key" not in profile.headers


def test_client_uses_the_one_key_it_has_for_every_call() -> None:
    script = Script(httpx.Response(200, json={"data": [], "count": 0}))
    with MoreClient(
        "http://more.test", admin_key="admin-key", transport=httpx.MockTransport(script)
    ) as api:
        api.list_policies()
        api.post_event({"event_id": "e-1", "type": "offer_shown", "session_id": "s"})
    assert [r.headers["Authorization"] for r in script.requests] == ["Bearer admin-key"] * 2


def test_client_parses_the_error_shape_into_more_api_error() -> None:
    answer = httpx.Response(
        422,
        json={
            "error": {
                "type": "invalid_request_error",
                "code": "invalid_request",
                "message": "message: String should have at least 1 character",
                "param": "message",
            }
        },
    )
    script = Script(answer)
    with sync_client(script, []) as api, pytest.raises(MoreApiError) as caught:
        api.chat(user_id="u-1", message="")
    err = caught.value
    assert (err.status, err.type, err.code, err.param) == (
        422,
        "invalid_request_error",
        "invalid_request",
        "message",
    )
    assert err.message.startswith("message: String") and err.retry_after is None
    assert str(err).startswith("POST /v1/chat -> 422 invalid_request: message:")


def test_client_keeps_the_text_of_a_body_in_another_shape() -> None:
    script = Script(httpx.Response(502, text="<html>bad gateway</html>"))
    with sync_client(script, []) as api, pytest.raises(MoreApiError) as caught:
        api.list_experiments()
    assert caught.value.status == 502 and caught.value.code is None
    assert caught.value.message == "<html>bad gateway</html>"


def test_client_retries_429_after_retry_after_then_succeeds() -> None:
    script = Script(api_error(429, "rate_limited", "slow down", **{"Retry-After": "2"}), OK)
    sleeps: list[float] = []
    with sync_client(script, sleeps) as api:
        # A POST without an Idempotency-Key: 429 is answered before processing.
        assert api.chat(user_id="u-1", message="Hi")["reply"] == "Yes."
    assert len(script.requests) == 2
    assert sleeps == [2.0]


def test_client_caps_retry_after() -> None:
    script = Script(api_error(503, "generation_timeout", "busy", **{"Retry-After": "60"}), OK)
    sleeps: list[float] = []
    with sync_client(script, sleeps, retry=RetryPolicy(max_wait_s=5.0)) as api:
        api.list_experiments()
    assert sleeps == [5.0]


def test_client_retries_503_up_to_the_limit_then_raises() -> None:
    script = Script(api_error(503, "engine_unavailable", "try later"))  # every time
    sleeps: list[float] = []
    retry = RetryPolicy(max_attempts=3, backoff_s=1.0, max_wait_s=8.0)
    with sync_client(script, sleeps, retry=retry) as api, pytest.raises(MoreApiError) as caught:
        api.chat(user_id="u-1", message="Hi")
    assert caught.value.status == 503 and caught.value.code == "engine_unavailable"
    assert len(script.requests) == 3 and len(sleeps) == 2
    # No Retry-After: exponential backoff with full jitter, 0..1 s then 0..2 s.
    assert 0.0 <= sleeps[0] <= 1.0 and 0.0 <= sleeps[1] <= 2.0


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_never_retries_other_4xx(status: int) -> None:
    script = Script(api_error(status, "nope", "no"), OK)
    sleeps: list[float] = []
    retry = RetryPolicy(server_errors=True, transport_errors=True)
    with sync_client(script, sleeps, retry=retry) as api, pytest.raises(MoreApiError) as caught:
        api.get_policy("v1")  # idempotent, and everything retryable is switched on
    assert caught.value.status == status
    assert len(script.requests) == 1 and sleeps == []


def test_client_retries_5xx_only_when_enabled_and_idempotent() -> None:
    def run(retry: RetryPolicy, call: Callable[[MoreClient], object]) -> int:
        script = Script(api_error(502, "bad_gateway", "proxy"), OK)
        with sync_client(script, [], retry=retry) as api, contextlib.suppress(MoreApiError):
            call(api)
        return len(script.requests)

    on = RetryPolicy(server_errors=True)
    assert run(RetryPolicy(), lambda api: api.get_policy("v1")) == 1  # off by default
    assert run(on, lambda api: api.get_policy("v1")) == 2
    assert run(on, lambda api: api.chat(user_id="u", message="m")) == 1  # may have run
    assert run(on, lambda api: api.chat(user_id="u", message="m", idempotency_key="k")) == 2
    assert run(on, lambda api: api.post_event({"event_id": "e-1"})) == 2  # deduplicated
    assert run(on, lambda api: api.register_policy(name="v2", adapter_path="/a")) == 1


def test_client_retries_transport_errors_when_enabled() -> None:
    def run(retry: RetryPolicy, error: Exception, call: Callable[[MoreClient], object]) -> int:
        script = Script(error, OK)
        with sync_client(script, [], retry=retry) as api, contextlib.suppress(httpx.TransportError):
            call(api)
        return len(script.requests)

    on = RetryPolicy(transport_errors=True)
    refused = httpx.ConnectError("connection refused")
    read_timeout = httpx.ReadTimeout("timed out")

    def get(api: MoreClient) -> object:
        return api.list_policies()

    def post(api: MoreClient) -> object:
        return api.chat(user_id="u", message="m")

    assert run(RetryPolicy(), refused, get) == 1  # off by default: the error is raised
    assert run(on, refused, get) == 2
    assert run(on, read_timeout, get) == 2
    assert run(on, refused, post) == 2  # never sent: safe for any method
    assert run(on, read_timeout, post) == 1  # may have been applied: not repeated


def test_client_raises_the_transport_error_after_the_last_attempt() -> None:
    script = Script(httpx.ConnectError("connection refused"))
    retry = RetryPolicy(max_attempts=2, transport_errors=True)
    with sync_client(script, [], retry=retry) as api, pytest.raises(httpx.ConnectError):
        api.list_experiments()
    assert len(script.requests) == 2


def test_client_returns_bytes_and_empty_bodies() -> None:
    png = b"\x89PNG\r\n"
    script = Script(httpx.Response(200, content=png), httpx.Response(204))
    with sync_client(script, []) as api:
        assert api.experiment_report_png("ab", alpha=0.1) == png
        assert api.update_experiment("ab", status="stopped") == {}
    report, update = script.requests
    assert report.url.params["alpha"] == "0.1"
    assert update.method == "PATCH" and json.loads(update.content) == {"status": "stopped"}


def test_retry_policy_rejects_impossible_settings() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="seconds"):
        RetryPolicy(max_wait_s=-1)


# --- async ------------------------------------------------------------------------------


async def test_async_client_sends_the_key_and_parses_errors() -> None:
    script = Script(OK, api_error(404, "not_found", "unknown user"))
    async with async_client(script, [], admin_key="admin-key") as api:
        assert await api.chat(user_id="u-1", message="Hi") == {"reply": "Yes."}
        with pytest.raises(MoreApiError) as caught:
            await api.handoff("s-1", reason="customer_request", source="simulator")
    assert caught.value.status == 404 and caught.value.message == "unknown user"
    chat, handoff = script.requests
    assert chat.headers["Authorization"] == handoff.headers["Authorization"] == "Bearer shop-key"
    assert json.loads(handoff.content) == {"reason": "customer_request", "source": "simulator"}


async def test_async_client_retries_429_then_succeeds() -> None:
    script = Script(api_error(429, "rate_limited", "slow", **{"Retry-After": "1.5"}), OK)
    sleeps: list[float] = []
    async with async_client(script, sleeps) as api:
        assert (await api.chat(user_id="u", message="m"))["reply"] == "Yes."
    assert len(script.requests) == 2 and sleeps == [1.5]


async def test_async_client_retries_503_up_to_the_limit_then_raises() -> None:
    script = Script(api_error(503, "database_unavailable", "later", **{"Retry-After": "0"}))
    sleeps: list[float] = []
    async with async_client(script, sleeps, retry=RetryPolicy(max_attempts=4)) as api:
        with pytest.raises(MoreApiError) as caught:
            await api.post_event({"event_id": "e-1"})
    assert caught.value.status == 503 and caught.value.retry_after == 0.0
    assert len(script.requests) == 4 and sleeps == [0.0, 0.0, 0.0]


async def test_async_client_does_not_retry_422() -> None:
    script = Script(api_error(422, "invalid_request", "bad"), OK)
    async with async_client(script, [], retry=RetryPolicy(server_errors=True)) as api:
        with pytest.raises(MoreApiError):
            await api.put_profile("u-1", {"currency": "??"})
    assert len(script.requests) == 1


async def test_async_client_retries_transport_errors_when_enabled() -> None:
    script = Script(httpx.ReadTimeout("timed out"), httpx.ConnectError("reset"), OK)
    sleeps: list[float] = []
    retry = RetryPolicy(transport_errors=True, backoff_s=0.25)
    async with async_client(script, sleeps, retry=retry) as api:
        assert await api.get_policy("v1") == {"reply": "Yes."}
    assert len(script.requests) == 3 and len(sleeps) == 2
    assert all(0.0 <= s <= 0.5 for s in sleeps)
    # Off (the default): the first transport error is raised as is.
    script = Script(httpx.ConnectError("refused"), OK)
    async with async_client(script, []) as api:
        with pytest.raises(httpx.ConnectError):
            await api.get_policy("v1")
    assert len(script.requests) == 1


async def test_async_stream_chat_yields_events_in_order() -> None:
    body = (
        'event: delta\r\ndata: {"text": "Yes"}\r\n\r\n'
        'event: delta\r\ndata: {"text": ", it fits."}\r\n\r\n'
        'event: done\r\ndata: {"reply": "Yes, it fits.", "handoff": false}\r\n\r\n'
    )

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/chat/stream"
        assert request.headers["authorization"] == "Bearer shop"
        return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})

    client = AsyncMoreClient("http://t", "shop", transport=httpx.MockTransport(handler))
    async with client:
        events = [e async for e in client.stream_chat(user_id="u", message="hi")]
    assert [name for name, _ in events] == ["delta", "delta", "done"]
    assert events[-1][1]["reply"] == "Yes, it fits."


async def test_async_stream_chat_refused_before_streaming_raises() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        error = {"type": "not_found", "code": "unknown_user", "message": "no such user"}
        return httpx.Response(404, json={"error": error})

    client = AsyncMoreClient("http://t", "shop", transport=httpx.MockTransport(handler))
    async with client:
        with pytest.raises(MoreApiError) as raised:
            async for _ in client.stream_chat(user_id="u", message="hi"):
                pass
    assert raised.value.status == 404 and raised.value.code == "unknown_user"
