"""Policies the offline evaluation can run: a local model (optionally + LoRA) or the live service.

A policy turns a batch of `TaskExample`s into replies. Local policies build the prompt
with `TaskExample.messages()`, which is exactly the serving prompt, and reply directly
(greedy, no reasoning; any reasoning block a model emits anyway is stripped, as serving
does). The HTTP policy asks the running service, which builds the same prompt itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from app.domain.prompt import ChatMessage, strip_reasoning
from app.domain.rules import Intent
from training.data.schema import TaskExample
from training.eval.decoding import greedy_decode

if TYPE_CHECKING:
    import httpx
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class PolicyReply:
    """One reply and what it cost."""

    text: str
    latency_s: float  # wall time the caller waited for this reply (its batch, or its request)
    generated_tokens: int | None = None  # tokens the policy generated, when it says
    error: str | None = None  # set when the policy failed; `text` is then ""
    truncated: bool = False  # the reply hit the token cap


Verdict = Literal["inferred", "gold", "none"]
VERDICTS: tuple[str, ...] = ("inferred", "gold", "none")


def prompt_for(example: TaskExample, verdict: Verdict) -> list[ChatMessage]:
    """The prompt a local policy answers. `inferred` is what serving sends: the verdict
    line for the intent the service's classifier recognises in the message (none when it
    abstains); `gold` uses the generator's intent; `none` never adds the line."""
    if verdict == "none":
        return example.messages()
    if verdict == "gold":
        return example.messages(verdict=True)
    from app.domain.intents import earlier_requests, in_context, intent_text
    from app.engine.intent import default_intent_classifier

    def read(message: str) -> Intent | None:
        text = intent_text(message, example.context)
        guess = default_intent_classifier().classify(text, example.profile.user_id)
        return in_context(guess.intent, example.context)

    # As the chat service reads it: an unplaceable follow-up continues an earlier request.
    intent = None
    for text in (example.message, *earlier_requests(example.history)):
        if (intent := read(text)) is not None:
            break
    if intent is None:
        return example.messages()
    return example.messages(verdict=True, intent=intent)


class Policy(Protocol):
    """Anything that replies to task examples in batches."""

    name: str
    batch_size: int

    def generate(self, examples: Sequence[TaskExample]) -> list[PolicyReply]: ...

    def close(self) -> None: ...


class TransformersPolicy:
    """A causal LM (with or without a LoRA adapter) replying greedily in padded batches.

    Args:
        model: a loaded causal LM (also a PEFT model, e.g. straight from a trainer).
        tokenizer: its tokenizer, with the chat template used in serving.
        name: label for reports.
        max_new_tokens: reply budget; serving's default (`SamplingSettings.max_tokens`) is 96.
        batch_size: prompts per `generate` call.
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        name: str = "model",
        max_new_tokens: int = 96,
        batch_size: int = 8,
        verdict: Verdict = "inferred",
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self.verdict = verdict

    @classmethod
    def from_path(
        cls,
        model_path: str | Path | None = None,
        *,
        adapter_path: str | Path | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> TransformersPolicy:
        """Load a local HF model folder (None = the bundled SmolLM2), plus an adapter if given."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from app.engine.bundled import resolve_model_path

        path = resolve_model_path(str(model_path) if model_path else None)
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        if adapter_path is not None:
            from peft import PeftModel

            # Merged weights generate as fast as the base model; the base is not reused.
            model = PeftModel.from_pretrained(model, str(adapter_path)).merge_and_unload()
        label = name or (f"adapter:{adapter_path}" if adapter_path else "base")
        return cls(model, tokenizer, name=label, **kwargs)

    def generate(self, examples: Sequence[TaskExample]) -> list[PolicyReply]:
        tok = self.tokenizer
        texts = [
            tok.apply_chat_template(
                prompt_for(ex, self.verdict), tokenize=False, add_generation_prompt=True
            )
            for ex in examples
        ]
        rows, elapsed = greedy_decode(self.model, tok, texts, max_new_tokens=self.max_new_tokens)
        replies = []
        for row in rows:
            text = tok.decode(row, skip_special_tokens=True)
            truncated = tok.eos_token_id not in row
            replies.append(
                PolicyReply(
                    strip_reasoning(text), elapsed, generated_tokens=len(row), truncated=truncated
                )
            )
        return replies

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]  # free the weights for the caller


