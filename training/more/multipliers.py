"""Lagrange multipliers for the reasoning constraints E[f_k] >= tau_k (DESIGN §4).

One multiplier per constraint, updated by dual ascent after every optimisation step:

    log λ_k <- log λ_k + lr * (tau_k - mean of f_k over the last `window` steps)
    λ_k     <- clip(λ_k, λ_min, λ_max)

Why these choices (the known failure modes of Lagrangian RL):

* log space: the step is multiplicative, so λ never goes negative and a multiplier that
  grew large shrinks as fast as it grew; λ_min (tiny, default 1e-3) keeps log λ finite so a
  satisfied constraint's multiplier decays towards zero yet can revive within
  ~ln(λ_max/λ_min) / (lr * gap) steps if the constraint breaks again.
* plain SGD: Adam's normalised steps turn every update into a constant-size move and make
  λ oscillate at the feasibility boundary.
* a sliding window of per-step batch means smooths the noisy constraint estimate.
* a warm-up: λ stays put for the first steps while the policy leaves the scaffold.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass
class ConstraintMultiplier:
    """The multiplier of one constraint E[f] >= target.

    Args:
        name: constraint (reasoning-function) name, used in metric keys.
        target: tau, the required mean satisfaction in [0, 1].
        lr: dual step size on log λ per unit of violation.
        init: λ before any update (also during warm-up).
        max_value: upper clip λ_max.
        min_value: lower clip λ_min > 0 (log space cannot reach 0 exactly).
        warmup_steps: number of `update` calls during which λ does not move.
        window: number of recent steps whose batch means form the constraint estimate.
    """

    name: str
    target: float = 0.95
    lr: float = 0.5
    init: float = 1.0
    max_value: float = 10.0
    min_value: float = 1e-3
    warmup_steps: int = 0
    window: int = 8
    _log_value: float = field(init=False)
    _history: deque[float] = field(init=False, repr=False)
    steps: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if not 0.0 < self.min_value <= self.init <= self.max_value:
            raise ValueError(
                f"constraint {self.name!r}: need 0 < min_value <= init <= max_value, got "
                f"{self.min_value}, {self.init}, {self.max_value}"
            )
        if self.window < 1:
            raise ValueError(f"constraint {self.name!r}: window must be >= 1, got {self.window}")
        self._log_value = math.log(self.init)
        self._history = deque(maxlen=self.window)

    @property
    def value(self) -> float:
        """The current λ."""
        return math.exp(self._log_value)

    @property
    def estimate(self) -> float:
        """Windowed mean satisfaction (NaN before any observation)."""
        return sum(self._history) / len(self._history) if self._history else math.nan

    def update(self, batch_mean: float) -> float:
        """Record this step's mean satisfaction, take one dual step, return the new λ.

        A NaN batch mean (the function applied to no sample this step) is skipped.
        """
        self.steps += 1
        if not math.isnan(batch_mean):
            self._history.append(float(batch_mean))
        if self.steps <= self.warmup_steps or not self._history:
            return self.value
        violation = self.target - self.estimate  # > 0 while the constraint is violated
        self._log_value += self.lr * violation
        self._log_value = min(
            max(self._log_value, math.log(self.min_value)), math.log(self.max_value)
        )
        return self.value

    def state_dict(self) -> dict[str, float | int | list[float]]:
        return {"log_value": self._log_value, "steps": self.steps, "history": list(self._history)}

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        self._log_value = float(state["log_value"])  # type: ignore[arg-type]
        self.steps = int(state["steps"])  # type: ignore[call-overload]
        self._history = deque(
            (float(x) for x in state["history"]),  # type: ignore[attr-defined]
            maxlen=self.window,
        )


class Multipliers:
    """All constraints' multipliers, in a fixed order matching the constraint columns."""

    def __init__(self, constraints: Sequence[ConstraintMultiplier]) -> None:
        names = [c.name for c in constraints]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate constraint names: {names}")
        self.constraints = list(constraints)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.constraints]

    @property
    def values(self) -> list[float]:
        return [c.value for c in self.constraints]

    def update(self, batch_means: Sequence[float]) -> list[float]:
        """One dual step for every constraint; `batch_means` in constraint order."""
        if len(batch_means) != len(self.constraints):
            raise ValueError(
                f"got {len(batch_means)} constraint means for {len(self.constraints)} constraints"
            )
        return [c.update(m) for c, m in zip(self.constraints, batch_means, strict=True)]

    def metrics(self) -> dict[str, float]:
        """`constraints/<name>/lambda` and the windowed estimate, for logging."""
        out: dict[str, float] = {}
        for c in self.constraints:
            out[f"constraints/{c.name}/lambda"] = c.value
            out[f"constraints/{c.name}/window_mean"] = c.estimate
        return out

    def state_dict(self) -> dict[str, dict[str, float | int | list[float]]]:
        return {c.name: c.state_dict() for c in self.constraints}

    def load_state_dict(self, state: Mapping[str, Mapping[str, object]]) -> None:
        for c in self.constraints:
            if c.name in state:
                c.load_state_dict(state[c.name])
