"""Fluency: how likely a frozen reference LM finds the reply, given the serving prompt.

Score per reply: the mean log-probability per reply token under a frozen causal LM
(SmolLM2-135M-Instruct by default), conditioned on the exact chat prompt the policy saw,
then squashed to [0, 1] by a logistic curve:

    fluency = sigmoid((mean_logprob - center) / scale)

`center` is the mean log-probability (nats per token) that maps to 0.5 and `scale` how
many nats move the score by about a quarter. The defaults were calibrated on the bundled
SmolLM2 (see docs/evaluation.md): fluent, on-topic replies score about 0.6-0.9, garbled or
word-salad replies below 0.1. High means the reference LM would plausibly have written
these words in this conversation; low means ungrammatical, garbled or off-distribution
text. An empty reply scores 0.

The model is loaded once per (path, dtype) and cached; scoring runs in batches without
gradients, sorted by length so padding stays small, and projects only reply positions
through the LM head (the vocabulary projection dominates the cost on a 135M model).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.domain.prompt import ChatMessage
from training.rewards.base import RewardFunc
from training.rewards.linguistic._inputs import prompt_conversations, replies

if TYPE_CHECKING:  # torch stays out of import time: `more --help` must be fast
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

DEFAULT_CENTER = -4.0  # nats/token mapped to 0.5 (calibrated on SmolLM2-135M, see docs)
DEFAULT_SCALE = 1.0  # nats per logistic unit


@lru_cache(maxsize=4)
def load_reference_lm(model_path: str) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a frozen causal LM and its tokenizer once per path (fp32: faster on CPU)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    model.eval()
    model.requires_grad_(False)
    return model, tokenizer


def squash(
    mean_logprob: float, center: float = DEFAULT_CENTER, scale: float = DEFAULT_SCALE
) -> float:
    """Map a mean log-probability (nats/token, <= 0) to [0, 1] with a logistic curve."""
    z = (mean_logprob - center) / scale
    return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0


class FluencyScorer:
    """Mean reply-token log-probabilities under a frozen LM, batched, without gradients.

    Args:
        model_path: a local HF causal-LM folder; None means the bundled SmolLM2.
        batch_size: sequences per forward pass.
        max_length: prompt + reply tokens kept per sequence; the prompt is cut from the
            left first, because the reply is what is scored.
    """

    def __init__(
        self, model_path: str | Path | None = None, *, batch_size: int = 8, max_length: int = 1024
    ) -> None:
        self.model_path = model_path
        self.batch_size = batch_size
        self.max_length = max_length
        # GRPO scores G completions of one prompt: tokenise each prompt once.
        self._prompt_ids: OrderedDict[str, list[int]] = OrderedDict()

    def _lm(self) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        from app.engine.bundled import resolve_model_path

        return load_reference_lm(str(resolve_model_path(str(self.model_path or "") or None)))

    def _encode_prompt(
        self, tokenizer: PreTrainedTokenizerBase, prompt: list[ChatMessage] | str | None
    ) -> list[int]:
        if prompt is None:
            if not getattr(tokenizer, "chat_template", None):
                bos = tokenizer.bos_token_id
                return [bos] if bos is not None else []
            # Unconditioned: a generic chat whose user said nothing, so the text is still
            # read as an assistant reply (bare BOS costs chat models several nats a token).
            prompt = [{"role": "user", "content": ""}]
        if isinstance(prompt, str):
            text = prompt
        else:
            text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
        ids = self._prompt_ids.get(text)
        if ids is None:
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            self._prompt_ids[text] = ids
            if len(self._prompt_ids) > 256:
                self._prompt_ids.popitem(last=False)
        else:
            self._prompt_ids.move_to_end(text)
        return ids

    def mean_logprobs(
        self, prompts: Sequence[list[ChatMessage] | str | None], texts: Sequence[str]
    ) -> list[float | None]:
        """Mean log-probability per reply token (nats), None for an empty reply.

        Replies that share a prompt (GRPO's G samples) reuse one forward pass over the
        prompt through its KV cache; the rest go through joint prompt + reply passes.
        """
        model, tokenizer = self._lm()
        groups: dict[tuple[int, ...], list[tuple[int, list[int]]]] = {}
        for i, (prompt, text) in enumerate(zip(prompts, texts, strict=True)):
            reply_ids = tokenizer(text, add_special_tokens=False)["input_ids"] if text else []
            if not reply_ids:
                continue
            reply_ids = reply_ids[: self.max_length - 1]
            prompt_ids = self._encode_prompt(tokenizer, prompt)
            keep = max(self.max_length - len(reply_ids), 0)
            prompt_ids = prompt_ids[len(prompt_ids) - keep :] if keep else []
            groups.setdefault(tuple(prompt_ids), []).append((i, reply_ids))

        out: list[float | None] = [None] * len(texts)
        singles: list[tuple[int, list[int], int]] = []
        for prompt_ids, members in groups.items():
            if len(members) > 1 and prompt_ids:
                self._score_shared_prompt(model, list(prompt_ids), members, out)
            else:
                singles.extend((i, list(prompt_ids) + r, len(r)) for i, r in members)
        self._score_joint(model, tokenizer, singles, out)
        return out

    def _score_joint(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        rows: list[tuple[int, list[int], int]],
        out: list[float | None],
    ) -> None:
        """Score (index, prompt + reply ids, reply length) rows in padded joint passes."""
        import torch

        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        rows = sorted(rows, key=lambda row: len(row[1]))  # similar lengths: less padding
        decoder = model.get_decoder()
        with torch.inference_mode():
            for start in range(0, len(rows), self.batch_size):
                batch = rows[start : start + self.batch_size]
                width = max(len(ids) for _, ids, _ in batch)
                input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for b, (_, ids, _) in enumerate(batch):  # right padding keeps positions exact
                    input_ids[b, : len(ids)] = torch.tensor(ids)
                    mask[b, : len(ids)] = 1
                hidden = decoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
                # hidden: (B, T, H). Token t is predicted from position t - 1.
                picked, targets = [], []
                for b, (_, ids, n_reply) in enumerate(batch):
                    lo = max(len(ids) - n_reply - 1, 0)
                    picked.append(hidden[b, lo : len(ids) - 1])
                    targets.append(input_ids[b, lo + 1 : len(ids)])
                self._reduce(model, [i for i, _, _ in batch], picked, targets, out)

    def _score_shared_prompt(
        self,
        model: PreTrainedModel,
        prompt_ids: list[int],
        members: list[tuple[int, list[int]]],
        out: list[float | None],
    ) -> None:
        """Score several replies to one prompt: the prompt runs once, its cache is reused."""
        import copy

        import torch

        decoder = model.get_decoder()
        with torch.inference_mode():
            prompt = torch.tensor([prompt_ids])
            first = decoder(input_ids=prompt, use_cache=True)
            last_hidden = first.last_hidden_state[0, -1:]  # (1, H): predicts reply token 1
            members = sorted(members, key=lambda m: len(m[1]))
            for start in range(0, len(members), self.batch_size):
                batch = members[start : start + self.batch_size]
                width = max(len(r) for _, r in batch)
                input_ids = torch.zeros((len(batch), width), dtype=torch.long)
                mask = torch.zeros((len(batch), len(prompt_ids) + width), dtype=torch.long)
                mask[:, : len(prompt_ids)] = 1
                for b, (_, reply) in enumerate(batch):
                    input_ids[b, : len(reply)] = torch.tensor(reply)
                    mask[b, len(prompt_ids) : len(prompt_ids) + len(reply)] = 1
                cache = copy.deepcopy(first.past_key_values)
                cache.batch_repeat_interleave(len(batch))
                hidden = decoder(
                    input_ids=input_ids, attention_mask=mask, past_key_values=cache
                ).last_hidden_state  # (B, R, H)
                picked = [
                    torch.cat([last_hidden, hidden[b, : len(reply) - 1]])
                    for b, (_, reply) in enumerate(batch)
                ]
                targets = [input_ids[b, : len(reply)] for b, (_, reply) in enumerate(batch)]
                self._reduce(model, [i for i, _ in batch], picked, targets, out)

    @staticmethod
    def _reduce(
        model: PreTrainedModel,
        indices: list[int],
        picked: list[Any],
        targets: list[Any],
        out: list[float | None],
    ) -> None:
        """Project only reply positions through the LM head; store each row's mean."""
        import torch

        sizes = [len(t) for t in targets]
        logits = model.get_output_embeddings()(torch.cat(picked)).float()  # (N, V)
        logprobs = torch.log_softmax(logits, dim=-1)
        token_lp = logprobs.gather(1, torch.cat(targets).unsqueeze(1)).squeeze(1)
        for i, chunk in zip(indices, token_lp.split(sizes), strict=True):
            # A one-token reply with no prompt and no BOS has no scored position.
            out[i] = float(chunk.mean()) if chunk.numel() else -math.inf


def get_fluency_reward(
    model_path: str | Path | None = None,
    *,
    center: float = DEFAULT_CENTER,
    scale: float = DEFAULT_SCALE,
    batch_size: int = 8,
    max_length: int = 1024,
    conditioned: bool = True,
) -> RewardFunc:
    """A fluency reward in [0, 1] scored by a frozen reference LM (loaded on first call).

    Args:
        model_path: local HF causal-LM folder; None (default) uses the bundled SmolLM2.
        center: mean log-probability per token (nats) that maps to 0.5.
        scale: nats per logistic unit; smaller makes the squash steeper.
        batch_size: sequences per forward pass.
        max_length: tokens kept per prompt + reply (the prompt is cut from the left).
        conditioned: score the reply after the serving prompt (default) or on its own.

    Returns:
        `fluency_reward(prompts, completions, **columns) -> list[float]`: 1 is the most
        fluent (the LM would likely say these words here), 0 garbled or empty.

    Example:
        >>> reward = get_fluency_reward()  # the bundled SmolLM2
        >>> ask = [{"role": "user", "content": "Does a $300 phone fit my $1,300 credit?"}]
        >>> replies = ["Yes, the $300 phone fits your $1,300 credit.", "credit of fits phone yes"]
        >>> good, garbled = reward([ask, ask], replies)
        >>> good > 0.5 > garbled
        True
    """
    scorer = FluencyScorer(model_path, batch_size=batch_size, max_length=max_length)

    def fluency_reward(
        prompts: Sequence[Any] | None, completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        texts = replies(completions)
        convs = (
            prompt_conversations(prompts, len(texts), kwargs)
            if conditioned
            else [None] * len(texts)
        )
        means = scorer.mean_logprobs(convs, texts)
        return [0.0 if m is None else squash(m, center, scale) for m in means]

    fluency_reward.scorer = scorer  # type: ignore[attr-defined]  # for inspection and tests
    return fluency_reward


# The default instance: bundled SmolLM2, loaded lazily on the first call.
fluency_reward: RewardFunc = get_fluency_reward()
