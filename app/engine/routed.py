"""Several policies, each merged into its own engine: an A/B without LoRA slots.

On vLLM's CPU backend a policy in a LoRA slot costs 2-4x the base model per token and
stops scaling past a few concurrent shoppers, while the same policy merged into the
weights runs at base-model speed (docs/benchmarks.md). An experiment between two
policies therefore runs one merged engine per policy, each engine's core on its own CPU
core, and this engine sends each request to the engine of the policy it names.

The engines share the base model's tokenizer (every policy is an adapter of it), so
prompts count the same whichever engine serves them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence

from app.domain.prompt import ChatMessage
from app.engine.base import (
    Adapter,
    AdapterError,
    ChatEngine,
    Generation,
    GenerationChunk,
    SamplingSettings,
)

# Why a policy that is not one of the merged engines cannot be added at run time.
NOT_MERGED = (
    "this service runs one merged engine per policy of its experiment, with no LoRA "
    "slots, so {name!r} cannot be added without a restart (restart with "
    "MORE_MERGE_ADAPTER=false to load adapters at run time)"
)


class PolicyRoutedEngine(ChatEngine):
    """One engine per policy; a request goes to the engine of the adapter it names.

    Args:
        engines: engine per adapter name, each already serving that policy merged
            (requests reach it without an adapter); the key `None` serves requests that
            name no adapter (the base model), when some policy has none.
        adapters: the adapters those names stand for (a request must name the same
            folder, as with LoRA slots).
    """

    def __init__(
        self, engines: Mapping[str | None, ChatEngine], adapters: Sequence[Adapter] = ()
    ) -> None:
        if not engines:
            raise ValueError("PolicyRoutedEngine needs at least one engine")
        self._engines = dict(engines)
        self._adapters = {a.name: a for a in adapters}
        missing = {name for name in self._engines if name is not None} - set(self._adapters)
        if missing:
            raise ValueError(f"no adapter given for the engines of {sorted(missing)}")
        self.model_name = next(iter(self._engines.values())).model_name

    @property
    def engines(self) -> dict[str | None, ChatEngine]:
        """The engine serving each policy (adapter name; None: the base model)."""
        return dict(self._engines)

    async def start(self) -> None:
        """Start the engines one after another (each start is CPU-bound), closing the
        started ones if one fails."""
        started: list[ChatEngine] = []
        try:
            for engine in self._engines.values():
                await engine.start()
                started.append(engine)
        except BaseException:
            for engine in started:
                with contextlib.suppress(Exception):
                    await engine.close()
            raise

    async def close(self) -> None:
        errors = []
        for engine in self._engines.values():
            try:
                await engine.close()
            except Exception as exc:  # close the others anyway
                errors.append(exc)
        if errors:
            raise errors[0]

    def _engine_for(self, adapter: Adapter | None) -> ChatEngine:
        key = adapter.name if adapter is not None else None
        engine = self._engines.get(key)
        if engine is None:
            what = f"adapter {key!r}" if key is not None else "the base model"
            raise AdapterError(f"{what} is not served here: add_adapter() it first")
        if adapter is not None and self._adapters[adapter.name].path != adapter.path:
            raise AdapterError(
                f"adapter {adapter.name!r} is served from another folder; register the "
                "new weights under a new version name"
            )
        return engine

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        sampling: SamplingSettings,
        adapter: Adapter | None = None,
    ) -> AsyncIterator[GenerationChunk]:
        engine = self._engine_for(adapter)
        async for chunk in engine.stream(messages, sampling, None):
            yield chunk

    async def generate_many(
        self,
        messages: Sequence[ChatMessage],
        sampling: SamplingSettings,
        adapter: Adapter | None = None,
    ) -> list[Generation]:
        return await self._engine_for(adapter).generate_many(messages, sampling, None)

    async def add_adapter(self, adapter: Adapter) -> None:
        """Accept the adapters already merged (idempotent, as with LoRA slots); refuse
        any other: loading a new policy needs a restart in this mode."""
        known = self._adapters.get(adapter.name)
        if known is None:
            raise AdapterError(NOT_MERGED.format(name=adapter.name))
        self._engine_for(adapter)  # the same folder, or an AdapterError

    async def is_ready(self) -> bool:
        ready = await asyncio.gather(*(e.is_ready() for e in self._engines.values()))
        return all(ready)

    @property
    def queue_depth(self) -> int:
        return sum(e.queue_depth for e in self._engines.values())

    @property
    def context_length(self) -> int | None:
        lengths = [e.context_length for e in self._engines.values()]
        known = [n for n in lengths if n is not None]
        return min(known) if known else None

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return next(iter(self._engines.values())).count_tokens(messages)
