"""Adaptive linguistic reward weights on the simplex, from gradient feedback (DESIGN §4).

Every M steps the trainer hands over one flattened policy gradient per linguistic reward
(the surrogate with that reward's advantages alone, over the LoRA parameters). Two rules:

* ``alignment`` (default): cosine Gram matrix C of the gradients; reward j scores
  s_j = Σ_{i≠j} C_ij (how much its gradient agrees with the others'); then
  w <- softmax(log w + η s). A reward whose gradient conflicts with the rest loses weight,
  so the combined update stops fighting itself.
* ``gradnorm``: GradNorm-style equalisation: move w so every reward's weighted gradient
  norm w_j ||g_j|| approaches the geometric mean of them; η = 1 equalises in one update.
* ``fixed``: w never moves (the "no adaptive weights" ablation).

After each update w is projected onto {w : Σw = 1, w_j >= w_min} so no reward is ever
switched off entirely.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import torch

WeightingRule = Literal["alignment", "gradnorm", "fixed"]
_EPS = 1e-12


def cosine_gram(grads: torch.Tensor) -> torch.Tensor:
    """(J, P) gradients -> (J, J) cosine similarities; a zero gradient is orthogonal to all."""
    grads = grads.double()
    norms = grads.norm(dim=1, keepdim=True).clamp(min=_EPS)
    unit = grads / norms
    return unit @ unit.T


def alignment_scores(grads: torch.Tensor) -> torch.Tensor:
    """Row sums of the cosine Gram matrix without the diagonal (a constant under softmax)."""
    gram = cosine_gram(grads)
    return gram.sum(dim=1) - gram.diagonal()


def gradnorm_scores(grads: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """How far each weighted gradient norm sits below the geometric mean, in log units."""
    log_weighted = torch.log(weights.double().clamp(min=_EPS)) + torch.log(
        grads.double().norm(dim=1).clamp(min=_EPS)
    )
    return log_weighted.mean() - log_weighted


def project_with_floor(weights: torch.Tensor, floor: float) -> torch.Tensor:
    """Closest-in-shape point of the simplex with every entry >= floor.

    Entries that fall below the floor are pinned to it and the rest rescaled to share the
    remaining mass; repeated until stable (at most J rounds).
    """
    n = weights.numel()
    if floor * n > 1.0 + 1e-9:
        raise ValueError(f"floor {floor} is infeasible for {n} weights (needs floor * n <= 1)")
    w = weights.double().clamp(min=0.0)
    w = w / w.sum().clamp(min=_EPS) if w.sum() > 0 else torch.full_like(w, 1.0 / n)
    pinned = torch.zeros(n, dtype=torch.bool)
    for _ in range(n):
        free_mass = 1.0 - floor * pinned.sum().item()
        free = ~pinned
        total = w[free].sum().clamp(min=_EPS)
        out = torch.where(pinned, torch.full_like(w, floor), w * free_mass / total)
        newly = free & (out < floor)
        if not newly.any():
            return out
        pinned |= newly
    return torch.where(pinned, torch.full_like(w, floor), out)


class AdaptiveWeights:
    """The linguistic weights w and their update rule.

    Args:
        names: linguistic reward names, in the column order used by the trainer.
        rule: ``alignment``, ``gradnorm`` or ``fixed``.
        lr: η_w, the step on log w per unit of score.
        floor: w_min.
        init: starting weights (uniform when omitted); projected onto the floored simplex.
    """

    def __init__(
        self,
        names: Sequence[str],
        rule: WeightingRule = "alignment",
        lr: float = 0.5,
        floor: float = 0.05,
        init: Sequence[float] | None = None,
    ) -> None:
        if not names:
            raise ValueError("AdaptiveWeights needs at least one reward name")
        if rule not in ("alignment", "gradnorm", "fixed"):
            raise ValueError(f"unknown weighting rule {rule!r}: use alignment, gradnorm or fixed")
        self.names = list(names)
        self.rule = rule
        self.lr = lr
        self.floor = floor
        start = torch.tensor(init, dtype=torch.float64) if init is not None else None
        if start is not None and start.numel() != len(self.names):
            raise ValueError(f"{start.numel()} initial weights for {len(self.names)} rewards")
        if start is None:
            start = torch.full((len(self.names),), 1.0 / len(self.names), dtype=torch.float64)
        self._w = project_with_floor(start, floor)
        self.last_scores = torch.zeros(len(self.names), dtype=torch.float64)

    @property
    def weights(self) -> torch.Tensor:
        """(J,) float64 weights summing to 1."""
        return self._w.clone()

    def update(self, grads: torch.Tensor) -> torch.Tensor:
        """One update from (J, P) per-reward gradients; returns the new weights."""
        if grads.dim() != 2 or grads.shape[0] != len(self.names):
            raise ValueError(
                f"expected ({len(self.names)}, P) gradients, got shape {tuple(grads.shape)}"
            )
        if self.rule == "fixed":
            return self.weights
        if self.rule == "alignment":
            scores = alignment_scores(grads)
        else:
            scores = gradnorm_scores(grads, self._w)
        self.last_scores = scores
        logits = torch.log(self._w.clamp(min=_EPS)) + self.lr * scores
        self._w = project_with_floor(torch.softmax(logits, dim=0), self.floor)
        return self.weights

    def metrics(self) -> dict[str, float]:
        """`weights/<name>` for logging."""
        return {f"weights/{n}": float(v) for n, v in zip(self.names, self._w, strict=True)}

    def state_dict(self) -> dict[str, list[float]]:
        return {"weights": self._w.tolist()}

    def load_state_dict(self, state: Mapping[str, Sequence[float]]) -> None:
        self._w = torch.tensor(list(state["weights"]), dtype=torch.float64)
