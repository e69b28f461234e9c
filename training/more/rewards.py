"""Resolve reward names from a run config to callables.

A name is a registry name (`training.rewards.registry`, when present), a function found in
`training.rewards.reasoning` / `training.rewards.linguistic`, or a dotted path
(`package.module:function` or `package.module.function`) for anything else.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

_SEARCH_MODULES = ("training.rewards.reasoning", "training.rewards.linguistic")


def _from_dotted(name: str) -> Callable[..., Any]:
    module_name, _, attr = name.partition(":") if ":" in name else name.rpartition(".")
    obj = getattr(importlib.import_module(module_name), attr)
    return obj


def _from_registry(name: str) -> Callable[..., Any] | None:
    try:
        registry = importlib.import_module("training.rewards.registry")
    except ModuleNotFoundError:
        return None
    for getter in ("get_reward", "resolve", "get"):
        fn = getattr(registry, getter, None)
        if callable(fn):
            try:
                return fn(name)
            except (KeyError, LookupError, ValueError):
                return None
    table = getattr(registry, "REWARDS", None) or getattr(registry, "REGISTRY", None)
    if isinstance(table, dict) and name in table:
        entry = table[name]
        return entry() if isinstance(entry, type) else entry
    return None


def resolve_reward(name: str) -> Callable[..., Any]:
    """One reward callable by name; raises a ValueError naming where it looked."""
    if ":" in name or "." in name:
        return _from_dotted(name)
    found = _from_registry(name)
    if found is not None:
        return found
    for module_name in _SEARCH_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        if callable(getattr(module, name, None)):
            return getattr(module, name)
    raise ValueError(
        f"unknown reward {name!r}: not in training.rewards.registry nor in "
        f"{', '.join(_SEARCH_MODULES)}; "
        "give a dotted path such as 'package.module:function'"
    )


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
