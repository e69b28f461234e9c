"""Small hand-built task examples and stand-in rewards for the MORE trainer tests.

The generator (`training/data/ecommerce`) builds the real data; these few examples keep the
trainer tests independent of it and fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from app.domain.profile import CartItem, Profile, StorefrontContext
from app.domain.rules import Intent, decide
from training.data.schema import GoldDecision, Split, TaskExample
from training.rewards.base import as_example, completion_text


def make_examples() -> list[TaskExample]:
    """Four turns: an eligible fit, an over-limit purchase, an unverified user, a dispute."""
    cases = [
        (
            Profile(user_id="u1", first_name="Ada", credit_limit=Decimal("500")),
            "299.00",
            Intent.PURCHASE_FIT,
            "Can I buy this phone in instalments?",
        ),
        (
            Profile(user_id="u2", first_name="Bo", credit_limit=Decimal("200")),
            "899.00",
            Intent.PURCHASE_FIT,
            "Can I get this laptop on monthly payments?",
        ),
        (
            Profile(user_id="u3", identity_verified=False, credit_limit=Decimal("900")),
            "120.00",
            Intent.INSTALMENT_ELIGIBILITY,
            "Am I allowed to pay in instalments?",
        ),
        (
            Profile(user_id="u4", first_name="Cy", credit_limit=Decimal("300")),
            "59.00",
            Intent.DISPUTE,
            "I was charged twice for my order, I want my money back.",
        ),
    ]
    out = []
    for i, (profile, price, intent, message) in enumerate(cases):
        context = StorefrontContext(items=[CartItem(title="Item", price=Decimal(price))])
        decision = decide(profile, context, intent)
        out.append(
            TaskExample(
                id=f"train-{i}-0",
                split=Split.TRAIN,
                intent=intent,
                profile=profile,
                context=context,
                message=message,
                decision=GoldDecision.from_decision(decision),
                reasoning=list(decision.reasoning) or [f"Decision: {decision.action.value}"],
                references=[f"Thanks for asking! The answer is: {decision.action.value}."],
            )
        )
    return out


def examples_dataset(examples: Sequence[TaskExample]) -> Any:
    from datasets import Dataset

    return Dataset.from_list(
        [
            {
                "prompt": ex.messages(),
                "example": ex.model_dump_json(),
                "intent": ex.intent.value,
                "action": ex.decision.action.value,
            }
            for ex in examples
        ]
    )


def action_word_reward(
    prompts: Any, completions: Sequence[Any], **kwargs: Any
) -> list[float | None]:
    """1 when the reply names the gold action word (a crude stand-in for decision_reward)."""
    return [
        float(as_example(ex).decision.action.value in completion_text(c).lower())
        for ex, c in zip(kwargs["example"], completions, strict=True)
    ]


def short_reward(prompts: Any, completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
    """Shorter replies score higher (a stand-in for concision)."""
    return [1.0 / (1.0 + len(completion_text(c).split())) for c in completions]


def vowel_reward(prompts: Any, completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
    """Share of vowels among letters (a stand-in for a fluency-like signal)."""
    out: list[float | None] = []
    for c in completions:
        letters = [ch for ch in completion_text(c).lower() if ch.isalpha()]
        out.append(sum(ch in "aeiou" for ch in letters) / len(letters) if letters else None)
    return out
