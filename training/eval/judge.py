"""An independent judge for the reply parser: policy replies labelled by reading.

Training, evaluation, the simulator and the service's guard all read replies with the
same parser (`app.domain.replies`), so its mistakes would be invisible in every figure.
Here a person reads real policy replies and labels what each one says; the parser is
measured against those labels.

* `sample_replies` draws replies from evaluation reports (`replies.jsonl`), stratified
  by gold action and policy, and writes them with their turn (profile, page, message) so
  a labeller sees exactly what the policy saw.
* A labelled line adds: `stance` (approve | decline | ask_info | handoff | inform, what
  the reply does), `reasons` (for a decline: the reasons it gives, `DeclineReason`
  values), `amounts` (every money amount it states, as plain decimals), `numeric_ok`
  (every number is backed by the facts) and `state_ok` (no false claim about the
  shopper).
* `agreement` compares the parser with the labels: stance (with the confusion matrix),
  decline reasons, amounts, and the numeric and state verdicts.

    python -m training.eval.judge sample runs/bench/comparison --n 240 --out labels.jsonl
    python -m training.eval.judge measure tests/fixtures/policy_replies_labelled.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.domain.checks import TurnFacts, check_numeric, check_state, parse
from app.domain.profile import Profile, StorefrontContext
from app.domain.replies import cited_reasons
from app.domain.rules import Intent


def sample_replies(
    report_dirs: list[Path], data_dir: Path, n: int, seed: int = 0
) -> list[dict[str, Any]]:
    """`n` replies from the reports' `replies.jsonl`, spread over gold actions and
    policies (round robin over (action, policy) groups), each with its turn."""
    from training.data.ecommerce.io import load_split

    examples: dict[str, Any] = {}
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for report_dir in report_dirs:
        report = json.loads((report_dir / "report.json").read_text())
        policy, split = report["policy"], report["split"]
        if split not in examples:
            examples[split] = {e.id: e for e in load_split(data_dir, split)}
        for line in (report_dir / "replies.jsonl").read_text().splitlines():
            row = json.loads(line)
            if row["reply"].strip():
                groups[(row["action"], policy)].append({**row, "policy": policy, "split": split})
    rng = random.Random(seed)
    for rows in groups.values():
        rng.shuffle(rows)
    chosen: list[dict[str, Any]] = []
    seen: set[str] = set()
    keys = sorted(groups)
    while len(chosen) < n and any(groups[k] for k in keys):
        for key in keys:
            if groups[key] and len(chosen) < n:
                row = groups[key].pop()
                if row["reply"] in seen:
                    continue
                seen.add(row["reply"])
                ex = examples[row["split"]][row["id"]]
                chosen.append(
                    {
                        "id": f"{row['policy']}:{row['id']}",
                        "policy": row["policy"],
                        "intent": ex.intent.value,
                        "profile": ex.profile.model_dump(mode="json"),
                        "context": ex.context.model_dump(mode="json", exclude_defaults=True),
                        "history": ex.history,
                        "message": ex.message,
                        "reply": row["reply"],
                    }
                )
    return chosen


def _facts(row: dict[str, Any]) -> TurnFacts:
    return TurnFacts(
        profile=Profile.model_validate(row["profile"]),
        context=StorefrontContext.model_validate(row.get("context") or {}),
        message=row["message"],
        intent=Intent(row["intent"]),
        history=tuple(row.get("history") or ()),  # type: ignore[arg-type]
    )


@dataclass
class Agreement:
    """The parser against the labels."""

    n: int = 0
    stance: int = 0
    reasons: int = 0
    declines: int = 0
    amounts: int = 0
    numeric: int = 0
    state: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    disagreements: list[str] = field(default_factory=list)

    def rate(self, hits: int, of: int | None = None) -> float:
        total = self.n if of is None else of
        return hits / total if total else 0.0

    @property
    def summary(self) -> dict[str, float]:
        return {
            "stance_agreement": self.rate(self.stance),
            "decline_reason_agreement": self.rate(self.reasons, self.declines),
            "amount_agreement": self.rate(self.amounts),
            "numeric_verdict_agreement": self.rate(self.numeric),
            "state_verdict_agreement": self.rate(self.state),
        }

    def confusion_markdown(self) -> str:
        labels = sorted({g for g, _ in self.confusion} | {p for _, p in self.confusion})
        lines = ["| label \\ parser | " + " | ".join(labels) + " |"]
        lines.append("|---|" + "---|" * len(labels))
        for gold in labels:
            cells = [str(self.confusion[(gold, got)]) for got in labels]
            lines.append(f"| {gold} | " + " | ".join(cells) + " |")
        return "\n".join(lines)


def agreement(labelled: list[dict[str, Any]]) -> Agreement:
    result = Agreement()
    for row in labelled:
        facts = _facts(row)
        parsed = parse(row["reply"], facts.decided_intent)
        result.n += 1
        result.confusion[(row["stance"], parsed.stance.value)] += 1
        ok_stance = parsed.stance.value == row["stance"]
        result.stance += ok_stance
        if row["stance"] == "decline":
            result.declines += 1
            labelled_reasons = set(row.get("reasons") or [])
            found = {r.value for r in cited_reasons(row["reply"])}
            # The parser agrees when it finds every reason the reader found (the checks
            # need one true reason; cue words for a second, incidental one do no harm).
            result.reasons += labelled_reasons <= found
            if not labelled_reasons <= found:
                result.disagreements.append(
                    f"{row['id']} reasons: parser {sorted(found)}, label "
                    f"{sorted(labelled_reasons)} | {row['reply']}"
                )
        amounts = sorted(a.value for a in parsed.amounts)
        ok_amounts = amounts == sorted(Decimal(a) for a in row.get("amounts", []))
        result.amounts += ok_amounts
        numeric = check_numeric(facts, parsed).passed
        state = check_state(facts, parsed).passed
        result.numeric += numeric == row["numeric_ok"]
        result.state += state == row["state_ok"]
        for what, ok, got, gold in (
            ("stance", ok_stance, parsed.stance.value, row["stance"]),
            ("amounts", ok_amounts, [str(a) for a in amounts], row.get("amounts")),
            ("numeric", numeric == row["numeric_ok"], numeric, row["numeric_ok"]),
            ("state", state == row["state_ok"], state, row["state_ok"]),
        ):
            if not ok:
                result.disagreements.append(
                    f"{row['id']} {what}: parser {got!r}, label {gold!r} | {row['reply']}"
                )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sample = sub.add_parser("sample", help="draw replies to label from evaluation reports")
    sample.add_argument("runs", type=Path, help="a comparison folder: <policy>/eval/<split>-*/")
    sample.add_argument("--data", type=Path, default=Path("data/ecommerce"))
    sample.add_argument("--n", type=int, default=240)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", type=Path, required=True)
    measure = sub.add_parser("measure", help="the parser against labelled replies")
    measure.add_argument("labels", type=Path)
    args = parser.parse_args()
    if args.command == "sample":
        dirs = sorted(p.parent for p in args.runs.glob("*/eval/*-inferred/report.json"))
        rows = sample_replies(dirs, args.data, args.n, args.seed)
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
        print(f"wrote {len(rows)} replies to label to {args.out}")
        return
    rows = [json.loads(line) for line in args.labels.read_text().splitlines() if line.strip()]
    result = agreement(rows)
    for key, value in result.summary.items():
        print(f"{key}: {value:.3f}")
    print(result.confusion_markdown())
    for line in result.disagreements:
        print("  ", line)


if __name__ == "__main__":
    main()
