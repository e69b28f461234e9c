"""Adaptive weights on constructed per-reward gradients."""

from __future__ import annotations

import pytest
import torch

from training.more.weighting import (
    AdaptiveWeights,
    alignment_scores,
    cosine_gram,
    project_with_floor,
)


def _conflicting_grads() -> torch.Tensor:
    # fluency and naturalness point the same way; concision points against both
    return torch.tensor(
        [
            [1.0, 0.2, 0.0],
            [0.9, 0.3, 0.1],
            [-1.0, -0.1, 0.0],
        ]
    )


def test_cosine_gram_is_symmetric_with_unit_diagonal() -> None:
    gram = cosine_gram(_conflicting_grads())
    assert torch.allclose(gram, gram.T)
    assert torch.allclose(gram.diagonal(), torch.ones(3, dtype=gram.dtype))


def test_alignment_rule_conflicting_reward_loses_weight() -> None:
    scores = alignment_scores(_conflicting_grads())
    assert scores[2] < -1.5 < scores[0]
    w = AdaptiveWeights(
        ["fluency", "naturalness", "concision"], rule="alignment", lr=0.5, floor=0.05
    )
    for _ in range(3):
        new = w.update(_conflicting_grads())
    assert new[2].item() < 1 / 3 < new[0].item()
    assert new[0].item() == pytest.approx(new[1].item(), abs=0.05)


def test_alignment_rule_stays_on_simplex_above_floor() -> None:
    w = AdaptiveWeights(["a", "b", "c"], rule="alignment", lr=5.0, floor=0.1)
    for _ in range(50):
        new = w.update(_conflicting_grads())
        assert new.sum().item() == pytest.approx(1.0)
        assert new.min().item() >= 0.1 - 1e-9
    assert new[2].item() == pytest.approx(0.1)  # the conflicting reward sits on the floor


def test_gradnorm_rule_equalises_weighted_gradient_norms() -> None:
    grads = torch.tensor([[4.0, 0.0], [0.0, 1.0]])
    w = AdaptiveWeights(["big", "small"], rule="gradnorm", lr=1.0, floor=0.01)
    new = w.update(grads)
    weighted = new * grads.norm(dim=1).double()
    assert weighted[0].item() == pytest.approx(weighted[1].item(), rel=1e-6)
    assert new[0] < new[1]


def test_fixed_rule_never_moves() -> None:
    w = AdaptiveWeights(["a", "b"], rule="fixed", init=[0.7, 0.3], floor=0.0)
    assert w.update(torch.tensor([[1.0], [-1.0]])).tolist() == pytest.approx([0.7, 0.3])
    assert w.metrics() == {"weights/a": pytest.approx(0.7), "weights/b": pytest.approx(0.3)}


def test_project_with_floor_pins_small_entries() -> None:
    out = project_with_floor(torch.tensor([0.98, 0.01, 0.01]), floor=0.1)
    assert out.tolist() == pytest.approx([0.8, 0.1, 0.1])
    with pytest.raises(ValueError, match="infeasible"):
        project_with_floor(torch.ones(3), floor=0.5)


def test_weights_reject_wrong_gradient_shape() -> None:
    w = AdaptiveWeights(["a", "b"])
    with pytest.raises(ValueError, match=r"\(2, P\)"):
        w.update(torch.zeros(3, 4))
