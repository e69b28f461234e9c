"""Task examples -> the rows both stages train on.

* SFT (stage 1, and the SFT-only baseline): prompt-completion rows, **balanced over
  (action, reason) cells**, first turns apart from follow-ups (`cell`): approvals of each
  kind, declines for each reason, each ask-for-information, each handoff cause, each
  informational answer. Without the balance the frequent openings win and a small policy
  learns "Sorry, not this time". A share `verdict_share` of prompts carries the rules'
  verdict line, as serving does when it recognises the shopper's intent; the rest go
  without, as when it abstains.
* The scaffold adds, for a share `reasoned_share` of examples, a second row whose prompt
  carries `REASONING_MARKER` and whose target is the short reasoning trace, then the reply
  (`render_reasoned_reply`). Serving never sends the marker, so the served prompt never
  elicits `<reasoning>`.
* GRPO (stage 2): one row per example with `prompt` (the served prompt, verdict line in
  the same share), `example` (the serialised TaskExample the rewards read), `intent`,
  `action`.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.domain.prompt import render_reasoned_reply
from app.domain.rules import HANDOFF_INTENTS, Action
from training.data.schema import TaskExample


def load_examples(path: str | Path, limit: int | None = None) -> list[TaskExample]:
    """TaskExample JSONL -> records (the first `limit` when given), via the data module."""
    from training.data.ecommerce.io import load_split

    examples = load_split(path)
    return examples[:limit] if limit is not None else examples


def cell(example: TaskExample) -> str:
    """The (action, reason) cell an example teaches, and whether it is a first turn or a
    follow-up, e.g. `decline:unverified:first`.

    First turns and follow-ups are balanced apart: "Where is my order?" with the order in
    view (inform) and without it (ask for the number) are the same words, and when
    follow-ups ("Sure, ord-72763.") filled the inform cell the policy asked for an order
    number it could see.
    """
    decision = example.decision
    turn = "follow" if example.history else "first"
    if decision.action is Action.DECLINE:
        return f"decline:{decision.reason.value if decision.reason else 'none'}:{turn}"
    if decision.action is Action.APPROVE and "term" in example.tags and example.history:
        return "approve:term:follow"  # a term asked for by name, offered or not
    if decision.action is Action.HANDOFF and example.intent not in HANDOFF_INTENTS:
        return f"handoff:fraud_review:{turn}"  # a credit question on an account under review
    return f"{decision.action.value}:{example.intent.value}:{turn}"


def balanced(
    examples: Sequence[TaskExample], per_cell: int | None, seed: int = 0
) -> list[TaskExample]:
    """At most `per_cell` examples of every cell (all of a rarer cell), shuffled."""
    rng = random.Random(seed)
    by_cell: dict[str, list[TaskExample]] = defaultdict(list)
    for ex in examples:
        by_cell[cell(ex)].append(ex)
    chosen: list[TaskExample] = []
    for name in sorted(by_cell):
        group = list(by_cell[name])
        rng.shuffle(group)
        chosen += group if per_cell is None else group[:per_cell]
    rng.shuffle(chosen)
    return chosen


def sft_rows(
    examples: Sequence[TaskExample],
    *,
    verdict_share: float = 0.75,
    reasoned_share: float = 0.0,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Prompt-completion rows: one direct row per example, plus reasoned scaffold rows.

    Deterministic per seed. Each row also records `kind` (direct | reasoned), `cell` and
    `verdict` for inspection; `sft_dataset` drops them before training.
    """
    for name, share in (("verdict_share", verdict_share), ("reasoned_share", reasoned_share)):
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"{name}={share} must be in [0, 1]")
    rng = random.Random(seed)
    rows = []
    for ex in examples:
        reply = rng.choice(ex.references)
        verdict = rng.random() < verdict_share
        rows.append(
            {
                "prompt": ex.messages(verdict=verdict),
                "completion": [{"role": "assistant", "content": reply}],
                "kind": "direct",
                "cell": cell(ex),
                "verdict": verdict,
            }
        )
        if rng.random() < reasoned_share:
            target = render_reasoned_reply(ex.reasoning, rng.choice(ex.references))
            rows.append(
                {
                    "prompt": ex.messages(reasoning=True),
                    "completion": [{"role": "assistant", "content": target}],
                    "kind": "reasoned",
                    "cell": cell(ex),
                    "verdict": False,
                }
            )
    return rows


def sft_dataset(
    examples: Sequence[TaskExample],
    *,
    verdict_share: float = 0.75,
    reasoned_share: float = 0.0,
    seed: int = 0,
) -> Any:
    from datasets import Dataset

    rows = sft_rows(examples, verdict_share=verdict_share, reasoned_share=reasoned_share, seed=seed)
    # The inspection columns would reach SFTTrainer's collator, which takes tensors only.
    return Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])


def grpo_dataset(
    examples: Sequence[TaskExample], *, verdict_share: float = 0.75, seed: int = 0
) -> Any:
    """A `datasets.Dataset` with columns prompt, example, intent, action."""
    from datasets import Dataset

    rng = random.Random(seed)
    return Dataset.from_dict(
        {
            "prompt": [
                [dict(m) for m in ex.messages(verdict=rng.random() < verdict_share)]
                for ex in examples
            ],
            "example": [ex.model_dump_json() for ex in examples],
            "intent": [ex.intent.value for ex in examples],
            "action": [ex.decision.action.value for ex in examples],
        }
    )
