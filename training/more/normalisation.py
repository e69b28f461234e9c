"""Per-reward group normalisation: each reward column is standardised within its group.

GRPO samples G completions per prompt and rows are laid out group by group
(prompt 0's G completions, then prompt 1's, ...). Each reward and each constraint score is
normalised on its own, before combining, so a reward with a large spread cannot drown the
others. NaN means "not applicable" (a reward returned None): such entries are left out of
their group's mean and std and get a normalised value of 0 (no signal).
"""

from __future__ import annotations

import torch


def group_normalise(values: torch.Tensor, group_size: int, eps: float = 1e-4) -> torch.Tensor:
    """(B, K) raw scores -> (B, K) group z-scores; NaN-aware, NaN -> 0.

    Args:
        values: one row per completion, one column per reward/constraint; B % group_size == 0.
        group_size: G, completions per prompt.
        eps: added to the std so a group whose samples all score the same gets zeros.
    """
    if values.dim() != 2:
        raise ValueError(f"expected a (B, K) tensor, got shape {tuple(values.shape)}")
    batch, k = values.shape
    if group_size < 1 or batch % group_size:
        raise ValueError(f"batch of {batch} rows is not a whole number of groups of {group_size}")
    grouped = values.float().view(-1, group_size, k)  # (P, G, K)
    valid = ~torch.isnan(grouped)
    count = valid.sum(dim=1, keepdim=True)  # (P, 1, K)
    filled = torch.where(valid, grouped, torch.zeros_like(grouped))
    mean = filled.sum(dim=1, keepdim=True) / count.clamp(min=1)
    sq = torch.where(valid, (grouped - mean) ** 2, torch.zeros_like(grouped))
    # Unbiased std like TRL's nanstd; a lone valid sample has no spread, hence no signal.
    std = (sq.sum(dim=1, keepdim=True) / (count - 1).clamp(min=1)).sqrt()
    z = (grouped - mean) / (std + eps)
    z = torch.where(valid, z, torch.zeros_like(z))
    return z.view(batch, k)


def nan_mean(values: torch.Tensor) -> torch.Tensor:
    """Column means ignoring NaN (NaN for an all-NaN column)."""
    return torch.nanmean(values.float(), dim=0)
