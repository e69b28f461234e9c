"""Policies the offline evaluation can run: a local model (optionally + LoRA) or the live service.

A policy turns a batch of `TaskExample`s into replies. Local policies build the prompt
with `TaskExample.messages()`, which is exactly the serving prompt, and reply directly
(greedy, no reasoning; any reasoning block a model emits anyway is stripped, as serving
does). The HTTP policy asks the running service, which builds the same prompt itself.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from app.domain.prompt import strip_reasoning
from training.data.schema import TaskExample

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
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size

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
        import torch

        tok = self.tokenizer
        texts = [
            tok.apply_chat_template(ex.messages(), tokenize=False, add_generation_prompt=True)
            for ex in examples
        ]
        side = tok.padding_side
        tok.padding_side = "left"  # generation appends on the right: pad on the left
        try:
            enc = tok(texts, add_special_tokens=False, padding=True, return_tensors="pt")
        finally:
            tok.padding_side = side
        pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        was_training = self.model.training
        self.model.eval()
        start = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(
                **enc,
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                pad_token_id=pad_id,
                eos_token_id=tok.eos_token_id,
            )
        elapsed = time.perf_counter() - start
        if was_training:
            self.model.train()
        new = out[:, enc["input_ids"].shape[1] :]  # (B, new tokens)
        replies = []
        for row in new.tolist():
            n = len(row)
            if tok.eos_token_id in row:
                n = row.index(tok.eos_token_id) + 1  # the end-of-turn token is generated too
            text = tok.decode(row[:n], skip_special_tokens=True)
            replies.append(PolicyReply(strip_reasoning(text), elapsed, generated_tokens=n))
        return replies

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]  # free the weights for the caller


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
        import httpx

        self.name = f"http:{base_url}"
        self.batch_size = concurrency
        self.admin_key = admin_key
        self.user_prefix = user_prefix
        self.api_key = api_key
        self.max_retries = max_retries
        self._client = httpx.Client(base_url=base_url, timeout=timeout_s, transport=transport)
        self._pool = ThreadPoolExecutor(max_workers=concurrency)

    def _user_id(self, example: TaskExample) -> str:
        return f"{self.user_prefix}{example.id}" if self.admin_key else example.profile.user_id

    def _put_profile(self, example: TaskExample, user_id: str) -> None:
        # The user id is the path; the body holds the facts only (the API forbids extras).
        response = self._send(
            "PUT",
            f"/v1/profiles/{user_id}",
            json=example.profile.model_dump(mode="json", exclude={"user_id"}),
            headers={"Authorization": f"Bearer {self.admin_key}"},
        )
        response.raise_for_status()

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request; 429 (rate limited) and 503 (busy, e.g. a generation timeout) are
        retried after their Retry-After (default 1 s, capped at 10 s), a few times."""
        for _ in range(self.max_retries):
            response = self._client.request(method, url, **kwargs)
            if response.status_code not in (429, 503):
                return response
            try:
                wait = float(response.headers.get("Retry-After", "1"))
            except ValueError:
                wait = 1.0
            time.sleep(min(max(wait, 0.0), 10.0))
        return self._client.request(method, url, **kwargs)

    def _ask(self, example: TaskExample) -> PolicyReply:
        user_id = self._user_id(example)
        try:
            if self.admin_key:
                self._put_profile(example, user_id)
            start = time.perf_counter()
            response = self._send(
                "POST",
                "/v1/chat",
                json=chat_body(example, user_id),
                headers={"Authorization": f"Bearer {self.api_key}"},
            )
            elapsed = time.perf_counter() - start
            response.raise_for_status()
            data = response.json()
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


def make_policy(
    spec: str,
    *,
    model_path: str | Path | None = None,
    api_key: str | None = None,
    admin_key: str | None = None,
    max_new_tokens: int = 96,
    batch_size: int = 8,
    concurrency: int = 4,
) -> Policy:
    """Build a policy from `base`, `adapter:<path>` or `http:<url>`.

    `model_path` replaces the bundled SmolLM2 as the base model; `api_key` (required for
    http), `admin_key` and `concurrency` (requests in flight) go to the HTTP policy.
    """
    if spec == "base":
        return TransformersPolicy.from_path(
            model_path, max_new_tokens=max_new_tokens, batch_size=batch_size
        )
    if spec.startswith("adapter:"):
        adapter = Path(spec.removeprefix("adapter:")).expanduser()
        if not (adapter / "adapter_config.json").is_file():
            raise FileNotFoundError(
                f"{adapter} is not a PEFT adapter folder (no adapter_config.json)"
            )
        return TransformersPolicy.from_path(
            model_path, adapter_path=adapter, max_new_tokens=max_new_tokens, batch_size=batch_size
        )
    if spec.startswith(("http:", "https:")):
        # `http:<url>`: accept http:http://host:port, http://host:port and http:host:port.
        url = spec if spec.startswith(("http://", "https://")) else spec.removeprefix("http:")
        if not url.startswith(("http://", "https://")):
            url = f"http://{url}"
        if not api_key:
            raise ValueError("the http policy needs an API key (--api-key or MORE_EVAL_API_KEY)")
        return HttpPolicy(url, api_key, admin_key=admin_key, concurrency=concurrency)
    raise ValueError(f"unknown policy {spec!r}: use base, adapter:<path> or http:<url>")
