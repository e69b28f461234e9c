"""Every reward by name: the reasoning functions (constraints) and the linguistic rewards.

Names are `<what>_reward`; the short form (`fluency`) and a dotted import path
(`my_pkg.rewards:brevity_reward`, as in TRL's scripts) are accepted too. Configurable
rewards are built by their `get_*` factory with keyword options, so a run config can say
`{"fluency_reward": {"model_path": "..."}}`.

    >>> from training.rewards.registry import get_reward
    >>> concise = get_reward("concision", budget=30)
    >>> concise(None, ["Yes, it fits."])
    [1.0]
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from training.data.schema import TaskExample
from training.rewards.base import RewardFunc, Score
from training.rewards.linguistic import (
    get_concision_reward,
    get_fluency_reward,
    get_naturalness_reward,
)

# Linguistic rewards: name -> factory (called with the options; no options = defaults).
LINGUISTIC_FACTORIES: dict[str, Callable[..., RewardFunc]] = {
    "fluency_reward": get_fluency_reward,
    "naturalness_reward": get_naturalness_reward,
    "concision_reward": get_concision_reward,
}
LINGUISTIC_REWARDS: tuple[str, ...] = tuple(LINGUISTIC_FACTORIES)


def reasoning_functions() -> dict[str, RewardFunc]:
    """The reasoning functions f_k as TRL rewards, by name (decision, numeric, state, handoff)."""
    from training.rewards.reasoning import REASONING_FUNCTIONS

    return {canonical_name(name): fn for name, fn in REASONING_FUNCTIONS.items()}


def reasoning_scorers() -> dict[str, Callable[[TaskExample, str], Score]]:
    """The per-example scorers behind the reasoning functions (value + reason), by name."""
    from training.rewards.reasoning import SCORERS

    return {canonical_name(name): fn for name, fn in SCORERS.items()}


def reasoning_names() -> tuple[str, ...]:
    return tuple(reasoning_functions())


def available_rewards() -> list[str]:
    """Every registered reward name: reasoning functions first, then linguistic rewards."""
    return [*reasoning_names(), *LINGUISTIC_REWARDS]


def canonical_name(name: str) -> str:
    """`fluency` -> `fluency_reward`, `pkg.mod.fn` -> `pkg.mod:fn`; registered names and
    `pkg.mod:fn` paths are unchanged."""
    if ":" in name or (name.endswith("_reward") and "." not in name):
        return name
    if "." in name:
        module, _, attr = name.rpartition(".")
        return f"{module}:{attr}"
    return f"{name}_reward"


def get_reward(name: str, **options: Any) -> RewardFunc:
    """The reward called `name`, configured with `options` (factories only).

    Raises:
        KeyError: unknown name (the message lists the known ones).
        TypeError: options given for a reward that takes none.
    """
    key = canonical_name(name)
    if key in LINGUISTIC_FACTORIES:
        return LINGUISTIC_FACTORIES[key](**options)
    reasoning = reasoning_functions()
    if key in reasoning:
        if options:
            raise TypeError(f"{key} takes no options, got {sorted(options)}")
        return reasoning[key]
    if ":" in key:
        module, _, attr = key.partition(":")
        fn = getattr(importlib.import_module(module), attr)
        return fn(**options) if options else fn
    raise KeyError(f"unknown reward {name!r}; known: {', '.join(available_rewards())}")


def get_rewards(
    names: Iterable[str] | Mapping[str, Mapping[str, Any] | None],
) -> dict[str, RewardFunc]:
    """Several rewards by name (a list, or a mapping name -> options), in order."""
    if isinstance(names, Mapping):
        items = [(n, dict(opts or {})) for n, opts in names.items()]
    else:
        items = [(n, {}) for n in names]
    out: dict[str, RewardFunc] = {}
    for name, opts in items:
        fn = get_reward(name, **opts)
        out[getattr(fn, "__name__", canonical_name(name))] = fn
    return out
