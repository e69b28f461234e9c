"""Task examples -> the datasets both stages train on.

* GRPO (stage 2): one row per example with `prompt` (chat messages, exactly as serving
  builds them), `example` (the serialised TaskExample the rewards read), `intent`, `action`.
* Scaffold SFT (stage 1): prompt-completion rows; a share `1 - direct_ratio` of them
  completes with the reasoning trace then a reference reply
  (`render_reasoned_reply`), the rest with the reference reply alone, so one model learns
  both to reason and to answer directly.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.domain.prompt import render_reasoned_reply
from training.data.schema import TaskExample


def load_examples(path: str | Path, limit: int | None = None) -> list[TaskExample]:
    """TaskExample JSONL -> records (the first `limit` when given), via the data module."""
    from training.data.ecommerce.io import load_split

    examples = load_split(path)
    return examples[:limit] if limit is not None else examples


def grpo_dataset(examples: Sequence[TaskExample]) -> Any:
    """A `datasets.Dataset` with columns prompt, example, intent, action (the data module's)."""
    from training.data.ecommerce.io import to_dataset

    return to_dataset(examples)


def scaffold_rows(
    examples: Sequence[TaskExample], direct_ratio: float = 0.5, seed: int = 0
) -> list[dict[str, Any]]:
    """Prompt-completion rows mixing reasoned and direct targets (deterministic per seed)."""
    if not 0.0 <= direct_ratio <= 1.0:
        raise ValueError(f"direct_ratio={direct_ratio} must be in [0, 1]")
    rng = random.Random(seed)
    rows = []
    for ex in examples:
        reply = rng.choice(ex.references)
        reasoned = rng.random() >= direct_ratio
        content = render_reasoned_reply(ex.reasoning, reply) if reasoned else reply
        rows.append(
            {
                "prompt": ex.messages(),
                "completion": [{"role": "assistant", "content": content}],
                "kind": "reasoned" if reasoned else "direct",
            }
        )
    return rows


def scaffold_dataset(
    examples: Sequence[TaskExample], direct_ratio: float = 0.5, seed: int = 0
) -> Any:
    from datasets import Dataset

    rows = scaffold_rows(examples, direct_ratio, seed)
    # `kind` is for inspection only: SFTTrainer's collator would choke on a string column.
    return Dataset.from_list([{k: v for k, v in r.items() if k != "kind"} for r in rows])
