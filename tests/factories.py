"""Test data and doubles shared by the API and service tests.

`ScriptedEngine` is a `ChatEngine` that replies from a script: fast, deterministic and
able to stall or fail on demand; it records every prompt it was given.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from app.domain.profile import MembershipTier, Profile
from app.domain.prompt import ChatMessage
from app.engine.base import (
    Adapter,
    ChatEngine,
    EngineError,
    GenerationChunk,
    PromptTooLongError,
    SamplingSettings,
)

TEST_DATABASE_URL = os.environ.get(
    "MORE_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
TEST_REDIS_URL = os.environ.get("MORE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def run_sync(fn: Callable[..., Any], *args: Any) -> Any:
    """Run blocking code that owns its own event loop (Alembic, asyncio.run) off-loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


def make_profile(user_id: str | None = None, **fields: Any) -> Profile:
    """An eligible gold-tier shopper with $1,200 available credit, unless overridden."""
    values: dict[str, Any] = {
        "user_id": user_id or f"u-{uuid.uuid4().hex[:10]}",
        "first_name": "Ada",
        "credit_limit": Decimal("1500.00"),
        "outstanding_balance": Decimal("300.00"),
        "membership_tier": MembershipTier.GOLD,
    }
    values.update(fields)
    return Profile.model_validate(values)


def profile_body(profile: Profile) -> dict[str, Any]:
    """The PUT /v1/profiles body for `profile`."""
    body = profile.model_dump(mode="json")
    body.pop("user_id")
    return body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve_in_thread(app: Any, *, startup_timeout_s: float = 60) -> Iterator[str]:
    """Run `app` under a real uvicorn server on a free loopback port, in a background
    thread with its own event loop (lifespan included); yields its base URL. Real sockets
    let a test hang up mid-response, which an in-process transport cannot."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def chat_body(user_id: str, message: str = "Can I pay in instalments?", **extra: Any) -> dict:
    return {"user_id": user_id, "message": message, **extra}


class ScriptedEngine(ChatEngine):
    """Replies with `reply(messages)` split into word chunks.

    `gate`, when set, makes every generation wait for it (to hold a session busy);
    `fail_with` raises that error instead of replying; `delay_s` sleeps per chunk. A prompt
    token is a whitespace-separated word; `max_model_len` bounds prompt + reply like a
    real engine's context (None: unbounded).
    """

    model_name = "scripted"

    def __init__(
        self,
        reply: str | Callable[[Sequence[ChatMessage]], str] = "Happy to help with that.",
        *,
        delay_s: float = 0.0,
        max_model_len: int | None = None,
    ) -> None:
        self.reply = reply
        self.delay_s = delay_s
        self.max_model_len = max_model_len
        self.gate: asyncio.Event | None = None
        self.fail_with: EngineError | None = None
        self.prompts: list[list[ChatMessage]] = []
        self.adapters_used: list[str | None] = []
        self.added: list[Adapter] = []
        self.started = asyncio.Event()  # set when a generation has begun
        self._depth = 0
        self.ready = True

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def add_adapter(self, adapter: Adapter) -> None:
        self.added.append(adapter)

    async def is_ready(self) -> bool:
        return self.ready

    @property
    def queue_depth(self) -> int:
        return self._depth

    @property
    def context_length(self) -> int | None:
        return self.max_model_len

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return sum(len(m["content"].split()) for m in messages)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        sampling: SamplingSettings,
        adapter: Adapter | None = None,
    ) -> AsyncIterator[GenerationChunk]:
        self._depth += 1
        try:
            self.prompts.append(list(messages))
            if self.max_model_len is not None and self.count_tokens(messages) >= self.max_model_len:
                raise PromptTooLongError("the prompt leaves no room for a reply")
            self.adapters_used.append(adapter.name if adapter else None)
            self.started.set()
            if self.gate is not None:
                await self.gate.wait()
            if self.fail_with is not None:
                raise self.fail_with
            text = self.reply(messages) if callable(self.reply) else self.reply
            words = text.split(" ")
            for i, word in enumerate(words):
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                yield GenerationChunk(text=word if i == 0 else " " + word)
            prompt_tokens = self.count_tokens(messages)
            yield GenerationChunk(
                text="",
                finished=True,
                prompt_tokens=prompt_tokens,
                completion_tokens=len(words),
                finish_reason="stop",
            )
        finally:
            self._depth -= 1
