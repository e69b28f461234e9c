"""The four reasoning functions of DESIGN §4 as scorers and TRL rewards over task examples.

The functions themselves live in `app.domain.checks`, the one definition of a correct
reply that the service's reply guard runs too; this module only adapts them to
`TaskExample`s and to TRL's reward signature. Each scorer maps (TaskExample, reply) to a
`Score` in [0, 1] with a short reason (see `app.domain.checks` for what each checks).
"""

from __future__ import annotations

from collections.abc import Callable

from app.domain.checks import (
    Score,
    check_decision,
    check_handoff,
    check_numeric,
    check_state,
    parse,
)
from app.domain.replies import ParsedReply
from training.data.schema import TaskExample
from training.rewards.base import RewardFunc, reward_from_scorer


def parse_for(example: TaskExample, reply: str) -> ParsedReply:
    """The shared (cached) parse of a reply to an example."""
    return parse(reply, example.intent)


def _scorer(check: Callable[..., Score]) -> Callable[[TaskExample, str], Score]:
    def scorer(example: TaskExample, reply: str) -> Score:
        return check(example.facts(), parse(reply, example.intent))

    scorer.__name__ = f"score_{check.__name__.removeprefix('check_')}"
    return scorer


score_decision = _scorer(check_decision)
score_numeric = _scorer(check_numeric)
score_state = _scorer(check_state)
score_handoff = _scorer(check_handoff)

SCORERS: dict[str, Callable[[TaskExample, str], Score]] = {
    "decision": score_decision,
    "numeric": score_numeric,
    "state": score_state,
    "handoff": score_handoff,
}

decision_reward: RewardFunc = reward_from_scorer("decision_reward", score_decision)
numeric_reward: RewardFunc = reward_from_scorer("numeric_reward", score_numeric)
state_reward: RewardFunc = reward_from_scorer("state_reward", score_state)
handoff_reward: RewardFunc = reward_from_scorer("handoff_reward", score_handoff)

# name -> TRL reward; the constraint set f_k of DESIGN §4.
REASONING_FUNCTIONS: dict[str, RewardFunc] = {
    "decision": decision_reward,
    "numeric": numeric_reward,
    "state": state_reward,
    "handoff": handoff_reward,
}

__all__ = [
    "REASONING_FUNCTIONS",
    "SCORERS",
    "decision_reward",
    "handoff_reward",
    "numeric_reward",
    "parse_for",
    "score_decision",
    "score_handoff",
    "score_numeric",
    "score_state",
    "state_reward",
]
