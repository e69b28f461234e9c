"""Dual ascent on the constraint multipliers: direction, bounds, warm-up, window."""

from __future__ import annotations

import itertools
import math

import pytest

from training.more.multipliers import ConstraintMultiplier, Multipliers


def _run(m: ConstraintMultiplier, means: list[float]) -> list[float]:
    return [m.update(x) for x in means]


def test_multiplier_rises_while_violated() -> None:
    m = ConstraintMultiplier("decision", target=0.95, lr=0.5, init=0.1, window=4)
    values = _run(m, [0.5] * 10)
    assert all(b > a for a, b in itertools.pairwise(values))
    assert values[-1] > 0.1 * math.exp(0.5 * 0.45 * 9)  # multiplicative growth in log space


def test_multiplier_decays_towards_zero_once_satisfied() -> None:
    m = ConstraintMultiplier("decision", target=0.95, lr=2.0, init=5.0, window=2, min_value=1e-6)
    _run(m, [1.0] * 200)
    assert m.value < 1e-3
    values = _run(m, [1.0] * 5)
    assert all(b <= a for a, b in itertools.pairwise(values))


def test_multiplier_never_negative_and_bounded() -> None:
    m = ConstraintMultiplier("numeric", target=0.95, lr=5.0, init=1.0, max_value=3.0, window=1)
    for x in [0.0] * 50 + [1.0] * 200 + [0.0] * 50:
        v = m.update(x)
        assert m.min_value <= v <= 3.0 + 1e-12
    assert m.value == pytest.approx(3.0)


def test_multiplier_frozen_during_warmup() -> None:
    m = ConstraintMultiplier("state", target=0.95, lr=1.0, init=0.7, warmup_steps=5, window=3)
    assert _run(m, [0.0] * 5) == [pytest.approx(0.7)] * 5
    assert m.update(0.0) > 0.7  # moves on the first step after warm-up
    # the warm-up observations still count in the window estimate
    assert m.estimate == pytest.approx(0.0)


def test_multiplier_uses_sliding_window_estimate() -> None:
    m = ConstraintMultiplier("handoff", target=0.5, lr=1.0, init=1.0, window=3)
    _run(m, [0.0, 0.0, 0.0])
    assert m.estimate == pytest.approx(0.0)
    before = m.value
    m.update(1.0)  # window [0, 0, 1] -> mean 1/3 < 0.5: still violated, λ still rises
    assert m.estimate == pytest.approx(1 / 3)
    assert m.value > before


def test_multiplier_skips_nan_batches() -> None:
    m = ConstraintMultiplier("handoff", init=1.0, window=3)
    assert m.update(math.nan) == pytest.approx(1.0)
    assert math.isnan(m.estimate)


def test_multipliers_metrics_and_state_roundtrip() -> None:
    ms = Multipliers([ConstraintMultiplier("a", init=0.5), ConstraintMultiplier("b", init=2.0)])
    ms.update([0.0, 1.0])
    metrics = ms.metrics()
    assert set(metrics) >= {"constraints/a/lambda", "constraints/b/lambda"}
    assert metrics["constraints/a/lambda"] > 0.5 and metrics["constraints/b/lambda"] < 2.0
    clone = Multipliers([ConstraintMultiplier("a", init=0.5), ConstraintMultiplier("b", init=2.0)])
    clone.load_state_dict(ms.state_dict())
    assert clone.values == pytest.approx(ms.values)
    with pytest.raises(ValueError, match="2 constraints"):
        ms.update([0.1])


def test_multiplier_rejects_bad_bounds() -> None:
    with pytest.raises(ValueError, match="min_value <= init <= max_value"):
        ConstraintMultiplier("x", init=20.0, max_value=10.0)
