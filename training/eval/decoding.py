"""Greedy batched decoding with transformers: the one loop evaluation and the MultiWOZ
baseline share (vLLM decodes for the service and the benchmarks)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any


def greedy_decode(
    model: Any, tokenizer: Any, texts: Sequence[str], *, max_new_tokens: int
) -> tuple[list[list[int]], float]:
    """Greedy continuations of chat-formatted prompts, as one left-padded batch.

    Returns the new token ids per prompt, each cut just after its first end-of-turn token
    (kept, so a row without it was cut at `max_new_tokens`), and the generation's wall time
    in seconds. The model is put in eval mode for the call and restored after.
    """
    import torch

    side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # generation appends on the right: pad on the left
    try:
        enc = tokenizer(list(texts), add_special_tokens=False, padding=True, return_tensors="pt")
    finally:
        tokenizer.padding_side = side
    eos = tokenizer.eos_token_id
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    was_training = model.training
    model.eval()
    start = time.perf_counter()
    try:
        with torch.inference_mode():
            out = model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=pad_id,
                eos_token_id=eos,
            )
    finally:
        if was_training:
            model.train()
    elapsed = time.perf_counter() - start
    rows = []
    for row in out[:, enc["input_ids"].shape[1] :].tolist():  # (B, new tokens)
        rows.append(row[: row.index(eos) + 1] if eos in row else row)
    return rows, elapsed
