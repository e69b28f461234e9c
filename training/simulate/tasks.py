"""The simulated shoppers: single-turn task examples from the e-commerce generator."""

from __future__ import annotations

from training.data.ecommerce.generator import generate_split
from training.data.schema import Split, TaskExample


def simulation_tasks(n: int, *, seed: int, split: Split = Split.TEST) -> list[TaskExample]:
    """`n` first-turn examples (no history) of `split`, seeded.

    The simulator asks one question per session, so later turns of multi-turn
    dialogues (whose history the service never saw) are skipped. The test split by
    default: shoppers the policy was not trained on.
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    examples: list[TaskExample] = []
    want = n
    while len(examples) < n:
        # Roughly a third of generated turns are follow-ups: over-generate, then filter.
        batch = generate_split(split, want * 2, seed=seed)
        examples = [e for e in batch if not e.history][:n]
        want *= 2
    return examples
