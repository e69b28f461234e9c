"""Write an evaluation as JSON (machine-readable), markdown (for docs) and replies JSONL."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from training.eval.metrics import ScoredReply
from training.markdown import table


def _fmt(value: float | int | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def overall_markdown(report: Mapping[str, Any]) -> str:
    """The headline tables: constraints, linguistic rewards, length and latency."""
    overall = report["overall"]
    lines = table(
        ["reasoning function", f"satisfied (≥ {report['threshold']})", "mean", "n"],
        [
            [name, _fmt(c["satisfied"]), _fmt(c["mean"]), str(c["n"])]
            for name, c in overall["constraints"].items()
        ]
        + [["**all**", f"**{_fmt(overall['all_satisfied'])}**", "", str(overall["n"])]],
    )
    lines += [""]
    lines += table(
        ["linguistic reward", "mean"],
        [[name, _fmt(v)] for name, v in overall["linguistic"].items()],
    )
    gen = report["generation"]
    tokens, latency = overall["reply_tokens"], overall["latency_s"]
    lines += [""]
    lines += table(
        ["cost", "mean", "p50", "p95"],
        [
            [
                "reply length (tokens)",
                _fmt(tokens["mean"], 1),
                _fmt(tokens["p50"], 1),
                _fmt(tokens["p95"], 1),
            ],
            [
                "latency (s)",
                _fmt(latency["mean"], 2),
                _fmt(latency["p50"], 2),
                _fmt(latency["p95"], 2),
            ],
        ],
    )
    lines += [
        "",
        f"Generation: {gen['generated_tokens']} tokens in {gen['wall_s']:.1f} s "
        f"({_fmt(gen['tokens_per_s'], 1)} tok/s, batch {gen['batch_size']}); "
        f"errors: {overall['errors']}.",
    ]
    return "\n".join(lines)


def breakdown_markdown(groups: Mapping[str, Mapping[str, Any]], label: str) -> str:
    """One row per group: satisfaction share per function, all, linguistic means, length."""
    if not groups:
        return ""
    constraint_names = sorted({k for g in groups.values() for k in g["constraints"]})
    linguistic_names = sorted({k for g in groups.values() for k in g["linguistic"]})
    header = [label, "n", *constraint_names, "all", *linguistic_names, "tokens"]
    rows = []
    for key, g in groups.items():
        rows.append(
            [
                key,
                str(g["n"]),
                *(
                    _fmt((g["constraints"].get(c) or {}).get("satisfied"), 2)
                    for c in constraint_names
                ),
                _fmt(g["all_satisfied"], 2),
                *(_fmt(g["linguistic"].get(name), 2) for name in linguistic_names),
                _fmt(g["reply_tokens"]["mean"], 1),
            ]
        )
    return "\n".join(table(header, rows))


def failures_markdown(failures: Mapping[str, Sequence[Mapping[str, str]]]) -> str:
    """A few failing replies per reasoning function, with the reason (replies.jsonl has all)."""
    lines: list[str] = []
    for name, samples in failures.items():
        lines.append(f"**{name}**")
        lines.append("")
        for s in samples:
            reply = " ".join(s["reply"].split()) or "(empty)"
            if len(reply) > 200:
                reply = reply[:200] + "…"
            lines.append(f"* `{s['id']}` “{s['message']}” → “{reply}” — {s['reason']}")
        lines.append("")
    return "\n".join(lines).strip() or "None."


def render_markdown(report: Mapping[str, Any]) -> str:
    """The whole report as markdown."""
    n = report["overall"]["n"]
    title = f"# Evaluation: `{report['policy']}` on {report['split']} ({n} examples)"
    settings = ", ".join(f"{k}={v}" for k, v in report["settings"].items())
    return (
        "\n\n".join(
            [
                title,
                f"Settings: {settings}. Constraint columns in the breakdowns are the share of "
                f"replies scoring ≥ {report['threshold']}; linguistic columns are means.",
                "## Overall",
                overall_markdown(report),
                "## Per intent",
                breakdown_markdown(report["by_intent"], "intent"),
                "## Per gold action",
                breakdown_markdown(report["by_action"], "action"),
                *(
                    ["## Per tag", breakdown_markdown(report["by_tag"], "tag")]
                    if report.get("by_tag")
                    else []
                ),
                "## Sample failures",
                failures_markdown(report.get("failures", {})),
            ]
        )
        + "\n"
    )


def comparison_markdown(reports: Sequence[Mapping[str, Any]]) -> str:
    """One row per report (policy × split): the headline figures side by side."""
    constraint_names = sorted({k for r in reports for k in r["overall"]["constraints"]})
    linguistic_names = sorted({k for r in reports for k in r["overall"]["linguistic"]})
    header = [
        "policy",
        "split",
        "n",
        *constraint_names,
        "all",
        *linguistic_names,
        "tokens (mean)",
        "latency p50 (s)",
    ]
    rows = []
    for r in reports:
        o = r["overall"]
        rows.append(
            [
                f"`{r['policy']}`",
                r["split"],
                str(o["n"]),
                *(_fmt((o["constraints"].get(c) or {}).get("satisfied")) for c in constraint_names),
                f"**{_fmt(o['all_satisfied'])}**",
                *(_fmt(o["linguistic"].get(name)) for name in linguistic_names),
                _fmt(o["reply_tokens"]["mean"], 1),
                _fmt(o["latency_s"]["p50"], 2),
            ]
        )
    return "\n".join(table(header, rows))


def write_report(
    out_dir: Path, report: Mapping[str, Any], rows: Sequence[ScoredReply]
) -> dict[str, Path]:
    """Write report.json, report.md and replies.jsonl into `out_dir`; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / "report.json",
        "markdown": out_dir / "report.md",
        "replies": out_dir / "replies.jsonl",
    }
    paths["json"].write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    paths["markdown"].write_text(render_markdown(report), encoding="utf-8")
    with paths["replies"].open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row.to_json(), ensure_ascii=False) + "\n")
    return paths
