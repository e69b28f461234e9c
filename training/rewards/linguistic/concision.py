"""Concision: stay within a length budget and do not repeat yourself.

Score per reply, the product of two factors in [0, 1]:

* length: 1 while the reply has at most `budget` units (words by default, or tokens of a
  given tokenizer), then `budget / length` (twice the budget scores 0.5, three times 0.33);
* repetition: 1 minus the mean, over n-gram sizes (2 and 3 by default), of the share of
  the reply's n-grams that repeat an earlier n-gram (case and punctuation ignored).

High (near 1) means short enough for a chat bubble and free of loops; low means rambling
or stuck repeating a phrase. An empty reply scores 0: saying nothing is not concise, it is
missing. Pure Python, no model: cheap enough for every GRPO sample.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Literal

from training.rewards.base import RewardFunc
from training.rewards.linguistic._inputs import replies

_WORD = re.compile(r"[\w$€£¥%.,'-]+")  # amounts like $1,300.00 count as one word


def words(text: str) -> list[str]:
    """Whitespace-ish word split that keeps amounts whole."""
    return _WORD.findall(text)


def repeated_ngram_share(text: str, n: int) -> float:
    """Share of the reply's n-grams that already occurred earlier in it (0 = no repeats)."""
    # Case and edge punctuation are ignored; amounts ($1,300.00) stay one token.
    tokens = [t for t in (w.lower().strip(".,'-") for w in words(text)) if t]
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    if not grams:
        return 0.0
    return 1.0 - len(set(grams)) / len(grams)


def length_factor(length: int, budget: int) -> float:
    """1 within the budget, then budget / length."""
    return 1.0 if length <= budget else budget / length


@lru_cache(maxsize=2)
def _token_counter(tokenizer_path: str) -> Callable[[str], int]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def concision_score(
    text: str,
    *,
    budget: int = 60,
    ngram_sizes: Sequence[int] = (2, 3),
    count: Callable[[str], int] | None = None,
) -> float:
    """Concision of one reply in [0, 1] (see the module docstring)."""
    text = text.strip()
    if not text:
        return 0.0
    length = count(text) if count is not None else len(words(text))
    repetition = sum(repeated_ngram_share(text, n) for n in ngram_sizes) / len(ngram_sizes)
    return length_factor(length, budget) * (1.0 - repetition)


def get_concision_reward(
    *,
    budget: int = 60,
    unit: Literal["words", "tokens"] = "words",
    tokenizer_path: str | None = None,
    ngram_sizes: Sequence[int] = (2, 3),
) -> RewardFunc:
    """A concision reward in [0, 1]: length budget times an n-gram repetition penalty.

    Args:
        budget: the longest reply (in `unit`) that is not penalised; 60 words is about
            three chat sentences, a bit above the longest reference reply we write.
        unit: "words" (default, no model needed) or "tokens" of `tokenizer_path`.
        tokenizer_path: HF tokenizer folder for unit="tokens"; None uses the bundled
            SmolLM2 tokenizer.
        ngram_sizes: n-gram sizes whose repeats are penalised (averaged).

    Returns:
        `concision_reward(prompts, completions, **columns) -> list[float]`.

    Example:
        >>> reward = get_concision_reward(budget=10)
        >>> [round(x, 2) for x in reward(None, ["Yes, it fits your credit.", "Yes you can. " * 4])]
        [1.0, 0.24]
    """
    if budget < 1:
        raise ValueError(f"budget must be at least 1, got {budget}")
    if not ngram_sizes or min(ngram_sizes) < 1:
        raise ValueError(f"ngram_sizes must be positive sizes, got {ngram_sizes}")
    if unit not in ("words", "tokens"):
        raise ValueError(f"unit must be 'words' or 'tokens', got {unit!r}")
    sizes = tuple(ngram_sizes)

    def concision_reward(
        prompts: Sequence[Any] | None, completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        count: Callable[[str], int] | None = None
        if unit == "tokens":
            from app.engine.bundled import resolve_model_path

            count = _token_counter(str(resolve_model_path(tokenizer_path)))
        return [
            concision_score(t, budget=budget, ngram_sizes=sizes, count=count)
            for t in replies(completions)
        ]

    return concision_reward


# The default instance: 60-word budget, 2- and 3-gram repetition.
concision_reward: RewardFunc = get_concision_reward()
