"""A number for training stability: how much the constraint-satisfaction curve oscillates.

stability = mean |m_t − m_{t−1}| over the last half of training, where m is the moving
average (window `window`) of the per-step overall constraint satisfaction
(`constraints/overall/mean`). Lower is steadier; a run that converges smoothly scores near
0, one that swings between satisfying and violating its constraints scores high.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence


def moving_average(values: Sequence[float], window: int) -> list[float]:
    """Trailing mean over up to `window` values (shorter at the start)."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    out: list[float] = []
    total = 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def oscillation(values: Sequence[float], window: int = 5) -> float:
    """Mean absolute step-to-step change of the moving average over the last half."""
    smooth = moving_average(values, window)
    tail = smooth[len(smooth) // 2 :]
    if len(tail) < 2:
        return 0.0
    return sum(abs(b - a) for a, b in itertools.pairwise(tail)) / (len(tail) - 1)
