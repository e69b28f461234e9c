"""`MoreConfig`: TRL's `GRPOConfig` plus the MORE knobs (DESIGN §4, docs/training.md).

Every field carries `help` metadata, so `HfArgumentParser(MoreConfig)` is also a CLI and a
YAML run file (`training/configs/*.yaml`) maps onto it key by key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from trl import GRPOConfig

Mode = Literal["more", "mixed", "no_adaptive", "no_constraints"]
MODES: tuple[str, ...] = ("more", "mixed", "no_adaptive", "no_constraints")
WEIGHTINGS: tuple[str, ...] = ("alignment", "gradnorm", "fixed")

DEFAULT_CONSTRAINTS = ["decision_reward", "numeric_reward", "state_reward", "handoff_reward"]
DEFAULT_LINGUISTIC = ["fluency_reward", "naturalness_reward", "concision_reward"]


@dataclass
class MoreConfig(GRPOConfig):
    r"""Configuration of a MORE run (stage 2). Inherits every `GRPOConfig` field.

    > Objective

    Parameters:
        mode (`str`, defaults to `"more"`):
            `more`: reasoning functions are constraints with Lagrange multipliers, linguistic
            weights adapt. `mixed`: every function is one plain reward summed with the fixed
            `reward_weights` (TRL's own GRPO, the unstable baseline). `no_adaptive`: MORE with
            the linguistic weights frozen. `no_constraints`: reasoning functions are plain
            reward terms with coefficient `reasoning_coef`, weights still adapt.
        constraint_rewards (`list[str]`):
            Names of the reasoning functions used as constraints (registry names or dotted paths).
        linguistic_rewards (`list[str]`):
            Names of the linguistic rewards combined with adaptive weights.

    > Constraints (Lagrange multipliers)

    Parameters:
        constraint_target (`float`, defaults to `0.95`): τ for every constraint.
        constraint_targets (`list[float]` or `None`): per-constraint τ overriding the above.
        lambda_init (`float`, defaults to `1.0`): λ before any dual step.
        lambda_lr (`float`, defaults to `0.5`): dual step size on log λ.
        lambda_max (`float`, defaults to `10.0`): upper clip of λ.
        lambda_min (`float`, defaults to `1e-3`): lower clip (log space cannot reach 0).
        lambda_warmup_steps (`int`, defaults to `2`): steps before λ moves.
        lambda_window (`int`, defaults to `8`): steps in the sliding constraint estimate.
        reasoning_coef (`float`, defaults to `1.0`): fixed coefficient of each reasoning term
            in `no_constraints` mode.
        restandardise (`bool`, defaults to `True`): divide the combined per-sample signal by
            its batch standard deviation, so a large Σλ does not shrink the step.

    > Adaptive linguistic weights

    Parameters:
        weighting (`str`, defaults to `"alignment"`): `alignment`, `gradnorm` or `fixed`.
        weight_update_interval (`int`, defaults to `4`): M, steps between weight updates.
        weight_lr (`float`, defaults to `0.5`): η_w.
        weight_floor (`float`, defaults to `0.05`): w_min.
        initial_weights (`list[float]` or `None`): starting w (uniform when `None`).

    > Reference

    Parameters:
        scaffold_path (`str` or `None`): stage-1 adapter; the policy starts from it and a
            frozen copy is the KL reference, scoring the direct reply conditioned on the gold
            reasoning. `None`: a fresh LoRA with the base model as reference.
        reference_conditioning (`bool`, defaults to `True`): condition the reference on the
            gold reasoning (off: TRL's plain reference on the prompt alone).
        score_served_reply (`bool`, defaults to `True`): rewards see the completion as serving
            shows it (`strip_reasoning`): emitting reasoning only spends the token budget.
    """

    mode: str = field(
        default="more",
        metadata={"help": "more | mixed | no_adaptive | no_constraints (see docs/training.md)."},
    )
    constraint_rewards: list[str] = field(
        default_factory=lambda: list(DEFAULT_CONSTRAINTS),
        metadata={
            "help": "Reasoning functions used as constraints (registry names or dotted paths)."
        },
    )
    linguistic_rewards: list[str] = field(
        default_factory=lambda: list(DEFAULT_LINGUISTIC),
        metadata={"help": "Linguistic rewards combined with adaptive weights."},
    )
    constraint_target: float = field(
        default=0.95, metadata={"help": "τ: required mean satisfaction of every constraint."}
    )
    constraint_targets: list[float] | None = field(
        default=None, metadata={"help": "Per-constraint τ, in `constraint_rewards` order."}
    )
    lambda_init: float = field(default=1.0, metadata={"help": "λ before any dual step."})
    lambda_lr: float = field(default=0.5, metadata={"help": "Dual step size on log λ."})
    lambda_max: float = field(default=10.0, metadata={"help": "Upper clip of λ."})
    lambda_min: float = field(default=1e-3, metadata={"help": "Lower clip of λ (> 0)."})
    lambda_warmup_steps: int = field(default=2, metadata={"help": "Steps before λ moves."})
    lambda_window: int = field(
        default=8, metadata={"help": "Steps in the sliding-window constraint estimate."}
    )
    reasoning_coef: float = field(
        default=1.0,
        metadata={"help": "Fixed coefficient of each reasoning term in no_constraints mode."},
    )
    restandardise: bool = field(
        default=True,
        metadata={"help": "Unit-spread combined signal per batch (see docs/training.md)."},
    )
    weighting: str = field(
        default="alignment",
        metadata={"help": "Linguistic weighting rule: alignment | gradnorm | fixed."},
    )
    weight_update_interval: int = field(
        default=4, metadata={"help": "M: optimiser steps between linguistic-weight updates."}
    )
    weight_lr: float = field(default=0.5, metadata={"help": "η_w: step on log w per unit score."})
    weight_floor: float = field(default=0.05, metadata={"help": "w_min: floor of every weight."})
    initial_weights: list[float] | None = field(
        default=None, metadata={"help": "Starting linguistic weights (uniform when unset)."}
    )
    scaffold_path: str | None = field(
        default=None,
        metadata={"help": "Stage-1 scaffold adapter: policy init and KL reference (see docs)."},
    )
    reference_conditioning: bool = field(
        default=True,
        metadata={"help": "Score the reply under the reference conditioned on the gold reasoning."},
    )
    score_served_reply: bool = field(
        default=True,
        metadata={"help": "Score completions as served: any reasoning block stripped first."},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode not in MODES:
            raise ValueError(f"mode={self.mode!r} is unknown: use one of {', '.join(MODES)}")
        if self.weighting not in WEIGHTINGS:
            raise ValueError(
                f"weighting={self.weighting!r} is unknown: use one of {', '.join(WEIGHTINGS)}"
            )
        if not self.constraint_rewards and not self.linguistic_rewards:
            raise ValueError("set at least one of constraint_rewards or linguistic_rewards")
        overlap = set(self.constraint_rewards) & set(self.linguistic_rewards)
        if overlap:
            raise ValueError(
                f"{sorted(overlap)} listed both as constraint and linguistic reward: "
                "keep each in one list"
            )
        if self.constraint_targets is not None and len(self.constraint_targets) != len(
            self.constraint_rewards
        ):
            raise ValueError(
                f"constraint_targets has {len(self.constraint_targets)} values for "
                f"{len(self.constraint_rewards)} constraint_rewards: give one τ per constraint"
            )
        for tau in self.targets:
            if not 0.0 <= tau <= 1.0:
                raise ValueError(
                    f"constraint target {tau} is outside [0, 1]: reasoning scores are in [0, 1]"
                )
        if not 0.0 < self.lambda_min <= self.lambda_init <= self.lambda_max:
            raise ValueError(
                "need 0 < lambda_min <= lambda_init <= lambda_max, got "
                f"{self.lambda_min}, {self.lambda_init}, {self.lambda_max}: "
                "raise lambda_max or lower lambda_init"
            )
        if self.lambda_lr < 0 or self.weight_lr < 0:
            raise ValueError("lambda_lr and weight_lr must be >= 0 (0 freezes the quantity)")
        if (
            self.lambda_window < 1
            or self.weight_update_interval < 1
            or self.lambda_warmup_steps < 0
        ):
            raise ValueError(
                "lambda_window and weight_update_interval must be >= 1 and lambda_warmup_steps >= 0"
            )
        n_ling = len(self.linguistic_rewards)
        if n_ling and self.weight_floor * n_ling > 1.0:
            raise ValueError(
                f"weight_floor={self.weight_floor} times {n_ling} linguistic rewards exceeds 1: "
                f"lower weight_floor below {1.0 / n_ling:.3f}"
            )
        if self.initial_weights is not None and len(self.initial_weights) != n_ling:
            raise ValueError(
                f"initial_weights has {len(self.initial_weights)} values for "
                f"{n_ling} linguistic rewards"
            )
        n_rewards = len(self.reward_names)
        if self.reward_weights is not None and len(self.reward_weights) != n_rewards:
            raise ValueError(
                f"reward_weights has {len(self.reward_weights)} values for {n_rewards} "
                "rewards (constraint_rewards then linguistic_rewards)"
            )

    @property
    def targets(self) -> list[float]:
        """τ per constraint, in `constraint_rewards` order."""
        if self.constraint_targets is not None:
            return list(self.constraint_targets)
        return [self.constraint_target] * len(self.constraint_rewards)

    @property
    def reward_names(self) -> list[str]:
        """All reward functions in the order the trainer receives them."""
        return [*self.constraint_rewards, *self.linguistic_rewards]

    @property
    def adaptive(self) -> bool:
        """Whether the linguistic weights move in this run."""
        return self.mode in ("more", "no_constraints") and self.weighting != "fixed"
