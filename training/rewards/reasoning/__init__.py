"""Reasoning functions (DESIGN §4) as TRL rewards; defined once in `app.domain.checks`."""

from app.domain.checks import Score
from app.domain.replies import Claim, ParsedReply, parse_reply
from training.rewards.reasoning.functions import (
    REASONING_FUNCTIONS,
    SCORERS,
    decision_reward,
    handoff_reward,
    numeric_reward,
    parse_for,
    score_decision,
    score_handoff,
    score_numeric,
    score_state,
    state_reward,
)

__all__ = [
    "REASONING_FUNCTIONS",
    "SCORERS",
    "Claim",
    "ParsedReply",
    "Score",
    "decision_reward",
    "handoff_reward",
    "numeric_reward",
    "parse_for",
    "parse_reply",
    "score_decision",
    "score_handoff",
    "score_numeric",
    "score_state",
    "state_reward",
]
