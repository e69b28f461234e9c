"""The one async interface routes and services see; backends live beside it.

`vllm.py` (AsyncLLM, the default) and `hf.py` (transformers, for small machines and
fast tests) implement it. Nothing here imports torch or vllm.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from app.domain.prompt import ChatMessage


@dataclass(frozen=True)
class Adapter:
    """A LoRA adapter on disk that one policy version applies on the shared base model."""

    name: str  # unique, e.g. the policy version "more-v1"
    path: str  # a PEFT adapter folder (adapter_config.json + adapter_model.safetensors)


@dataclass(frozen=True)
class SamplingSettings:
    max_tokens: int = 96
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = field(default=())
    n: int = 1  # candidates per request (`generate_many`); the prompt is shared


@dataclass(frozen=True)
class GenerationChunk:
    """A piece of a streamed reply; the last one has `finished=True` and the totals."""

    text: str  # new text since the previous chunk
    finished: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None
    time_to_first_token_s: float
    total_s: float


class EngineError(Exception):
    """The engine could not produce a reply."""


class EngineTimeoutError(EngineError):
    """Generation took longer than the configured timeout."""


class EngineOverloadedError(EngineError):
    """Too many requests are waiting; retry later."""


class AdapterError(EngineError):
    """An adapter folder is invalid, or a request names an adapter never added."""


# Why an engine without LoRA slots refuses an adapter, and what to change.
LORA_DISABLED = (
    "this service has no LoRA slots: it serves one policy merged into the model's weights "
    "(restart it with MORE_MERGE_ADAPTER=false to load adapters)"
)


class PromptTooLongError(EngineError):
    """The prompt leaves no room for a reply within the model's context length."""


class ChatEngine(abc.ABC):
    """A chat model served with optional per-request LoRA adapters."""

    model_name: str

    @abc.abstractmethod
    async def start(self) -> None:
        """Load weights and warm up; called once from the app lifespan."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the engine; always called on shutdown."""

    @abc.abstractmethod
    def stream(
        self,
        messages: Sequence[ChatMessage],
        sampling: SamplingSettings,
        adapter: Adapter | None = None,
    ) -> AsyncIterator[GenerationChunk]:
        """Stream a direct reply to `messages`; the final chunk carries token counts."""

    async def generate(
        self,
        messages: Sequence[ChatMessage],
        sampling: SamplingSettings,
        adapter: Adapter | None = None,
    ) -> Generation:
        """Collect `stream` into one reply, timing the first token."""
        import time

        start = time.perf_counter()
        first: float | None = None
        parts: list[str] = []
        last = GenerationChunk(text="")
        async for chunk in self.stream(messages, sampling, adapter):
            if first is None and chunk.text:
                first = time.perf_counter()
            parts.append(chunk.text)
            last = chunk
        end = time.perf_counter()
        return Generation(
            text="".join(parts),
            prompt_tokens=last.prompt_tokens,
            completion_tokens=last.completion_tokens,
            finish_reason=last.finish_reason,
            time_to_first_token_s=(first or end) - start,
            total_s=end - start,
        )

    async def generate_many(
        self,
        messages: Sequence[ChatMessage],
        sampling: SamplingSettings,
        adapter: Adapter | None = None,
    ) -> list[Generation]:
        """`sampling.n` independent replies to the same prompt (the reply guard's resample).

        This default runs them concurrently; vLLM overrides it with one request of `n`
        sequences, which shares the prompt's prefill.
        """
        import asyncio
        from dataclasses import replace

        one = replace(sampling, n=1)
        seeds = [None if sampling.seed is None else sampling.seed + i for i in range(sampling.n)]
        return list(
            await asyncio.gather(
                *(self.generate(messages, replace(one, seed=s), adapter) for s in seeds)
            )
        )

    @abc.abstractmethod
    async def add_adapter(self, adapter: Adapter) -> None:
        """Make an adapter available without a restart (validates the folder)."""

    @abc.abstractmethod
    async def is_ready(self) -> bool:
        """True when the engine can take requests."""

    @property
    @abc.abstractmethod
    def queue_depth(self) -> int:
        """Requests waiting or running in the engine right now."""

    @property
    @abc.abstractmethod
    def context_length(self) -> int | None:
        """Tokens one sequence may hold, prompt and reply together (None: no known limit)."""

    @abc.abstractmethod
    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens `messages` take as a prompt, rendered with the chat template exactly as
        `stream` renders them (so a caller can trim history to fit `context_length`)."""
