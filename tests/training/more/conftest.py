"""Fixtures of the MORE tests (helpers live in more_testdata.py)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def task_examples() -> list[Any]:
    """Four hand-built TaskExamples (see more_testdata.make_examples)."""
    from tests.training.more.more_testdata import make_examples

    return make_examples()
