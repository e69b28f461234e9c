"""The reply guard measured without a policy: intent inference, false interventions, cost.

* **Intent on unseen phrasings**: the service's classifier (`app.engine.intent`) on the
  hand-written messages of `tests/fixtures/intent_dev.jsonl` (used to pick thresholds)
  and `intent_heldout.jsonl` (only measured), with the confusion matrix of the held-out
  set; abstentions count as wrong.
* **False interventions**: every gold reference reply of the given splits, checked as the
  service checks a reply (intent inferred from the message, read in the page's context):
  the share the guard would reject. A reference is correct by construction, so each
  rejection is the guard's (or the classifier's) mistake.
* **Cost**: the checks' time per reply (no model call), p50/p95 over every reference,
  and intent inference per message with the served int8 encoder beside the float32 one
  (accuracy of both too).

    python benchmarks/guard_checks.py --splits test,hard,dev --out benchmarks/results
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"


def _labelled(name: str) -> list[tuple[str, Any]]:
    from app.domain.rules import Intent

    rows = [json.loads(line) for line in (FIXTURES / name).read_text().splitlines() if line]
    return [(r["message"], Intent(r["intent"])) for r in rows]


def intent_figures(classifier: Any) -> dict[str, Any]:
    from app.engine.intent import accuracy

    out: dict[str, Any] = {}
    for name in ("intent_dev.jsonl", "intent_heldout.jsonl"):
        labelled = _labelled(name)
        acc, abstained, answered = accuracy(classifier, labelled)
        guesses = classifier.classify_many([m for m, _ in labelled])
        confusion = Counter(
            (gold.value, g.intent.value if g.intent else "abstain")
            for (_, gold), g in zip(labelled, guesses, strict=True)
        )
        misses = [
            {"message": m, "gold": gold.value, "guess": g.intent.value if g.intent else None}
            for (m, gold), g in zip(labelled, guesses, strict=True)
            if g.intent != gold
        ]
        out[name.removesuffix(".jsonl")] = {
            "n": len(labelled),
            "accuracy": acc,
            "abstained": abstained,
            "accuracy_when_answered": answered,
            "confusion": {f"{g} -> {p}": n for (g, p), n in sorted(confusion.items())},
            "misses": misses,
        }
    return out


def false_interventions(classifier: Any, data: Path, splits: list[str]) -> dict[str, Any]:
    from app.domain.checks import verify
    from app.domain.intents import in_context, intent_text
    from training.data.ecommerce.io import load_split

    out: dict[str, Any] = {}
    timings: list[float] = []
    for split in splits:
        examples = load_split(data, split)
        # Read as the service reads them: the titles in view said as "item".
        guesses = classifier.classify_many(
            [intent_text(e.message, e.context) for e in examples],
            [e.profile.user_id for e in examples],
        )
        checked = rejected = 0
        reasons: Counter[str] = Counter()
        samples = []
        for ex, guess in zip(examples, guesses, strict=True):
            intent = in_context(guess.intent, ex.context)
            facts = ex.facts(intent, known=intent is not None)
            for reference in ex.references:
                started = time.perf_counter()
                verdict = verify(facts, reference)
                timings.append(time.perf_counter() - started)
                checked += 1
                if not verdict.passed:
                    rejected += 1
                    reasons.update(verdict.failed)
                    if len(samples) < 10:
                        samples.append(
                            {
                                "id": ex.id,
                                "message": ex.message,
                                "gold_intent": ex.intent.value,
                                "inferred": intent.value if intent else None,
                                "reference": reference,
                                "failed": {n: verdict.scores[n].reason for n in verdict.failed},
                            }
                        )
        out[split] = {
            "references": checked,
            "rejected": rejected,
            "rate": rejected / checked if checked else None,
            "by_check": dict(reasons),
            "samples": samples,
        }
    ordered = sorted(timings)
    out["check_time_ms"] = {
        "p50": ordered[len(ordered) // 2] * 1000,
        "p95": ordered[int(0.95 * (len(ordered) - 1))] * 1000,
        "max": ordered[-1] * 1000,
        "n": len(ordered),
    }
    return out


def intent_speed(classifiers: dict[str, Any], messages: list[str]) -> dict[str, Any]:
    """ms per message, one at a time, the classifiers interleaved so load hits them alike."""
    times: dict[str, list[float]] = {name: [] for name in classifiers}
    for classifier in classifiers.values():
        classifier.classify("warm up")
    for message in messages:
        for name, classifier in classifiers.items():
            t = time.perf_counter()
            classifier.classify(message)
            times[name].append((time.perf_counter() - t) * 1000)
    out: dict[str, Any] = {}
    for name, values in times.items():
        ordered = sorted(values)
        out[name] = {
            "p50": ordered[len(ordered) // 2],
            "p95": ordered[int(0.95 * (len(ordered) - 1))],
            "n": len(ordered),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data/ecommerce"))
    parser.add_argument("--splits", default="test,hard,dev")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()

    from app.engine.bundled import load_minilm
    from app.engine.intent import (
        Int8Encoder,
        MiniLMIntentClassifier,
        default_intent_classifier,
        use_one_thread,
    )

    use_one_thread()  # as in the API process
    load = os.getloadavg()
    classifier = default_intent_classifier()
    float32 = MiniLMIntentClassifier(encoder=load_minilm())
    started = time.perf_counter()
    result = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "loadavg_at_start": load,
        "intent": intent_figures(classifier),
        "intent_float32": intent_figures(float32),
        # The encoders' own cost: no similarity cache (the served classifier keeps recent
        # messages', and these were all classified above).
        "intent_ms_per_message": intent_speed(
            {
                "int8 (served)": MiniLMIntentClassifier(
                    encoder=Int8Encoder(load_minilm()), row_cache_size=0
                ),
                "float32": MiniLMIntentClassifier(encoder=load_minilm(), row_cache_size=0),
            },
            [m for m, _ in _labelled("intent_heldout.jsonl")],
        ),
        "false_interventions": false_interventions(
            classifier, args.data, [s for s in args.splits.split(",") if s]
        ),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    path = args.out / f"guard_checks-{stamp}"
    path.with_suffix(".json").write_text(json.dumps(result, indent=2))
    lines = ["| measure | value |", "|---|---|"]
    for encoder, key in (("int8, served", "intent"), ("float32", "intent_float32")):
        for name, fig in result[key].items():
            lines.append(
                f"| intent accuracy ({encoder}), {name} ({fig['n']} unseen phrasings) | "
                f"{fig['accuracy']:.3f} (abstained {fig['abstained']:.3f}; "
                f"when answering {fig['accuracy_when_answered']:.3f}) |"
            )
    for split, fig in result["false_interventions"].items():
        if split == "check_time_ms":
            continue
        lines.append(
            f"| guard rejects gold references, {split} | {fig['rate']:.4f} "
            f"({fig['rejected']} of {fig['references']}) |"
        )
    t = result["false_interventions"]["check_time_ms"]
    lines.append(f"| check time per reply | p50 {t['p50']:.3f} ms, p95 {t['p95']:.3f} ms |")
    for name, i in result["intent_ms_per_message"].items():
        lines.append(
            f"| intent inference per message, {name}, one thread | "
            f"p50 {i['p50']:.1f} ms, p95 {i['p95']:.1f} ms |"
        )
    lines.append(f"| load average at start | {load[0]:.2f} |")
    table = "\n".join(lines)
    confusion = result["intent"]["intent_heldout"]["confusion"]
    table += "\n\nHeld-out confusion (gold -> inferred: count)\n\n" + "\n".join(
        f"* {k}: {v}" for k, v in confusion.items()
    )
    path.with_suffix(".md").write_text(table + "\n")
    print(table)
    print(f"wrote {path}.json/.md")


if __name__ == "__main__":
    main()
