"""Fixtures of the retraining tests: the shared intent classifier and log seeding helpers."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def intent_classifier() -> Any:
    """The MiniLM nearest-neighbour classifier (built once: it embeds ~560 prototypes)."""
    import torch

    from training.retrain.intent import default_classifier

    torch.set_num_threads(1)  # one thread decodes/encodes faster on the busy shared CPU
    return default_classifier()
