"""The small-machine backend: transformers `generate` + PEFT, one request at a time.

Same contract as the vLLM backend (chat template, per-request LoRA, streaming, timeout,
overload limit) without vLLM's batching: one model, so generation is serialised by a
lock and runs in a single worker thread while the event loop keeps serving. Used with
`MORE_ENGINE=transformers` and in fast tests on a tiny random model.

Adapters: the first one wraps the base model in a `PeftModel`; later ones are loaded
beside it (PEFT multi-adapter). A request picks its adapter with `set_adapter`, or runs
the bare base model inside `disable_adapter()`. Both happen under the lock, in the
worker thread, right before `generate`, so concurrent requests never see each other's
adapter.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from app.domain.prompt import ChatMessage
from app.engine._admission import Deadline, InflightLimit
from app.engine._reply_filter import ReplyFilter
from app.engine.adapters import validate_adapter
from app.engine.base import (
    LORA_DISABLED,
    Adapter,
    AdapterError,
    ChatEngine,
    EngineError,
    GenerationChunk,
    PromptTooLongError,
    SamplingSettings,
)
from app.engine.bundled import resolve_model_path
from app.engine.config import EngineConfig

logger = logging.getLogger(__name__)


class _Cancelled:
    """A `StoppingCriteria` that ends `generate` once `event` is set (timeout, disconnect)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool)


def _token_streamer(tokenizer: Any) -> Any:
    """An `AsyncTextIteratorStreamer` that flushes after every token, not every word.

    The stock streamer holds text back until a space, so a reply's first words (and the
    time-to-first-token metric) wait for whole words. Byte-level BPE decodes a growing
    token list as a growing string, so only an incomplete UTF-8 tail must wait.
    """
    from transformers import AsyncTextIteratorStreamer

    class TokenStreamer(AsyncTextIteratorStreamer):
        def put(self, value: Any) -> None:
            if self.skip_prompt and self.next_tokens_are_prompt:
                self.next_tokens_are_prompt = False
                return
            self.token_cache.extend(value.reshape(-1).tolist())
            text = self.tokenizer.decode(self.token_cache, **self.decode_kwargs)
            if text.endswith("\ufffd"):
                return  # half a multi-byte character: wait for the rest
            printable = text[self.print_len :]
            self.print_len = len(text)
            if printable:
                self.on_finalized_text(printable)

    return TokenStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)


async def _acquire_within(lock: asyncio.Lock, deadline: Deadline) -> None:
    """Take `lock` before the deadline, or raise `EngineTimeoutError` and not hold it.

    `wait_for(lock.acquire())` alone can lose the lock when cancellation and acquisition
    race; here the acquisition is its own task and is released if it won that race.
    """
    acquire = asyncio.ensure_future(lock.acquire())
    try:
        await asyncio.wait_for(asyncio.shield(acquire), deadline.remaining())
    except BaseException as exc:
        if acquire.done() and not acquire.cancelled() and acquire.exception() is None:
            lock.release()
        else:
            acquire.cancel()
        if isinstance(exc, TimeoutError):
            raise deadline.error() from None
        raise


