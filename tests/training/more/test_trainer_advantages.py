"""How `MoreTrainer.more_advantages` wires normalisation, λ and w in each mode (no model)."""

from __future__ import annotations

import pytest
import torch

from training.more.config import MoreConfig
from training.more.multipliers import ConstraintMultiplier, Multipliers
from training.more.trainer import MoreTrainer
from training.more.weighting import AdaptiveWeights


def _trainer(mode: str, lam: float) -> MoreTrainer:
    # The advantage logic needs no model: build the object around its MORE state only.
    trainer = MoreTrainer.__new__(MoreTrainer)
    trainer.more_args = MoreConfig(
        output_dir="/tmp/more-test-adv",
        use_cpu=True,
        report_to=[],
        mode=mode,
        constraint_rewards=["decision_reward"],
        linguistic_rewards=["fluency_reward"],
    )
    trainer.n_constraints = 1
    trainer.multipliers = Multipliers([ConstraintMultiplier("decision_reward", init=lam)])
    trainer.weights = AdaptiveWeights(["fluency_reward"], floor=0.0)
    return trainer


# one group of 2: sample 0 is fluent but wrong, sample 1 is correct but clumsy
REWARDS = torch.tensor([[0.0, 0.9], [1.0, 0.1]])


def test_more_advantages_follow_the_multiplier() -> None:
    low = _trainer("more", lam=0.01).more_advantages(REWARDS, group_size=2)
    high = _trainer("more", lam=9.0).more_advantages(REWARDS, group_size=2)
    assert low[0] > 0 > low[1]  # λ≈0: fluency decides
    assert high[1] > 0 > high[0]  # large λ: the violated constraint decides
    assert high.abs().max() <= 1.0 + 1e-4  # scaled by 1/(1+Σλ)


def test_no_constraints_mode_uses_fixed_unscaled_coefficients() -> None:
    adv = _trainer("no_constraints", lam=9.0).more_advantages(REWARDS, group_size=2)
    # z-scores of a group of two are ±0.707: fluency and decision cancel at coefficient 1
    assert adv.tolist() == pytest.approx([0.0, 0.0], abs=1e-3)
