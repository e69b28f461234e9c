"""MultiWOZ turns -> the `datasets.Dataset`s the MORE trainer consumes.

* GRPO rows: `prompt` (chat messages from `prompt.build_messages`), `example` (the
  serialised `MultiWozTurn` the reasoning functions read), `references` (gold reply).
* SFT rows: `prompt` and `completion` (the gold reply, plain text).

Splits: the ConvLab-2 copy has no train split, so training uses the 2.1 validation
split (`--split dev`) and evaluation the 2.1 test split; with the official 2.2 release
(or ConvLab-2's train zip) `--split train` is used unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from training.data.multiwoz.turn import MultiWozTurn
from training.multiwoz.prompt import build_messages


def grpo_rows(turns: Sequence[MultiWozTurn]) -> list[dict[str, Any]]:
    return [
        {
            "prompt": build_messages(t),
            "example": t.model_dump_json(),
            "references": [t.reply],
        }
        for t in turns
    ]


def sft_rows(turns: Sequence[MultiWozTurn]) -> list[dict[str, Any]]:
    return [
        {"prompt": build_messages(t), "completion": [{"role": "assistant", "content": t.reply}]}
        for t in turns
    ]


def build_dataset(turns: Sequence[MultiWozTurn]) -> Any:
    """The GRPO dataset (`prompt`, `example`, `references`)."""
    from datasets import Dataset

    return Dataset.from_list(grpo_rows(turns))


def build_sft_dataset(turns: Sequence[MultiWozTurn]) -> Any:
    """The SFT dataset (`prompt`, `completion`), conversational."""
    from datasets import Dataset

    return Dataset.from_list(sft_rows(turns))
