"""A client that hangs up on an SSE chat never leaves the session locked or its
Idempotency-Key stuck "in progress", wherever it hangs up: before the first event,
mid-stream, while the reply is checked, or while the turn is written.

A real uvicorn server (in a thread) and a real HTTP client that closes its socket: an
in-process transport never delivers a disconnect the way a server does.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.core.security import Scope
from app.main import create_app
from app.services.guard import ReplyGuard
from app.services.turn_log import TurnLog
from tests.factories import (
    ScriptedEngine,
    bearer,
    chat_body,
    make_profile,
    profile_body,
    serve_in_thread,
)

REPLY = "Happy to help: that fits your available credit of course"


def _stalled(cls: type, name: str, entered: threading.Event, stall_s: float) -> Any:
    """`cls.name`, made to signal `entered` and then stall before doing its work."""
    original = getattr(cls, name)

    async def stalled(self: Any, *args: Any, **kwargs: Any) -> Any:
        entered.set()
        await asyncio.sleep(stall_s)
        return await original(self, *args, **kwargs)

    return stalled


@pytest.fixture
def server(pg_settings, pg_keys) -> Iterator[tuple[str, dict, dict]]:  # type: ignore[no-untyped-def]
    """(base URL, storefront headers, admin headers), with a slow scripted engine."""
    engine = ScriptedEngine(REPLY, delay_s=0.15)  # ~1.5 s per reply, word by word
    app = create_app(settings=pg_settings(), engine=engine)
    with serve_in_thread(app) as base:
        yield base, bearer(pg_keys[Scope.STOREFRONT]), bearer(pg_keys[Scope.ADMIN])


def _post(base: str, body: dict, headers: dict) -> httpx.Response:
    return httpx.post(f"{base}/v1/chat", json=body, headers=headers, timeout=30)


def _hang_up(base: str, body: dict, headers: dict, *, when: str, entered: threading.Event) -> None:
    """Open the stream, then close the connection at the moment `when` names."""
    with (
        httpx.Client(base_url=base, timeout=30) as client,
        client.stream("POST", "/v1/chat/stream", json=body, headers=headers) as response,
    ):
        assert response.status_code == 200
        if when == "mid_stream":
            lines = response.iter_lines()
            assert next(line for line in lines if line.startswith("event:")) == "event: delta"
        elif when in ("guard", "persist"):
            assert entered.wait(15), "the stalled step was never reached"
        # Leaving both blocks closes the socket with the body unread: the hang-up.


def _until_not_busy(send: Any, deadline_s: float = 5.0) -> httpx.Response:
    """The server notices the hang-up asynchronously: allow it a moment (the lock would
    otherwise be held for the generation timeout + 10 s, the claim for 150 s)."""
    deadline = time.monotonic() + deadline_s
    while True:
        response = send()
        busy = response.status_code == 409 and response.json()["error"]["code"] in {
            "generation_in_progress",
            "idempotency_key_in_progress",
        }
        if not busy or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


@pytest.mark.parametrize("when", ["before_first_event", "mid_stream", "guard", "persist"])
def test_stream_disconnect_releases_the_session_lock_and_the_idempotency_key(
    server, when: str, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    base, shop, admin = server
    entered = threading.Event()
    if when == "guard":
        # The guard runs on every reply; stalled, the hang-up lands while it checks.
        monkeypatch.setattr(ReplyGuard, "review", _stalled(ReplyGuard, "review", entered, 1.0))
    elif when == "persist":
        monkeypatch.setattr(TurnLog, "record", _stalled(TurnLog, "record", entered, 1.0))

    profile = make_profile()
    put = httpx.put(
        f"{base}/v1/profiles/{profile.user_id}", json=profile_body(profile), headers=admin
    )
    assert put.status_code == 201, put.text
    first = _post(base, chat_body(profile.user_id, "Hello"), shop)
    assert first.status_code == 200, first.text
    session_id = first.json()["session_id"]
    entered.clear()  # the first turn went through the stalled step too

    key = {"Idempotency-Key": f"disconnect-{uuid.uuid4().hex}"}
    streamed = chat_body(profile.user_id, "Does it fit?", session_id=session_id)
    _hang_up(base, streamed, {**shop, **key}, when=when, entered=entered)

    # The session is free again: the next turn is answered, not 409.
    following = chat_body(profile.user_id, "And over 6 months?", session_id=session_id)
    nxt = _until_not_busy(lambda: _post(base, following, shop))
    assert nxt.status_code == 200, nxt.text

    # The key is not stuck "in progress": a retry of the same request is answered.
    retry = _until_not_busy(lambda: _post(base, streamed, {**shop, **key}))
    assert retry.status_code == 200, retry.text
    if when == "persist":
        # The reply was written in full despite the hang-up: the retry replays it.
        assert retry.headers.get("idempotent-replayed") == "true"
    else:
        # Nothing was recorded: the retry generated the reply afresh.
        assert "idempotent-replayed" not in retry.headers
