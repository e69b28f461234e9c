"""Signs and scaling of the combined MORE advantage."""

from __future__ import annotations

import pytest
import torch

from training.more.combine import combine_advantages


def test_combine_signs_follow_rewards_and_constraints() -> None:
    ling = torch.tensor([[1.0], [-1.0], [0.0], [0.0]])  # one linguistic reward
    cons = torch.tensor([[0.0], [0.0], [1.0], [-1.0]])  # one constraint
    adv = combine_advantages(ling, torch.tensor([1.0]), cons, torch.tensor([2.0]))
    assert adv[0] > 0 > adv[1]  # better reply -> positive advantage
    assert adv[2] > 0 > adv[3]  # satisfied constraint -> positive advantage
    assert adv.tolist() == pytest.approx([1 / 3, -1 / 3, 2 / 3, -2 / 3])


def test_combine_zero_multiplier_ignores_constraint() -> None:
    ling = torch.tensor([[0.5], [-0.5]])
    cons = torch.tensor([[-3.0], [3.0]])
    adv = combine_advantages(ling, torch.tensor([1.0]), cons, torch.tensor([0.0]))
    assert adv.tolist() == pytest.approx([0.5, -0.5])


def test_combine_large_multiplier_lets_constraint_dominate_with_bounded_scale() -> None:
    ling = torch.tensor([[1.0], [-1.0]])
    cons = torch.tensor([[-1.0], [1.0]])
    adv = combine_advantages(ling, torch.tensor([1.0]), cons, torch.tensor([100.0]))
    assert adv[1] > 0 > adv[0]
    assert adv.abs().max() <= 1.0


def test_combine_unscaled_is_a_plain_weighted_sum() -> None:
    ling = torch.tensor([[1.0, 0.0]])
    cons = torch.tensor([[1.0, 1.0]])
    adv = combine_advantages(
        ling, torch.tensor([0.5, 0.5]), cons, torch.tensor([1.0, 1.0]), scale_by_multipliers=False
    )
    assert adv.tolist() == pytest.approx([2.5])
