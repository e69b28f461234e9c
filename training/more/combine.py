"""The per-sample MORE signal from normalised rewards, weights and multipliers (DESIGN §4).

    r = (Σ_j w_j ĝ_j + Σ_k λ_k f̂_k) / (1 + Σ_k λ_k)

ĝ are group-normalised linguistic rewards, f̂ group-normalised constraint scores. The
1/(1 + Σλ) factor keeps the advantage scale bounded however large the multipliers grow:
with λ = 0 the linguistic rewards steer alone; as a constraint is violated its λ grows and
its term takes over. The result is used directly as the GRPO advantage.
"""

from __future__ import annotations

import torch


def combine_advantages(
    linguistic: torch.Tensor,
    weights: torch.Tensor,
    constraints: torch.Tensor,
    multipliers: torch.Tensor,
    *,
    scale_by_multipliers: bool = True,
) -> torch.Tensor:
    """(B, J) ĝ, (J,) w, (B, K) f̂, (K,) λ -> (B,) advantages.

    Args:
        linguistic: normalised linguistic rewards, one column per reward (J may be 0).
        weights: linguistic weights.
        constraints: normalised constraint scores, one column per reasoning function (K may be 0).
        multipliers: λ_k >= 0 (or fixed coefficients when reasoning is a plain reward term).
        scale_by_multipliers: divide by 1 + Σλ (off for the "no constraints" ablation, where
            the coefficients are fixed reward weights).
    """
    batch = linguistic.shape[0] if linguistic.numel() else constraints.shape[0]
    out = torch.zeros(batch, dtype=torch.float32, device=linguistic.device)
    if linguistic.shape[-1]:
        out = out + linguistic.float() @ weights.to(linguistic.device).float()
    if constraints.shape[-1]:
        lam = multipliers.to(constraints.device).float()
        out = out + constraints.float() @ lam
        if scale_by_multipliers:
            out = out / (1.0 + lam.sum())
    return out
