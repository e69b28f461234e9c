"""The one signature every reward and reasoning function shares, TRL-style.

A reward is a plain callable `fn(prompts, completions, **columns) -> list[float | None]`
that TRL's `GRPOTrainer` can call directly: `completions` are strings or conversational
completions (`[{"role": "assistant", "content": ...}]`), and every dataset column comes
in as a keyword (a list with one entry per completion). Our task datasets carry the
serialised `TaskExample` in the `example` column. `None` means "not applicable".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from cachetools import LRUCache

from app.domain.checks import Score
from training.data.schema import TaskExample


class RewardFunc(Protocol):
    __name__: str

    def __call__(
        self, prompts: Sequence[Any] | None, completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]: ...


def completion_text(completion: Any) -> str:
    """The reply text of a plain or conversational completion."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    raise TypeError(f"unsupported completion type {type(completion).__name__}")


# GRPO scores G completions of one prompt: each JSON is parsed once, the latest kept.
_EXAMPLE_CACHE: LRUCache[str, TaskExample] = LRUCache(maxsize=4096)


def as_example(value: TaskExample | str | dict[str, Any]) -> TaskExample:
    """Accept a TaskExample, its JSON or its dict (how datasets hand columns over)."""
    if isinstance(value, TaskExample):
        return value
    if isinstance(value, dict):
        return TaskExample.model_validate(value)
    cached = _EXAMPLE_CACHE.get(value)
    if cached is None:
        cached = _EXAMPLE_CACHE[value] = TaskExample.model_validate_json(value)
    return cached


def reward_from_scorer(name: str, scorer: Callable[[TaskExample, str], Score]) -> RewardFunc:
    """Lift a per-example scorer into a batched TRL reward named `name`."""

    def reward(
        prompts: Sequence[Any] | None, completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        examples = kwargs["example"]
        return [
            scorer(as_example(ex), completion_text(c)).value
            for ex, c in zip(examples, completions, strict=True)
        ]

    reward.__name__ = name
    reward.__qualname__ = name
    return reward
