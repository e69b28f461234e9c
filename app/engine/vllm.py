"""The default backend: vLLM `AsyncLLM`, continuous batching, one LoRA per request.

One engine serves every policy version: the base weights are shared and each request
names its version's LoRA adapter. Adapters are registered by name (`add_adapter`) with a
stable int id; a newly promoted version is loaded into the running engine, no restart.

vLLM runs its engine core in a spawned process, so scripts that start this engine need
an `if __name__ == "__main__":` guard. Start-up takes ~35 s on this CPU (model load,
KV-cache sizing); `start()` blocks the event loop meanwhile, which is fine in a lifespan
(nothing is served before it returns).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from app.domain.prompt import ChatMessage, strip_reasoning
from app.engine._admission import Deadline, InflightLimit
from app.engine._reply_filter import ReplyFilter
from app.engine.adapters import stable_lora_id, validate_adapter
from app.engine.base import (
    LORA_DISABLED,
    Adapter,
    AdapterError,
    ChatEngine,
    EngineError,
    Generation,
    GenerationChunk,
    PromptTooLongError,
    SamplingSettings,
)
from app.engine.bundled import resolve_model_path
from app.engine.config import EngineConfig

if TYPE_CHECKING:
    from vllm.lora.request import LoRARequest
    from vllm.v1.engine.async_llm import AsyncLLM

logger = logging.getLogger(__name__)


# Read by the engine core process vLLM spawns inside `from_engine_args`, which inherits
# this process's environment at that moment.
_OMP_BIND_ENV = "VLLM_CPU_OMP_THREADS_BIND"


@contextlib.contextmanager
def _omp_bind(cores: str | None) -> Iterator[None]:
    """`VLLM_CPU_OMP_THREADS_BIND=cores` while an engine core process is spawned."""
    if cores is None:
        yield
        return
    previous = os.environ.get(_OMP_BIND_ENV)
    os.environ[_OMP_BIND_ENV] = cores
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(_OMP_BIND_ENV, None)
        else:
            os.environ[_OMP_BIND_ENV] = previous


class VLLMEngine(ChatEngine):
    """`ChatEngine` on vLLM's `AsyncLLM`.

    Args:
        config: the engine settings (`backend` is ignored here).
        adapters: adapters loaded during `start()`; more can be added later.
    """

    def __init__(self, config: EngineConfig, adapters: Sequence[Adapter] = ()) -> None:
        self.config = config
        self.model_name = config.model_path or "smollm2-135m-instruct"
        self._initial_adapters = tuple(adapters)
        self._llm: AsyncLLM | None = None
        self._tokenizer: Any = None
        self._loras: dict[str, LoRARequest] = {}
        self._limit = InflightLimit(config.max_queue)
        self._ready = False

    async def start(self) -> None:
        """Build the engine (~35 s on CPU), load the initial adapters, warm up."""
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM

        if self._llm is not None:
            return
        path = resolve_model_path(self.config.model_path, self.config.cache_dir)
        self.model_name = path.name
        args = AsyncEngineArgs(
            model=str(path),
            served_model_name=[self.model_name],
            dtype=self.config.dtype,
            seed=self.config.seed,
            max_model_len=self.config.max_model_len,
            gpu_memory_utilization=self.config.gpu_memory_utilization,
            max_num_seqs=self.config.max_num_seqs,
            enable_lora=self.config.enable_lora,
            max_loras=self.config.max_loras,
            max_lora_rank=self.config.max_lora_rank,
            max_cpu_loras=self.config.max_cpu_loras,
            # Our own metrics cover requests; vLLM's periodic stats log is noise here.
            disable_log_stats=True,
        )
        logger.info("starting vLLM on %s (%s)", path, self.config.dtype)
        with _omp_bind(self.config.cpu_bind):
            self._llm = AsyncLLM.from_engine_args(args)
        # Not awaitable in vLLM 0.32: returns the tokenizer (pool) directly.
        self._tokenizer = self._llm.get_tokenizer()
        try:
            for adapter in self._initial_adapters:
                await self.add_adapter(adapter)
            if self.config.warmup:
                await self._warm_up()
        except BaseException:
            await self.close()
            raise
        self._ready = True

    async def close(self) -> None:
        """Stop the engine core process; safe to call twice or before `start()`."""
        self._ready = False
        llm, self._llm = self._llm, None
        if llm is not None:
            llm.shutdown()

    async def is_ready(self) -> bool:
        if not self._ready or self._llm is None or self._llm.errored:
            return False
        try:
            await self._llm.check_health()
        except Exception:
            return False
        return True

    @property
    def queue_depth(self) -> int:
        return self._limit.depth

    @property
    def adapters(self) -> tuple[str, ...]:
        """Names of the adapters this engine can serve."""
        return tuple(self._loras)

    async def add_adapter(self, adapter: Adapter) -> None:
        """Validate the folder and load it into the running engine (idempotent by name)."""
        from vllm.lora.request import LoRARequest

        llm = self._require_engine()
        if not self.config.enable_lora:
            raise AdapterError(LORA_DISABLED)
        known = self._loras.get(adapter.name)
        if known is not None:
            if known.lora_path == adapter.path:
                return
            raise AdapterError(
                f"adapter {adapter.name!r} is already served from another folder; "
                "register the new weights under a new version name"
            )
        validate_adapter(adapter, max_rank=self.config.max_lora_rank)
        taken = {req.lora_int_id: name for name, req in self._loras.items()}
        request = LoRARequest(
            lora_name=adapter.name,
            lora_int_id=stable_lora_id(adapter.name, taken),
            lora_path=adapter.path,
        )
        try:
            # Loads the weights on the worker now, so a bad adapter fails here, not mid-request.
            await llm.add_lora(request)
        except Exception as exc:
            raise AdapterError(f"adapter {adapter.name!r} failed to load: {exc}") from exc
        self._loras[adapter.name] = request
        logger.info("adapter %s loaded (lora id %d)", adapter.name, request.lora_int_id)

    @contextlib.asynccontextmanager
    async def _request(
        self,
        messages: Sequence[ChatMessage],
        sampling: SamplingSettings,
        adapter: Adapter | None,
        **params: Any,
    ) -> AsyncIterator[tuple[AsyncIterator[Any], Deadline, int]]:
        """One admitted vLLM request: (its outputs, its deadline, prompt tokens).

        Closing an unfinished vLLM generator aborts its request in the engine core, so
        leaving the block early (timeout, early stop, client gone) frees the engine.
        """
        llm = self._require_engine()
        lora = self._lora_for(adapter)
        with self._limit.admit():
            deadline = Deadline(self.config.generation_timeout_s)
            try:
                prompt, n_prompt = await self._render(messages)
            except EngineError:
                raise
            except Exception as exc:  # e.g. the chat template rejects the roles
                raise EngineError(f"could not render the prompt: {exc}") from exc
            sampling_params = self._sampling_params(sampling, n_prompt)
            for name, value in params.items():
                setattr(sampling_params, name, value)
            raw = llm.generate(prompt, sampling_params, uuid.uuid4().hex, lora_request=lora)
            try:
                yield raw, deadline, n_prompt
            except EngineError:
                raise
            except Exception as exc:
                raise EngineError(f"generation failed: {exc}") from exc
            finally:
                await raw.aclose()

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        sampling: SamplingSettings,
        adapter: Adapter | None = None,
    ) -> AsyncIterator[GenerationChunk]:
        """Stream a direct reply; aborts the vLLM request on timeout or when closed early."""
        reply = ReplyFilter()
        n_completion = 0
        finish_reason: str | None = None
        async with self._request(messages, sampling, adapter) as (raw, deadline, n_prompt):
            while True:
                try:
                    output = await deadline.next(raw)
                except StopAsyncIteration:
                    break
                completion = output.outputs[0]
                n_completion += len(completion.token_ids)  # DELTA: new tokens only
                text = reply.feed(completion.text)
                if text:
                    yield GenerationChunk(text=text)
                if reply.done:  # a reasoning tag inside the reply: stop here
                    finish_reason = "stop"
                    break
                if output.finished:
                    # Keep reading: the generator then ends by itself, whereas closing
                    # it here would send a needless abort to the engine core.
                    finish_reason = completion.finish_reason
        yield GenerationChunk(
            text=reply.finish(),
            finished=True,
            prompt_tokens=n_prompt,
            completion_tokens=n_completion,
            finish_reason=finish_reason,
        )

    async def generate_many(
        self,
        messages: Sequence[ChatMessage],
        sampling: SamplingSettings,
        adapter: Adapter | None = None,
    ) -> list[Generation]:
        """`sampling.n` replies in one vLLM request: the prompt is prefilled once."""
        from vllm.sampling_params import RequestOutputKind

        start = time.perf_counter()
        final = None
        options = {"n": sampling.n, "output_kind": RequestOutputKind.FINAL_ONLY}
        async with self._request(messages, sampling, adapter, **options) as (raw, deadline, n):
            while True:
                try:
                    final = await deadline.next(raw)
                except StopAsyncIteration:
                    break
        total = time.perf_counter() - start
        if final is None:
            return []
        return [
            Generation(
                text=strip_reasoning(out.text),
                prompt_tokens=n,
                completion_tokens=len(out.token_ids),
                finish_reason=out.finish_reason,
                time_to_first_token_s=total,
                total_s=total,
            )
            for out in final.outputs
        ]

    def _require_engine(self) -> AsyncLLM:
        if self._llm is None:
            raise EngineError("the vLLM engine is not running (start() it first)")
        return self._llm

    def _lora_for(self, adapter: Adapter | None) -> LoRARequest | None:
        if adapter is None:
            return None
        request = self._loras.get(adapter.name)
        if request is None:
            raise AdapterError(f"unknown adapter {adapter.name!r}: add_adapter() it first")
        return request

    @property
    def context_length(self) -> int:
        return self.config.max_model_len

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        if self._tokenizer is None:
            raise EngineError("the vLLM engine is not running (start() it first)")
        return len(self._token_ids(messages))

    def _token_ids(self, messages: Sequence[ChatMessage]) -> list[int]:
        text = self._tokenizer.apply_chat_template(
            list(messages), tokenize=False, add_generation_prompt=True
        )
        return list(self._tokenizer.encode(text, add_special_tokens=False))

    async def _render(self, messages: Sequence[ChatMessage]) -> tuple[Any, int]:
        """Apply the model's chat template and hand vLLM the token ids."""
        from vllm.inputs import TokensPrompt

        ids = self._token_ids(messages)
        if len(ids) >= self.config.max_model_len:
            raise PromptTooLongError(
                f"prompt of {len(ids)} tokens leaves no room for a reply "
                f"(max_model_len={self.config.max_model_len})"
            )
        # The renderer turns token ids into an engine input without the deprecated
        # raw-prompt path (it also validates the length against max_model_len).
        (engine_input,) = await self._require_engine().renderer.render_cmpl_async(
            [TokensPrompt(prompt_token_ids=ids)]
        )
        return engine_input, len(ids)

    def _sampling_params(self, sampling: SamplingSettings, n_prompt: int) -> Any:
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        return SamplingParams(
            max_tokens=min(sampling.max_tokens, self.config.max_model_len - n_prompt),
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            seed=sampling.seed,
            stop=list(sampling.stop) or None,
            output_kind=RequestOutputKind.DELTA,  # stream only the new text
        )

    async def _warm_up(self) -> None:
        messages: list[ChatMessage] = [{"role": "user", "content": "Hello"}]
        async for _ in self.stream(messages, SamplingSettings(max_tokens=2)):
            pass