class VLLMPolicy:
    """The base model (optionally + a LoRA adapter) on vLLM's offline engine: continuous
    batching makes a 600-turn evaluation take minutes on this CPU instead of an hour.

    One engine can evaluate several adapters in turn (`with_adapter`), so a learning curve
    over checkpoints pays the ~35 s start-up once. Greedy, like serving.

    Args:
        model_path: base model folder (None: the bundled SmolLM2).
        adapter_path: LoRA adapter folder, or None for the base model.
        max_new_tokens: reply budget.
        verdict: which verdict line the prompts carry (see `prompt_for`).
        max_lora_rank: largest adapter rank the engine accepts.
        lora: build the engine with LoRA slots (default: when `adapter_path` is given).
            Without them vLLM runs every layer unwrapped, several times faster on CPU, so a
            merged model (`more train export`) is evaluated fastest with none.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        adapter_path: str | Path | None = None,
        name: str | None = None,
        max_new_tokens: int = 96,
        verdict: Verdict = "inferred",
        max_lora_rank: int = 64,
        batch_size: int = 64,
        lora: bool | None = None,
    ) -> None:
        from vllm import LLM

        from app.engine.bundled import resolve_model_path

        path = resolve_model_path(str(model_path) if model_path else None)
        self._lora = adapter_path is not None if lora is None else lora
        self.llm = LLM(
            model=str(path),
            dtype="float32",
            **(
                {"enable_lora": True, "max_lora_rank": max_lora_rank, "max_loras": 1}
                if self._lora
                else {}
            ),
            max_model_len=1024,
            gpu_memory_utilization=0.2,
            seed=0,
        )
        self.max_new_tokens = max_new_tokens
        self.verdict = verdict
        self.batch_size = batch_size
        self._lora_ids: dict[str, int] = {}
        self.adapter_path: str | None = None
        self.name = "base"
        self.with_adapter(adapter_path, name=name)

    def with_adapter(self, adapter_path: str | Path | None, *, name: str | None = None) -> None:
        """Answer with this adapter from now on (None: the base model)."""
        if adapter_path is not None and not self._lora:
            raise ValueError("this engine was built without LoRA slots: pass lora=True")
        self.adapter_path = str(adapter_path) if adapter_path is not None else None
        if self.adapter_path is not None and self.adapter_path not in self._lora_ids:
            self._lora_ids[self.adapter_path] = len(self._lora_ids) + 1
        self.name = name or (f"adapter:{adapter_path}" if adapter_path else "base")

    def generate(self, examples: Sequence[TaskExample]) -> list[PolicyReply]:
        from vllm import SamplingParams
        from vllm.lora.request import LoRARequest

        lora = None
        if self.adapter_path is not None:
            lora_id = self._lora_ids[self.adapter_path]
            lora = LoRARequest(f"adapter-{lora_id}", lora_id, self.adapter_path)
        params = SamplingParams(temperature=0.0, max_tokens=self.max_new_tokens)
        prompts = [prompt_for(ex, self.verdict) for ex in examples]
        start = time.perf_counter()
        outputs = self.llm.chat(prompts, params, lora_request=lora, use_tqdm=False)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - start
        return [
            PolicyReply(
                strip_reasoning(out.outputs[0].text),
                elapsed,
                generated_tokens=len(out.outputs[0].token_ids),
                truncated=out.outputs[0].finish_reason == "length",
            )
            for out in outputs
        ]

    def close(self) -> None:
        self.llm = None  # type: ignore[assignment]


def chat_body(example: TaskExample, user_id: str) -> dict[str, Any]:
    """The `POST /v1/chat` body for one turn: the shopper, the message, the page context."""
    body: dict[str, Any] = {"user_id": user_id, "message": example.message}
    context = example.context.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    if context:
        body["context"] = context
    return body


class HttpPolicy:
    """The live service: one `POST /v1/chat` per turn, a few in flight at once.

    The service reads the shopper's profile from its own store, so the profile must exist
    there. With `admin_key`, each example's profile is first written with
    `PUT /v1/profiles/{user_id}` under a per-example id (`<user_prefix><example id>`),
    so examples never see each other's facts; without it, the profiles must already be
    stored under the examples' own `profile.user_id`. Each turn starts a new session:
    the earlier turns of a multi-turn example are not replayed (the service would write
    its own replies to them), so such turns are answered without their history.

    Requests go through `more_client.MoreClient`, which retries only the service's 429 and
    503 answers (after their Retry-After, capped at 10 s): the chat POST carries no
    Idempotency-Key, because a key would replay a reply stored by an earlier evaluation.

    Args:
        base_url: e.g. "http://127.0.0.1:8000".
        api_key: a storefront key (`Authorization: Bearer <key>`).
        admin_key: a key with admin scope to write profiles, or None.
        concurrency: requests in flight (also the batch size the runner uses).
        timeout_s: per request.
        max_retries: retries of a request answered 429 or 503.
        transport: an httpx transport (tests pass `httpx.MockTransport`).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        admin_key: str | None = None,
        user_prefix: str = "eval-",
        concurrency: int = 4,
        timeout_s: float = 120.0,
        max_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        from more_client import MoreClient, RetryPolicy

        self.name = f"http:{base_url}"
        self.batch_size = concurrency
        self.admin_key = admin_key
        self.user_prefix = user_prefix
        self._client = MoreClient(
            base_url,
            api_key,
            admin_key=admin_key,
            timeout_s=timeout_s,
            retry=RetryPolicy(max_attempts=max_retries + 1, max_wait_s=10.0),
            transport=transport,
        )
        self._pool = ThreadPoolExecutor(max_workers=concurrency)

    def _user_id(self, example: TaskExample) -> str:
        return f"{self.user_prefix}{example.id}" if self.admin_key else example.profile.user_id

    def _ask(self, example: TaskExample) -> PolicyReply:
        user_id = self._user_id(example)
        try:
            if self.admin_key:
                # The path names the user; the body holds the facts only (no extras allowed).
                facts = example.profile.model_dump(mode="json", exclude={"user_id"})
                self._client.put_profile(user_id, facts)
            start = time.perf_counter()
            data = self._client.chat(**chat_body(example, user_id))
            elapsed = time.perf_counter() - start
        except Exception as exc:  # one failed turn must not end the evaluation
            return PolicyReply("", 0.0, error=f"{type(exc).__name__}: {exc}"[:300])
        usage = data.get("usage") or {}
        return PolicyReply(
            str(data.get("reply", "")),
            elapsed,
            generated_tokens=usage.get("completion_tokens"),
        )

    def generate(self, examples: Sequence[TaskExample]) -> list[PolicyReply]:
        return list(self._pool.map(self._ask, examples))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()