class TransformersEngine(ChatEngine):
    """`ChatEngine` on transformers + PEFT.

    Args:
        config: the engine settings (`backend` is ignored here; `max_num_seqs`,
            `gpu_memory_utilization` and `max_loras` have no meaning for this backend).
        adapters: adapters loaded during `start()`; more can be added later.
    """

    def __init__(self, config: EngineConfig, adapters: Sequence[Adapter] = ()) -> None:
        self.config = config
        self.model_name = config.model_path or "smollm2-135m-instruct"
        self._initial_adapters = tuple(adapters)
        self._model: Any = None  # the base model, or the PeftModel around it
        self._tokenizer: Any = None
        self._adapters: dict[str, str] = {}  # name -> folder
        self._limit = InflightLimit(config.max_queue)
        # One worker thread owns the model; the asyncio lock orders requests (and adapter
        # loads) and is released only when the worker has finished with the model.
        self._executor: ThreadPoolExecutor | None = None
        self._lock = asyncio.Lock()
        self._ready = False

    async def start(self) -> None:
        """Load tokenizer and weights in the worker thread, then the initial adapters."""
        if self._model is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hf-engine")
        loop = asyncio.get_running_loop()
        self._model, self._tokenizer = await loop.run_in_executor(self._executor, self._load)
        for adapter in self._initial_adapters:
            await self.add_adapter(adapter)
        if self.config.warmup:
            messages: list[ChatMessage] = [{"role": "user", "content": "Hello"}]
            async for _ in self.stream(messages, SamplingSettings(max_tokens=2)):
                pass
        self._ready = True

    def _load(self) -> tuple[Any, Any]:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = resolve_model_path(self.config.model_path, self.config.cache_dir)
        self.model_name = path.name
        torch.manual_seed(self.config.seed)
        if self.config.cpu_threads is not None:
            torch.set_num_threads(self.config.cpu_threads)
        dtype = "auto" if self.config.dtype == "auto" else getattr(torch, self.config.dtype)
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
        model.eval()
        logger.info("loaded %s with transformers (%s)", path, self.config.dtype)
        return model, tokenizer

    async def close(self) -> None:
        """Wait for the running generation to stop, then free the model."""
        self._ready = False
        async with self._lock:
            self._model = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def is_ready(self) -> bool:
        return self._ready and self._model is not None

    @property
    def queue_depth(self) -> int:
        return self._limit.depth

    @property
    def adapters(self) -> tuple[str, ...]:
        """Names of the adapters this engine can serve."""
        return tuple(self._adapters)

    async def add_adapter(self, adapter: Adapter) -> None:
        """Validate the folder and load it beside the others (idempotent by name)."""
        self._require_model()
        if not self.config.enable_lora:
            raise AdapterError(LORA_DISABLED)
        known = self._adapters.get(adapter.name)
        if known is not None:
            if known == adapter.path:
                return
            raise AdapterError(
                f"adapter {adapter.name!r} is already served from another folder; "
                "register the new weights under a new version name"
            )
        validate_adapter(adapter, max_rank=self.config.max_lora_rank)
        loop = asyncio.get_running_loop()
        async with self._lock:  # never swap modules under a running generation
            try:
                await loop.run_in_executor(self._executor, self._load_adapter, adapter)
            except Exception as exc:
                raise AdapterError(f"adapter {adapter.name!r} failed to load: {exc}") from exc
        self._adapters[adapter.name] = adapter.path
        logger.info("adapter %s loaded", adapter.name)

    def _load_adapter(self, adapter: Adapter) -> None:
        from peft import PeftModel

        if isinstance(self._model, PeftModel):
            self._model.load_adapter(adapter.path, adapter_name=adapter.name, is_trainable=False)
        else:
            self._model = PeftModel.from_pretrained(
                self._model, adapter.path, adapter_name=adapter.name, is_trainable=False
            )
        self._model.eval()

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        sampling: SamplingSettings,
        adapter: Adapter | None = None,
    ) -> AsyncIterator[GenerationChunk]:
        """Stream a direct reply; waits its turn for the model within the timeout."""
        self._require_model()
        if adapter is not None and adapter.name not in self._adapters:
            raise AdapterError(f"unknown adapter {adapter.name!r}: add_adapter() it first")
        with self._limit.admit():
            deadline = Deadline(self.config.generation_timeout_s)
            try:
                input_ids = self._encode(messages)
            except EngineError:
                raise
            except Exception as exc:  # e.g. the chat template rejects the roles
                raise EngineError(f"could not render the prompt: {exc}") from exc
            n_prompt = int(input_ids.shape[1])
            max_new = min(sampling.max_tokens, self.config.max_model_len - n_prompt)

            # Wait for the model within the request's budget; a request that times out
            # here never touches it.
            await _acquire_within(self._lock, deadline)
            cancel = threading.Event()
            try:
                streamer = _token_streamer(self._tokenizer)
                loop = asyncio.get_running_loop()
                worker = loop.run_in_executor(
                    self._executor,
                    self._generate,
                    input_ids,
                    sampling,
                    max_new,
                    adapter.name if adapter else None,
                    streamer,
                    cancel,
                )
            except BaseException:
                self._lock.release()
                raise
            # The lock is released when the worker is done with the model, however this
            # generator ends (finished, timed out, closed early or cancelled).
            worker.add_done_callback(lambda _: self._lock.release())

            reply = ReplyFilter()
            try:
                while True:
                    try:
                        piece = await deadline.next(streamer)
                    except StopAsyncIteration:
                        break
                    text = reply.feed(piece)
                    if text:
                        yield GenerationChunk(text=text)
                    if reply.done:  # a reasoning tag inside the reply: stop here
                        cancel.set()
                        break
                # Finished or cancelled: the worker returns within one decoding step.
                output = await worker
            except EngineError:
                raise
            except Exception as exc:
                raise EngineError(f"generation failed: {exc}") from exc
            finally:
                cancel.set()  # timeout or early close: stop the worker at its next step
            n_completion = int(output.shape[1]) - n_prompt
            if reply.done:
                finish_reason = "stop"
            else:
                finish_reason = "length" if n_completion >= max_new else "stop"
            yield GenerationChunk(
                text=reply.finish(),
                finished=True,
                prompt_tokens=n_prompt,
                completion_tokens=n_completion,
                finish_reason=finish_reason,
            )

    def _require_model(self) -> None:
        if self._model is None:
            raise EngineError("the transformers engine is not running (start() it first)")

    @property
    def context_length(self) -> int:
        return self.config.max_model_len

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        self._require_model()
        return int(self._token_ids(messages).shape[1])

    def _token_ids(self, messages: Sequence[ChatMessage]) -> Any:
        text = self._tokenizer.apply_chat_template(
            list(messages), tokenize=False, add_generation_prompt=True
        )
        return self._tokenizer(text, add_special_tokens=False, return_tensors="pt")[
            "input_ids"
        ]  # (1, T)

    def _encode(self, messages: Sequence[ChatMessage]) -> Any:
        input_ids = self._token_ids(messages)  # (1, T)
        if input_ids.shape[1] >= self.config.max_model_len:
            raise PromptTooLongError(
                f"prompt of {input_ids.shape[1]} tokens leaves no room for a reply "
                f"(max_model_len={self.config.max_model_len})"
            )
        return input_ids

    def _generate(
        self,
        input_ids: Any,
        sampling: SamplingSettings,
        max_new_tokens: int,
        adapter_name: str | None,
        streamer: Any,
        cancel: threading.Event,
    ) -> Any:
        """Runs in the worker thread, under the lock. Returns the token ids (1, T + new)."""
        import contextlib

        import torch
        from peft import PeftModel
        from transformers import StoppingCriteriaList

        model = self._model
        try:
            if model is None:
                raise EngineError("the engine was closed")
            if cancel.is_set():
                raise EngineError("cancelled before start")
            greedy = sampling.temperature <= 0
            kwargs: dict[str, Any] = {
                "max_new_tokens": max_new_tokens,
                "do_sample": not greedy,
                "streamer": streamer,
                "stopping_criteria": StoppingCriteriaList([_Cancelled(cancel)]),
                "pad_token_id": (
                    self._tokenizer.pad_token_id
                    if self._tokenizer.pad_token_id is not None
                    else self._tokenizer.eos_token_id
                ),
            }
            if not greedy:
                kwargs.update(temperature=sampling.temperature, top_p=sampling.top_p)
            else:
                # The model's generation_config may carry sampling defaults; greedy ignores them.
                kwargs.update(temperature=None, top_p=None, top_k=None)
            if sampling.stop:
                kwargs.update(stop_strings=list(sampling.stop), tokenizer=self._tokenizer)
            if sampling.seed is not None:
                torch.manual_seed(sampling.seed)
            scope: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
            if isinstance(model, PeftModel):
                if adapter_name is None:
                    scope = model.disable_adapter()
                else:
                    model.set_adapter(adapter_name)
            with torch.inference_mode(), scope:
                return model.generate(
                    input_ids=input_ids,
                    attention_mask=torch.ones_like(input_ids),
                    **kwargs,
                )
        except BaseException:
            streamer.end()  # wake the reader; it then sees this exception from the worker
            raise
