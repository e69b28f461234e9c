"""Linguistic rewards g_j(x, y) in [0, 1]: fluency, naturalness, concision (DESIGN §4).

Each is a plain TRL-style callable `fn(prompts, completions, **columns) -> list[float]`,
named `<what>_reward`; `get_*_reward(...)` factories return configured ones. Models are
loaded lazily on first call and cached, so importing this package is cheap.
"""

from __future__ import annotations

from training.rewards.linguistic.concision import concision_reward, get_concision_reward
from training.rewards.linguistic.fluency import fluency_reward, get_fluency_reward
from training.rewards.linguistic.naturalness import get_naturalness_reward, naturalness_reward

__all__ = [
    "concision_reward",
    "fluency_reward",
    "get_concision_reward",
    "get_fluency_reward",
    "get_naturalness_reward",
    "naturalness_reward",
]
