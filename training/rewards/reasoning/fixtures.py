"""Measure the reply parser against hand-labelled replies (tests/fixtures/parser_replies.jsonl).

Each fixture line names a scenario (profile, storefront context, intent, message in
parser_scenarios.json) and gives the reply's gold stance, the amounts and counts it
states, and whether every number is licensed (`numeric_ok`) and every claim about the
user true (`state_ok`). `measure` returns the accuracies reported in docs/results.md.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from app.domain.profile import Profile, StorefrontContext
from app.domain.rules import Intent, decide
from training.data.schema import GoldDecision, Split, TaskExample
from training.rewards.reasoning.functions import parse_for, score_numeric, score_state


def scenario_example(name: str, spec: dict) -> TaskExample:
    """A TaskExample for one fixture scenario, labelled by the rules."""
    profile = Profile.model_validate(spec["profile"])
    context = StorefrontContext.model_validate(spec.get("context", {}))
    intent = Intent(spec["intent"])
    decision = decide(profile, context, intent)
    return TaskExample(
        id=f"fixture-{name}",
        split=Split.TEST,
        intent=intent,
        profile=profile,
        context=context,
        message=spec["message"],
        decision=GoldDecision.from_decision(decision),
        reasoning=list(decision.reasoning),
        references=["(fixture)"],
    )


@dataclass
class FixtureReport:
    n: int = 0
    stance_correct: int = 0
    amounts_correct: int = 0
    counts_correct: int = 0
    numeric_correct: int = 0
    state_correct: int = 0
    errors: list[str] = field(default_factory=list)
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)

    def rate(self, hits: int) -> float:
        return hits / self.n if self.n else 0.0

    @property
    def summary(self) -> dict[str, float]:
        return {
            "stance_accuracy": self.rate(self.stance_correct),
            "amount_extraction_accuracy": self.rate(self.amounts_correct),
            "count_extraction_accuracy": self.rate(self.counts_correct),
            "numeric_verdict_accuracy": self.rate(self.numeric_correct),
            "state_verdict_accuracy": self.rate(self.state_correct),
        }


def measure(replies_path: Path, scenarios_path: Path) -> FixtureReport:
    scenarios = json.loads(scenarios_path.read_text(encoding="utf-8"))
    examples = {name: scenario_example(name, spec) for name, spec in scenarios.items()}
    report = FixtureReport()
    for line in replies_path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        fx = json.loads(line)
        example = examples[fx["scenario"]]
        parsed = parse_for(example, fx["reply"])
        report.n += 1
        report.confusion[(fx["stance"], parsed.stance.value)] += 1
        checks = {
            "stance": (parsed.stance.value == fx["stance"], parsed.stance.value, fx["stance"]),
            "amounts": (
                sorted(a.value for a in parsed.amounts)
                == sorted(Decimal(a) for a in fx["amounts"]),
                [str(a.value) for a in parsed.amounts],
                fx["amounts"],
            ),
            "counts": (
                sorted(c.value for c in parsed.counts) == sorted(fx["counts"]),
                [c.value for c in parsed.counts],
                fx["counts"],
            ),
            "numeric": (
                (score_numeric(example, fx["reply"]).value == 1.0) == fx["numeric_ok"],
                score_numeric(example, fx["reply"]).reason,
                fx["numeric_ok"],
            ),
            "state": (
                (score_state(example, fx["reply"]).value == 1.0) == fx["state_ok"],
                score_state(example, fx["reply"]).reason,
                fx["state_ok"],
            ),
        }
        report.stance_correct += checks["stance"][0]
        report.amounts_correct += checks["amounts"][0]
        report.counts_correct += checks["counts"][0]
        report.numeric_correct += checks["numeric"][0]
        report.state_correct += checks["state"][0]
        for what, (ok, got, gold) in checks.items():
            if not ok:
                report.errors.append(
                    f"{fx['id']} {what}: got {got!r}, gold {gold!r} | {fx['reply']}"
                )
    return report
