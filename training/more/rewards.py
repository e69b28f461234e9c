"""Reward names of a run config to callables: through the registry only
(`training.rewards.registry`: registered names, short names, `package.module:function`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from training.rewards.registry import get_reward


def resolve_reward(name: str) -> Callable[..., Any]:
    """One reward callable by name; an unknown name is a ValueError listing the known."""
    try:
        return get_reward(name)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from exc


def resolve_rewards(names: Sequence[str]) -> list[Callable[..., Any]]:
    """Callables in the given order, each renamed to its config name for metric keys."""
    out = []
    for name in names:
        fn = resolve_reward(name)
        short = name.rpartition(":")[2].rpartition(".")[2]
        if getattr(fn, "__name__", None) != short:
            fn = _renamed(fn, short)
        out.append(fn)
    return out


def _renamed(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    def reward(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    reward.__name__ = reward.__qualname__ = name
    return reward
