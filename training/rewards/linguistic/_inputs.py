"""Turn a TRL reward call's arguments into reply texts, prompts and reference replies.

TRL hands every dataset column to a reward as a keyword. Our task datasets carry the
serialised `TaskExample` in `example`; other datasets may carry plain `prompts` (strings or
conversations) and a `references` column. These helpers accept either, so a linguistic
reward works on any dataset that has what it needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.domain.prompt import ChatMessage
from training.rewards.base import as_example, completion_text


def replies(completions: Sequence[Any]) -> list[str]:
    """The reply texts, stripped (plain or conversational completions)."""
    return [completion_text(c).strip() for c in completions]


def prompt_conversations(
    prompts: Sequence[Any] | None, n: int, kwargs: dict[str, Any]
) -> list[list[ChatMessage] | str | None]:
    """Per completion: the prompt as chat messages (preferred), a raw string, or None.

    The serving prompt rebuilt from the `example` column wins over TRL's `prompts`, because
    it is exactly what the policy saw; conversational `prompts` come next, then strings.
    """
    examples = kwargs.get("example")
    if examples is not None:
        return [as_example(ex).messages() for ex in examples]
    if prompts is None:
        return [None] * n
    out: list[list[ChatMessage] | str | None] = []
    for prompt in prompts:
        if isinstance(prompt, str) or prompt is None:
            out.append(prompt)
        else:
            out.append([{"role": m["role"], "content": m["content"]} for m in prompt])
    return out


def reference_lists(n: int, kwargs: dict[str, Any]) -> list[list[str]]:
    """Per completion: the turn's reference replies (`example` column, else `references`)."""
    examples = kwargs.get("example")
    if examples is not None:
        return [list(as_example(ex).references) for ex in examples]
    references = kwargs.get("references")
    if references is None:
        raise KeyError("naturalness needs an `example` or a `references` column")
    out = [[r] if isinstance(r, str) else list(r) for r in references]
    if len(out) != n:
        raise ValueError(f"{len(out)} reference lists for {n} completions")
    return out
