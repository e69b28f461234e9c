"""The runnable examples in the reward docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "training.rewards.linguistic.fluency",
        "training.rewards.linguistic.naturalness",
        "training.rewards.linguistic.concision",
        "training.rewards.registry",
    ],
)
def test_docstring_examples_run(module: str, bundled_model_dir) -> None:
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
