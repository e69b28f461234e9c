"""Running the engine for one turn: the service's timeout, metrics, and the one mapping
of engine failures to API errors (for JSON replies and streams alike)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

from app.core import metrics
from app.core.errors import (
    AppError,
    GenerationTimeoutError,
    InvalidRequestError,
    OverloadedError,
    ServiceUnavailableError,
)
from app.domain.prompt import ChatMessage
from app.engine.base import (
    Adapter,
    ChatEngine,
    EngineError,
    EngineOverloadedError,
    EngineTimeoutError,
    Generation,
    PromptTooLongError,
    SamplingSettings,
)
from app.services.turns import ChatLimits

logger = logging.getLogger(__name__)


class ReplyGenerator:
    """The engine, as a turn uses it."""

    def __init__(self, engine: ChatEngine, limits: ChatLimits) -> None:
        self._engine = engine
        self.limits = limits

    def check_capacity(self) -> None:
        """`OverloadedError` (429) when the engine already holds `max_queue` generations."""
        if self._engine.queue_depth >= self.limits.max_queue:
            metrics.GENERATION_FAILURES.labels("overloaded").inc()
            raise OverloadedError("the assistant is busy; retry in a moment", retry_after_s=2)

    def fit_prompt(
        self,
        build: Callable[[list[ChatMessage]], list[ChatMessage]],
        history: list[ChatMessage],
    ) -> list[ChatMessage]:
        """The prompt `build(history)` with as much of `history` as fits the engine's
        context and still leaves room for a whole reply (`max_tokens`).

        The oldest turns go first, a shopper message and its reply together. A message
        that does not fit even without history is the caller's to shorten: 422
        `prompt_too_long`, never the 503 "retry shortly" that a retry cannot cure.
        """
        messages = build(history)
        limit = self._engine.context_length
        if limit is None:
            return messages
        # A reply cap as large as the context (a misconfiguration) still leaves one token.
        budget = limit - min(self.limits.max_tokens, limit - 1)
        while (tokens := self._engine.count_tokens(messages)) > budget:
            if not history:
                metrics.GENERATION_FAILURES.labels("prompt_too_long").inc()
                raise InvalidRequestError(
                    f"the message is too long for the assistant: its prompt takes {tokens} "
                    f"tokens and at most {budget} fit; shorten the message (or the context "
                    "items sent with it)",
                    code="prompt_too_long",
                    param="message",
                )
            history = history[2:]
            messages = build(history)
        return messages

    @property
    def sampling(self) -> SamplingSettings:
        return SamplingSettings(
            max_tokens=self.limits.max_tokens,
            temperature=self.limits.temperature,
            top_p=self.limits.top_p,
        )

    @property
    def outer_timeout_s(self) -> float:
        """The service's own bound: the engine's timeout plus a little grace (the engine
        should time out first and abort its request; this only guarantees no hang)."""
        timeout = self.limits.generation_timeout_s
        return timeout + min(5.0, max(1.0, timeout / 2))

    async def generate(
        self, messages: list[ChatMessage], adapter: Adapter | None, *, variant: str
    ) -> Generation:
        try:
            async with asyncio.timeout(self.outer_timeout_s):
                generation = await self._engine.generate(messages, self.sampling, adapter)
        except (TimeoutError, EngineError) as exc:
            raise self.error(exc) from exc
        metrics.GENERATION_DURATION.labels(variant).observe(generation.total_s)
        metrics.TIME_TO_FIRST_TOKEN.labels(variant).observe(generation.time_to_first_token_s)
        return generation

    async def stream(
        self, messages: list[ChatMessage], adapter: Adapter | None, *, variant: str
    ) -> AsyncIterator[str | Generation]:
        """Reply text as the engine produces it, then the whole `Generation`."""
        parts: list[str] = []
        prompt_tokens = completion_tokens = 0
        finish_reason: str | None = None
        started = time.perf_counter()
        first_token: float | None = None
        try:
            # The deadline guards each `anext` only, never the `yield`: a timeout firing
            # while the client is being written to would cancel the response task
            # instead of raising here.
            deadline = asyncio.get_running_loop().time() + self.outer_timeout_s
            chunks = self._engine.stream(messages, self.sampling, adapter)
            async with contextlib.aclosing(chunks):  # type: ignore[type-var]
                while True:
                    try:
                        async with asyncio.timeout_at(deadline):
                            chunk = await anext(chunks)
                    except StopAsyncIteration:
                        break
                    if chunk.text:
                        if first_token is None:
                            first_token = time.perf_counter()
                        parts.append(chunk.text)
                        yield chunk.text
                    if chunk.finished:
                        prompt_tokens = chunk.prompt_tokens
                        completion_tokens = chunk.completion_tokens
                        finish_reason = chunk.finish_reason
        except (TimeoutError, EngineError) as exc:
            raise self.error(exc) from exc
        end = time.perf_counter()
        metrics.GENERATION_DURATION.labels(variant).observe(end - started)
        metrics.TIME_TO_FIRST_TOKEN.labels(variant).observe((first_token or end) - started)
        yield Generation(
            text="".join(parts),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            finish_reason=finish_reason,
            time_to_first_token_s=(first_token or end) - started,
            total_s=end - started,
        )

    def error(self, exc: TimeoutError | EngineError) -> AppError:
        """The one mapping of engine failures to API errors, for replies and streams."""
        if isinstance(exc, PromptTooLongError):
            # `fit_prompt` trims first; this only catches a count that disagreed with the
            # engine's. Retrying the same request cannot help, so it is not a 503.
            metrics.GENERATION_FAILURES.labels("prompt_too_long").inc()
            return InvalidRequestError(
                "the conversation is too long for the assistant's context; shorten the "
                "message or start a new session",
                code="prompt_too_long",
                param="message",
            )
        if isinstance(exc, TimeoutError | EngineTimeoutError):
            metrics.GENERATION_FAILURES.labels("timeout").inc()
            return GenerationTimeoutError(
                f"no reply within {self.limits.generation_timeout_s:g} s; retry shortly",
                retry_after_s=max(1, int(self.limits.generation_timeout_s // 2)),
            )
        if isinstance(exc, EngineOverloadedError):
            metrics.GENERATION_FAILURES.labels("overloaded").inc()
            return OverloadedError("the assistant is busy; retry in a moment", retry_after_s=2)
        metrics.GENERATION_FAILURES.labels("error").inc()
        logger.error("generation failed", exc_info=exc)
        return ServiceUnavailableError(
            "the assistant could not reply; retry shortly", code="engine_error", retry_after_s=5
        )
