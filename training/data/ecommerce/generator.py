"""Seeded, deterministic generation of the e-commerce task splits.

Same seed and sizes give the same examples, byte for byte: every random draw comes from
a `random.Random` seeded with a string (stable across processes, unlike `hash()`), and
nothing iterates over an unordered set. Profiles never repeat across splits.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from app.domain.prompt import ChatMessage
from app.domain.references import Turn, reference_replies
from app.domain.rules import decide
from training.data.ecommerce.population import fingerprint, sample_profile
from training.data.ecommerce.scenarios import (
    HARD_BUILDERS,
    HARD_TAGS,
    Scenario,
    regular_scenario,
    train_hard_scenario,
    train_term_follow_up,
)
from training.data.schema import GoldDecision, Split, TaskExample

GENERATOR_VERSION = "10"  # 3: references in the prompt's words; 4: over-credit echo names the item;
# 5: "you can spend up to ... on credit" only to shoppers who may use it; 6: train-side
# follow-ups asking for a term by name, answered "not offered to your tier" when it is not;
# 7: "what do I owe?" is answered with the balance owed (dev, test and hard change in those
# references only; train's later conversations draw differently from there on); 8: the
# balance asked by name ("my credit limit and balance") is answered with what is owed, and
# "when will my order arrive?" with a status that gives no date says the date is not known,
# and a question back that says "Then I can ..." or "check" has no "Then I can check." after it;
# 9: "what do I owe?" with nothing owed says so ("You don't owe anything right now."), and
# a credit answer with nothing left to spend says paying down the balance frees credit;
# 10: "I'm doing well, thanks" only to a shopper who asked how the assistant is (a greeting
# without the question gets "Hi! What can I help you with?" in its place, same draws), and
# an approval says "so it can go on instalments" where it said "so you're all set"
# Share of train conversations drawn from the hard categories (with train-side phrasings
# for the attacks), so the policy meets boundary amounts and injections before the hard split.
TRAIN_HARD_SHARE = 0.12


@dataclass(frozen=True)
class SplitSizes:
    """Examples (customer turns) per split."""

    train: int = 6000
    dev: int = 300
    test: int = 300
    hard: int = 300
    # Appended to train: a purchase, then a term asked for by name (two turns each).
    train_terms: int = 240

    def of(self, split: Split) -> int:
        return int(getattr(self, split.value))


@dataclass
class _Registry:
    """Profile fingerprints already used, so no profile lands in two splits."""

    seen: set[str] = field(default_factory=set)

    def claim(self, fp: str) -> bool:
        if fp in self.seen:
            return False
        self.seen.add(fp)
        return True


def _examples(
    split: Split, conversation: str, scenario: Scenario, rng: random.Random, n_refs: int
) -> Iterator[TaskExample]:
    history: list[ChatMessage] = []
    for turn_no, spec in enumerate(scenario.turns):
        decision = decide(scenario.profile, spec.context, spec.intent)
        turn = Turn(spec.intent, scenario.profile, spec.context, decision, spec.tags, spec.message)
        references = reference_replies(turn, rng, k=n_refs)
        yield TaskExample(
            id=f"{conversation}-{turn_no}",
            split=split,
            intent=spec.intent,
            profile=scenario.profile,
            context=spec.context,
            history=[dict(m) for m in history],
            message=spec.message,
            decision=GoldDecision.from_decision(decision),
            reasoning=list(decision.reasoning),
            references=references,
            tags=[*spec.tags, *(["multi_turn"] if turn_no > 0 else [])],
        )
        # The next turn sees this one as history, answered with one of its references.
        history = [
            *history,
            {"role": "user", "content": spec.message},
            {"role": "assistant", "content": rng.choice(references)},
        ]


def _draw(
    split: Split,
    n: int,
    rng: random.Random,
    scenario_for: Callable[[int], Scenario],
    *,
    prefix: str,
    n_refs: int,
    registry: _Registry,
    on_example: Callable[[], None] | None,
) -> list[TaskExample]:
    """`n` examples from the scenarios `scenario_for(index)` draws (ids
    `<prefix>-<index>-<turn>`), each profile claimed in `registry`."""
    examples: list[TaskExample] = []
    index = 0
    while len(examples) < n:
        scenario = scenario_for(index)
        index += 1
        if not registry.claim(fingerprint(scenario.profile)):
            continue  # an identical profile already exists in some split: draw again
        for example in _examples(split, f"{prefix}-{index:05d}", scenario, rng, n_refs):
            if len(examples) == n:
                break
            examples.append(example)
            if on_example is not None:
                on_example()
    return examples


def generate_split(
    split: Split,
    n: int,
    *,
    seed: int,
    n_refs: int = 4,
    registry: _Registry | None = None,
    on_example: Callable[[], None] | None = None,
) -> list[TaskExample]:
    """`n` examples of one split; hard splits cycle through every hard category."""
    rng = random.Random(f"more-ecommerce/{seed}/{split.value}")

    def scenario_for(index: int) -> Scenario:
        user_id = f"u-{split.value}-{index:05d}"
        if split is Split.HARD:
            return HARD_BUILDERS[HARD_TAGS[index % len(HARD_TAGS)]](rng, user_id)
        if split is Split.TRAIN and rng.random() < TRAIN_HARD_SHARE:
            return train_hard_scenario(rng, user_id)
        return regular_scenario(rng, sample_profile(rng, user_id))

    return _draw(
        split,
        n,
        rng,
        scenario_for,
        prefix=split.value,
        n_refs=n_refs,
        registry=registry if registry is not None else _Registry(),
        on_example=on_example,
    )


def generate(
    seed: int,
    sizes: SplitSizes | None = None,
    *,
    n_refs: int = 4,
    on_example: Callable[[], None] | None = None,
) -> dict[Split, list[TaskExample]]:
    """All four splits, with disjoint profiles."""
    sizes = sizes or SplitSizes()
    registry = _Registry()
    splits = {
        split: generate_split(
            split,
            sizes.of(split),
            seed=seed,
            n_refs=n_refs,
            registry=registry,
            on_example=on_example,
        )
        for split in Split
    }
    # Drawn after every split, from a stream of their own: adding them left the others
    # (and their profiles) byte for byte as they were.
    splits[Split.TRAIN] += term_follow_ups(
        sizes.train_terms, seed=seed, n_refs=n_refs, registry=registry, on_example=on_example
    )
    return splits


def term_follow_ups(
    n: int,
    *,
    seed: int,
    n_refs: int = 4,
    registry: _Registry | None = None,
    on_example: Callable[[], None] | None = None,
) -> list[TaskExample]:
    """`n` train examples from conversations that ask for an instalment term by name."""
    rng = random.Random(f"more-ecommerce/{seed}/train-terms")
    return _draw(
        Split.TRAIN,
        n,
        rng,
        lambda index: train_term_follow_up(rng, f"u-train-terms-{index:05d}"),
        prefix="train-terms",
        n_refs=n_refs,
        registry=registry if registry is not None else _Registry(),
        on_example=on_example,
    )
