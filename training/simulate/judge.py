"""Read a reply the way the reasoning functions do (DESIGN §4), for the outcome model."""

from __future__ import annotations

from training.data.schema import TaskExample
from training.simulate.driver import Judge
from training.simulate.outcomes import Judgement


def judge_reply(example: TaskExample, reply: str) -> Judgement:
    """Stance and the four reasoning-function scores of `reply` to `example`."""
    from app.domain.rules import Action
    from training.rewards.reasoning import (
        score_decision,
        score_handoff,
        score_numeric,
        score_state,
    )
    from training.rewards.reasoning.functions import parse_for

    parsed = parse_for(example, reply)  # shared with the four scorers (cached)
    return Judgement(
        stance=Action(parsed.stance.value),
        decision=score_decision(example, reply).value,
        numeric=score_numeric(example, reply).value,
        state=score_state(example, reply).value,
        handoff=score_handoff(example, reply).value,
        words=len(reply.split()),
    )


def reasoning_judge() -> Judge:
    """The default judge: the project's reasoning functions."""
    return judge_reply
