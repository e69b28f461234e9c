"""Reasoning functions (DESIGN §4): reply parser, then decision, numeric, state, handoff."""

from training.rewards.reasoning.functions import (
    REASONING_FUNCTIONS,
    SCORERS,
    decision_reward,
    enable_embedding_fallback,
    handoff_reward,
    numeric_reward,
    score_decision,
    score_handoff,
    score_numeric,
    score_state,
    state_reward,
)
from training.rewards.reasoning.parser import Claim, ParsedReply, Stance, parse_reply

__all__ = [
    "REASONING_FUNCTIONS",
    "SCORERS",
    "Claim",
    "ParsedReply",
    "Stance",
    "decision_reward",
    "enable_embedding_fallback",
    "handoff_reward",
    "numeric_reward",
    "parse_reply",
    "score_decision",
    "score_handoff",
    "score_numeric",
    "score_state",
    "state_reward",
]
