"""Score replies with every reward and aggregate: overall, per intent, per gold action.

A reasoning function is a constraint: a reply satisfies it when its score is at least
`threshold`; `None` (not applicable to this turn) is left out of that function's figures
and does not count against "all satisfied". A reply that the policy failed to produce is
scored as an empty reply (it fails what it must fail).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from training.data.schema import TaskExample
from training.eval.policies import PolicyReply
from training.rewards.base import RewardFunc, Score

DEFAULT_THRESHOLD = 0.95  # per-reply pass mark; DESIGN §4 uses τ = 0.95 for E[f_k]


def short_name(name: str) -> str:
    """`decision_reward` -> `decision` (report columns)."""
    return name.removesuffix("_reward")


@dataclass
class ScoredReply:
    """One evaluated turn: the reply, its scores and costs (a line of replies.jsonl)."""

    id: str
    intent: str
    action: str
    tags: list[str]
    message: str
    reply: str
    latency_s: float
    reply_tokens: int
    generated_tokens: int | None
    error: str | None
    truncated: bool = False  # the reply hit the token cap
    constraints: dict[str, float | None] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)  # why, per reasoning function
    linguistic: dict[str, float | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _call(
    fn: RewardFunc, examples: Sequence[TaskExample], texts: Sequence[str]
) -> list[float | None]:
    prompts = [ex.messages() for ex in examples]
    scores = fn(prompts, list(texts), example=list(examples))
    if len(scores) != len(texts):
        raise ValueError(f"{fn.__name__} returned {len(scores)} scores for {len(texts)} replies")
    return [None if s is None else float(s) for s in scores]


def score_replies(
    examples: Sequence[TaskExample],
    replies: Sequence[PolicyReply],
    *,
    constraints: Mapping[str, RewardFunc],
    linguistic: Mapping[str, RewardFunc],
    count_tokens: Callable[[str], int],
    explainers: Mapping[str, Callable[[TaskExample, str], Score]] | None = None,
    batch_size: int = 32,
    on_batch: Callable[[int], None] | None = None,
) -> list[ScoredReply]:
    """Score every reply with every reward, `batch_size` replies per reward call.

    A constraint with an explainer (the per-example scorer behind it) is scored by that
    scorer directly, so each row also records the reason string for debugging.
    """
    explainers = dict(explainers or {})
    rows = [
        ScoredReply(
            id=ex.id,
            intent=ex.intent.value,
            action=ex.decision.action.value,
            tags=list(ex.tags),
            message=ex.message,
            reply=r.text,
            latency_s=r.latency_s,
            reply_tokens=count_tokens(r.text) if r.text else 0,
            generated_tokens=r.generated_tokens,
            error=r.error,
            truncated=r.truncated,
        )
        for ex, r in zip(examples, replies, strict=True)
    ]
    for start in range(0, len(rows), batch_size):
        chunk_ex = examples[start : start + batch_size]
        chunk_rows = rows[start : start + batch_size]
        texts = [row.reply for row in chunk_rows]
        for name, fn in constraints.items():
            explain = explainers.get(name)
            if explain is not None:
                for ex, row in zip(chunk_ex, chunk_rows, strict=True):
                    result = explain(ex, row.reply)
                    row.constraints[short_name(name)] = float(result.value)
                    row.reasons[short_name(name)] = result.reason
            else:
                for row, value in zip(chunk_rows, _call(fn, chunk_ex, texts), strict=True):
                    row.constraints[short_name(name)] = value
        for name, fn in linguistic.items():
            for row, value in zip(chunk_rows, _call(fn, chunk_ex, texts), strict=True):
                row.linguistic[short_name(name)] = value
        if on_batch is not None:
            on_batch(len(chunk_rows))
    return rows


def _stats(values: Sequence[float]) -> dict[str, float | None]:
    """Mean, median and 95th percentile (None when empty)."""
    if not values:
        return {"mean": None, "p50": None, "p95": None}
    ordered = sorted(values)

    def pct(q: float) -> float:
        # Linear interpolation between closest ranks (numpy's default method).
        pos = q * (len(ordered) - 1)
        lo, hi = math.floor(pos), math.ceil(pos)
        return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)

    return {"mean": sum(ordered) / len(ordered), "p50": pct(0.5), "p95": pct(0.95)}


def summarize(
    rows: Sequence[ScoredReply], *, threshold: float = DEFAULT_THRESHOLD
) -> dict[str, Any]:
    """Aggregate figures for a set of scored replies.

    Returns a dict with `n`, `errors`, `constraints` (per function: `mean`, `satisfied`
    = share of applicable replies scoring >= threshold, `n` applicable), `all_satisfied`
    (share of replies meeting every applicable constraint), `linguistic` (per reward: mean),
    `reply_tokens` and `latency_s` (mean, p50, p95).
    """
    constraint_names = sorted({k for row in rows for k in row.constraints})
    linguistic_names = sorted({k for row in rows for k in row.linguistic})
    constraints: dict[str, dict[str, float | int | None]] = {}
    for name in constraint_names:
        vals = [row.constraints[name] for row in rows if row.constraints.get(name) is not None]
        constraints[name] = {
            "mean": sum(vals) / len(vals) if vals else None,  # type: ignore[arg-type]
            "satisfied": sum(v >= threshold for v in vals) / len(vals) if vals else None,  # type: ignore[operator]
            "n": len(vals),
        }
    all_ok = [all(v is None or v >= threshold for v in row.constraints.values()) for row in rows]
    linguistic = {
        name: _stats([v for row in rows if (v := row.linguistic.get(name)) is not None])["mean"]
        for name in linguistic_names
    }
    from app.domain.checks import repetition

    return {
        "n": len(rows),
        "errors": sum(row.error is not None for row in rows),
        # Output no shopper should read, whatever the functions say (app.domain.checks).
        "degenerate": {
            "empty": sum(not row.reply.strip() for row in rows if row.error is None),
            "at_token_cap": sum(row.truncated for row in rows),
            "repetition_loops": sum(repetition(row.reply) >= 3 for row in rows),
        },
        "constraints": constraints,
        "all_satisfied": sum(all_ok) / len(all_ok) if all_ok else None,
        "linguistic": linguistic,
        "reply_tokens": _stats([float(row.reply_tokens) for row in rows]),
        "latency_s": _stats([row.latency_s for row in rows if row.error is None]),
    }


def breakdown(
    rows: Sequence[ScoredReply], key: str, *, threshold: float = DEFAULT_THRESHOLD
) -> dict[str, dict[str, Any]]:
    """`summarize` per value of `key` (e.g. "intent", "action"), sorted by that value."""
    groups: dict[str, list[ScoredReply]] = defaultdict(list)
    for row in rows:
        groups[str(getattr(row, key))].append(row)
    return {k: summarize(groups[k], threshold=threshold) for k in sorted(groups)}


def breakdown_by_tag(
    rows: Sequence[ScoredReply], *, threshold: float = DEFAULT_THRESHOLD
) -> dict[str, dict[str, Any]]:
    """`summarize` per example tag (a turn with several tags counts under each)."""
    groups: dict[str, list[ScoredReply]] = defaultdict(list)
    for row in rows:
        for tag in row.tags:
            groups[tag].append(row)
    return {k: summarize(groups[k], threshold=threshold) for k in sorted(groups)}


def failure_samples(
    rows: Sequence[ScoredReply], *, threshold: float = DEFAULT_THRESHOLD, per_function: int = 3
) -> dict[str, list[dict[str, str]]]:
    """A few replies failing each reasoning function, with the scorer's reason, for reading."""
    out: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        for name, value in row.constraints.items():
            if value is not None and value < threshold and len(out[name]) < per_function:
                out[name].append(
                    {
                        "id": row.id,
                        "message": row.message,
                        "reply": row.reply,
                        "reason": row.reasons.get(name, ""),
                    }
                )
    return dict(sorted(out.items()))
