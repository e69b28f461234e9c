from __future__ import annotations

import pytest

from training.eval.metrics import (
    ScoredReply,
    breakdown,
    breakdown_by_tag,
    failure_samples,
    summarize,
)
from training.eval.report import comparison_markdown
from training.eval.runner import select


def row(
    intent: str,
    constraints: dict[str, float | None],
    *,
    tokens: int = 10,
    latency: float = 1.0,
    error: str | None = None,
    fluency: float = 0.5,
) -> ScoredReply:
    return ScoredReply(
        id=f"x-{intent}",
        intent=intent,
        action="approve",
        tags=[],
        message="m",
        reply="r",
        latency_s=latency,
        reply_tokens=tokens,
        generated_tokens=tokens,
        error=error,
        constraints=constraints,
        linguistic={"fluency": fluency},
    )


def test_summarize_applies_threshold_skips_not_applicable_and_counts_errors() -> None:
    rows = [
        row("a", {"decision": 1.0, "numeric": 0.96}, tokens=10, latency=1.0),
        row("a", {"decision": 0.0, "numeric": None}, tokens=20, latency=3.0, fluency=0.1),
        row("b", {"decision": 1.0, "numeric": 0.5}, tokens=30, error="HTTPError", latency=0.0),
    ]
    s = summarize(rows, threshold=0.95)
    assert s["n"] == 3 and s["errors"] == 1
    assert s["constraints"]["decision"] == {
        "mean": pytest.approx(2 / 3),
        "satisfied": pytest.approx(2 / 3),
        "n": 3,
    }
    # numeric does not apply to the second reply: it is left out, not counted as a failure.
    assert s["constraints"]["numeric"]["n"] == 2
    assert s["constraints"]["numeric"]["satisfied"] == pytest.approx(0.5)
    assert s["constraints"]["numeric"]["mean"] == pytest.approx(0.73)
    assert s["all_satisfied"] == pytest.approx(1 / 3)  # only the first meets all that apply
    assert s["linguistic"]["fluency"] == pytest.approx((0.5 + 0.1 + 0.5) / 3)
    assert s["reply_tokens"] == {"mean": 20.0, "p50": 20.0, "p95": pytest.approx(29.0)}
    assert s["latency_s"]["mean"] == pytest.approx(2.0)  # failed requests have no latency
    assert summarize(rows, threshold=0.5)["constraints"]["numeric"]["satisfied"] == 1.0


def test_breakdown_groups_rows_by_key_in_sorted_order() -> None:
    rows = [row("b", {"decision": 0.0}), row("a", {"decision": 1.0}), row("b", {"decision": 1.0})]
    groups = breakdown(rows, "intent")
    assert list(groups) == ["a", "b"]
    assert groups["a"]["n"] == 1 and groups["a"]["all_satisfied"] == 1.0
    assert groups["b"]["n"] == 2 and groups["b"]["constraints"]["decision"]["satisfied"] == 0.5


def test_summarize_empty_rows_has_no_figures() -> None:
    s = summarize([])
    assert s["n"] == 0 and s["all_satisfied"] is None
    assert s["latency_s"] == {"mean": None, "p50": None, "p95": None}


def test_select_is_a_seeded_subset_in_file_order() -> None:
    items = list(range(100))
    first = select(items, 10, seed=3)  # type: ignore[arg-type]
    assert first == select(items, 10, seed=3)  # type: ignore[arg-type]
    assert first == sorted(first) and len(set(first)) == 10
    assert first != select(items, 10, seed=4)  # type: ignore[arg-type]
    assert select(items, None) == items  # type: ignore[arg-type]
    assert select(items, 500) == items  # type: ignore[arg-type]


def test_failure_samples_keep_a_few_failing_replies_with_reasons() -> None:
    rows = [row(f"i{k}", {"decision": 0.0, "numeric": 1.0}) for k in range(5)]
    for r in rows:
        r.reasons = {"decision": "says approve, gold is decline", "numeric": "ok"}
    samples = failure_samples(rows, per_function=2)
    assert list(samples) == ["decision"]  # numeric never failed
    assert [s["id"] for s in samples["decision"]] == ["x-i0", "x-i1"]
    assert samples["decision"][0]["reason"] == "says approve, gold is decline"


def test_comparison_markdown_has_one_row_per_report() -> None:
    overall = summarize([row("a", {"decision": 1.0}), row("b", {"decision": 0.0})])
    reports = [
        {"policy": name, "split": "dev", "overall": overall} for name in ("base", "adapter:x")
    ]
    table = comparison_markdown(reports).splitlines()
    assert len(table) == 4 and "decision" in table[0] and "fluency" in table[0]
    assert table[2].startswith("| `base` | dev | 2 | 0.500 | **0.500** | 0.500 |")


def test_breakdown_by_tag_counts_a_turn_under_each_of_its_tags() -> None:
    rows = [row("a", {"decision": 1.0}), row("b", {"decision": 0.0}), row("c", {"decision": 1.0})]
    rows[0].tags = ["boundary", "injection"]
    rows[1].tags = ["boundary"]
    groups = breakdown_by_tag(rows)
    assert list(groups) == ["boundary", "injection"]  # untagged turns are not a group
    assert groups["boundary"]["n"] == 2 and groups["boundary"]["all_satisfied"] == 0.5
    assert groups["injection"]["n"] == 1