class PolicySpecError(ValueError):
    """A policy that cannot be built or run as asked: the command line's mistake, reported
    as a message, not a traceback."""


class ReplayPolicy:
    """The replies an earlier evaluation wrote (its `replies.jsonl`), by example id: scores
    stored replies again with today's checks, without generating anything.

    Args:
        path: a `replies.jsonl` written by `evaluate`.
    """

    batch_size = 256

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path} is not a replies.jsonl file")
        rows = [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
        self._rows = {row["id"]: row for row in rows}
        self.name = f"replay:{self.path}"

    def generate(self, examples: Sequence[TaskExample]) -> list[PolicyReply]:
        missing = [ex.id for ex in examples if ex.id not in self._rows]
        if missing:
            raise PolicySpecError(
                f"{self.path} holds no reply to {len(missing)} of these examples "
                f"(first: {missing[0]}); replay the split it was written for"
            )
        return [
            PolicyReply(
                text=row["reply"],
                latency_s=float(row.get("latency_s") or 0.0),
                generated_tokens=row.get("generated_tokens"),
                error=row.get("error"),
                truncated=bool(row.get("truncated", False)),
            )
            for row in (self._rows[ex.id] for ex in examples)
        ]

    def close(self) -> None:
        pass


def make_policy(
    spec: str,
    *,
    model_path: str | Path | None = None,
    api_key: str | None = None,
    admin_key: str | None = None,
    max_new_tokens: int = 96,
    batch_size: int = 8,
    concurrency: int = 4,
    engine: str = "transformers",
    verdict: Verdict = "inferred",
) -> Policy:
    """Build a policy from `base`, `adapter:<path>`, `http:<url>` or `replay:<replies.jsonl>`.

    `model_path` replaces the bundled SmolLM2 as the base model; `engine` runs local
    policies on `transformers` or `vllm`; `verdict` chooses the prompts' verdict line
    (local policies; the service adds its own). `api_key` (required for http),
    `admin_key` and `concurrency` (requests in flight) go to the HTTP policy.
    """
    if spec == "base" or spec.startswith("adapter:"):
        adapter = None
        if spec.startswith("adapter:"):
            adapter = Path(spec.removeprefix("adapter:")).expanduser()
            if not (adapter / "adapter_config.json").is_file():
                raise FileNotFoundError(
                    f"{adapter} is not a PEFT adapter folder (no adapter_config.json)"
                )
        if engine == "vllm":
            return VLLMPolicy(
                model_path, adapter_path=adapter, max_new_tokens=max_new_tokens, verdict=verdict
            )
        if engine != "transformers":
            raise PolicySpecError(f"unknown engine {engine!r}: transformers or vllm")
        return TransformersPolicy.from_path(
            model_path,
            adapter_path=adapter,
            max_new_tokens=max_new_tokens,
            batch_size=batch_size,
            verdict=verdict,
        )
    if spec.startswith(("http:", "https:")):
        # `http:<url>`: accept http:http://host:port, http://host:port and http:host:port.
        url = spec if spec.startswith(("http://", "https://")) else spec.removeprefix("http:")
        if not url.startswith(("http://", "https://")):
            url = f"http://{url}"
        if not api_key:
            raise PolicySpecError(
                "the http policy needs an API key (--api-key or MORE_EVAL_API_KEY)"
            )
        return HttpPolicy(url, api_key, admin_key=admin_key, concurrency=concurrency)
    if spec.startswith("replay:"):
        return ReplayPolicy(Path(spec.removeprefix("replay:")).expanduser())
    raise PolicySpecError(
        f"unknown policy {spec!r}: use base, adapter:<path>, http:<url> or replay:<replies.jsonl>"
    )
