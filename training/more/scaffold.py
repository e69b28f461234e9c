"""The scaffold as KL reference: score the direct reply conditioned on the gold reasoning.

Stage 1 teaches the model "reason over the profile, then reply"
(`app.domain.prompt.render_reasoned_reply`). In stage 2 the policy replies directly, but
the reference log-probabilities of each reply token y_t are taken under the frozen scaffold
with the gold reasoning inserted at the start of the assistant turn:

    log π_ref(y_t | x, <reasoning>gold</reasoning>, y_<t)

so the KL term pulls the policy towards what the scaffold would say *after* reasoning
correctly, not towards its unconditioned habits. This module builds those reference
inputs from TRL's padded tensors; it needs no model.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from app.domain.prompt import render_reasoned_reply


def reasoning_prefix(reasoning: Sequence[str]) -> str:
    """The assistant-turn text that precedes the reply in a scaffold target."""
    return render_reasoned_reply(reasoning, "")


def build_conditioned_inputs(
    prompt_ids: torch.Tensor,
    prompt_mask: torch.Tensor,
    prefix_ids: Sequence[Sequence[int]],
    completion_ids: torch.Tensor,
    completion_mask: torch.Tensor,
    pad_token_id: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Insert each row's reasoning tokens between its prompt and its completion.

    Args:
        prompt_ids, prompt_mask: (B, P) left-padded prompts, as TRL builds them.
        prefix_ids: B token-id lists (the tokenised `reasoning_prefix`).
        completion_ids, completion_mask: (B, C) right-padded completions.
        pad_token_id: id used for left padding.

    Returns:
        (B, L) input ids and attention mask, left-padded, each row ending with its C
        completion positions, so `logits_to_keep = C` scores exactly the completion tokens.
    """
    if len(prefix_ids) != prompt_ids.shape[0]:
        raise ValueError(f"{len(prefix_ids)} reasoning prefixes for {prompt_ids.shape[0]} rows")
    rows: list[torch.Tensor] = []
    masks: list[torch.Tensor] = []
    for i, prefix in enumerate(prefix_ids):
        prompt = prompt_ids[i][prompt_mask[i].bool()]  # (P_i,) unpadded
        pre = torch.tensor(list(prefix), dtype=prompt_ids.dtype, device=prompt_ids.device)
        rows.append(torch.cat([prompt, pre, completion_ids[i]]))
        head = torch.ones(
            prompt.numel() + pre.numel(), dtype=completion_mask.dtype, device=completion_mask.device
        )
        masks.append(torch.cat([head, completion_mask[i]]))
    width = max(r.numel() for r in rows)
    ids = torch.full(
        (len(rows), width), pad_token_id, dtype=prompt_ids.dtype, device=prompt_ids.device
    )
    mask = torch.zeros(
        (len(rows), width), dtype=completion_mask.dtype, device=completion_mask.device
    )
    for i, (r, m) in enumerate(zip(rows, masks, strict=True)):
        ids[i, width - r.numel() :] = r
        mask[i, width - m.numel() :] = m
    return ids, mask
