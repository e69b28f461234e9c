"""The simulator reads replies with the project's reasoning functions."""

from __future__ import annotations

from app.domain.rules import Action
from training.simulate.judge import judge_reply
from training.simulate.tasks import simulation_tasks


def test_judge_accepts_gold_references_and_flags_a_wrong_stance() -> None:
    tasks = simulation_tasks(40, seed=0)
    for example in tasks:
        j = judge_reply(example, example.references[0])
        assert j.correct and j.stance is example.decision.action, example.id
    approvals = [t for t in tasks if t.decision.action is Action.APPROVE]
    assert approvals
    wrong = judge_reply(approvals[0], "Sorry, you are not eligible for instalments.")
    assert wrong.stance is Action.DECLINE and not wrong.correct


def test_simulation_tasks_are_first_turns_and_seeded() -> None:
    a, b = simulation_tasks(30, seed=1), simulation_tasks(30, seed=1)
    assert [t.id for t in a] == [t.id for t in b]
    assert all(not t.history for t in a)
    assert len(a) == 30
