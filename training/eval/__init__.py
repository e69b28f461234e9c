"""Offline evaluation: run a policy over a split, score it with every reward, report.

from training.eval import TransformersPolicy, evaluate
result = evaluate(TransformersPolicy(model, tokenizer, name="more"), examples, out_dir=out)
result.report["overall"]["all_satisfied"]
"""

from __future__ import annotations

from training.eval.metrics import (
    DEFAULT_THRESHOLD,
    ScoredReply,
    breakdown,
    breakdown_by_tag,
    failure_samples,
    summarize,
)
from training.eval.policies import (
    HttpPolicy,
    Policy,
    PolicyReply,
    TransformersPolicy,
    chat_body,
    make_policy,
)
from training.eval.report import comparison_markdown, render_markdown
from training.eval.runner import EvalResult, evaluate, run_eval, select

__all__ = [
    "DEFAULT_THRESHOLD",
    "EvalResult",
    "HttpPolicy",
    "Policy",
    "PolicyReply",
    "ScoredReply",
    "TransformersPolicy",
    "breakdown",
    "breakdown_by_tag",
    "chat_body",
    "comparison_markdown",
    "evaluate",
    "failure_samples",
    "make_policy",
    "render_markdown",
    "run_eval",
    "select",
    "summarize",
]
