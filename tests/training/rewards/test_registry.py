from __future__ import annotations

from decimal import Decimal

import pytest

from app.domain.profile import Profile, StorefrontContext
from app.domain.rules import Intent, decide
from training.data.schema import GoldDecision, Split, TaskExample
from training.rewards.reasoning import REASONING_FUNCTIONS
from training.rewards.registry import (
    LINGUISTIC_REWARDS,
    available_rewards,
    canonical_name,
    get_reward,
    get_rewards,
    reasoning_functions,
    reasoning_scorers,
)


def test_registry_lists_every_reasoning_and_linguistic_reward() -> None:
    names = available_rewards()
    assert names[: len(REASONING_FUNCTIONS)] == [f"{k}_reward" for k in REASONING_FUNCTIONS]
    assert {"decision_reward", "numeric_reward", "state_reward", "handoff_reward"} <= set(names)
    assert names[-3:] == list(LINGUISTIC_REWARDS)
    assert set(LINGUISTIC_REWARDS) == {"fluency_reward", "naturalness_reward", "concision_reward"}
    assert set(reasoning_scorers()) == set(reasoning_functions())


def test_registry_reward_names_match_function_names() -> None:
    for name in available_rewards():
        assert get_reward(name).__name__ == name


def test_get_reward_accepts_short_names_options_and_dotted_paths() -> None:
    assert canonical_name("fluency") == "fluency_reward"
    assert get_reward("decision") is get_reward("decision_reward")
    strict = get_reward("concision", budget=2)
    assert strict(None, ["one two three four"]) == [0.5]
    dotted = get_reward("training.rewards.linguistic.concision:get_concision_reward", budget=4)
    assert dotted(None, ["one two three four"]) == [1.0]


def test_get_reward_rejects_unknown_names_and_options_for_fixed_rewards() -> None:
    with pytest.raises(KeyError, match="decision_reward"):
        get_reward("charm_reward")
    with pytest.raises(TypeError, match="no options"):
        get_reward("decision_reward", strict=True)


def test_get_rewards_builds_a_configured_set_in_order() -> None:
    rewards = get_rewards({"handoff": None, "concision_reward": {"budget": 3}})
    assert list(rewards) == ["handoff_reward", "concision_reward"]
    assert rewards["concision_reward"](None, ["a b c d e f"]) == [0.5]


def test_reasoning_rewards_from_registry_score_task_examples() -> None:
    # An unverified customer asks for instalments: a polite decline passes the decision
    # function, an approval fails it.
    profile = Profile(user_id="u-9", identity_verified=False, credit_limit=Decimal("1000"))
    context = StorefrontContext()
    decision = decide(profile, context, Intent.INSTALMENT_ELIGIBILITY)
    example = TaskExample(
        id="dev-9-0",
        split=Split.DEV,
        intent=Intent.INSTALMENT_ELIGIBILITY,
        profile=profile,
        context=context,
        message="Can I pay in instalments?",
        decision=GoldDecision.from_decision(decision),
        reasoning=list(decision.reasoning),
        references=["Sorry, instalments need a verified identity first."],
    )
    replies = [
        "Unfortunately you can't use instalments until your identity is verified.",
        "Yes, you can pay in instalments!",
    ]
    scores = get_reward("decision_reward")(None, replies, example=[example.model_dump_json()] * 2)
    assert scores == [1.0, 0.0]
