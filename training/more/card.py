"""The model card written beside every trained adapter (`<output_dir>/adapter/README.md`).

A card says how to reproduce the adapter (command, resolved config, seed, data version)
and how it scored (the final evaluation per split), so a shipped adapter under `models/`
carries its own provenance.
"""

from __future__ import annotations

import hashlib
import shlex
import sys
from pathlib import Path
from typing import Any

CONSTRAINTS = ("decision", "numeric", "state", "handoff")
LINGUISTIC = ("fluency", "naturalness", "concision")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_TASK_NOTE = """
Constraint columns are the share of replies with the reasoning function satisfied
(score ≥ 0.95); `all` is the share satisfying all four. See docs/evaluation.md."""


def _figures_table(evaluation: dict[str, Any]) -> str:
    """Any other benchmark's headline figures (e.g. MultiWOZ BLEU / Inform / Success)."""
    lines: list[str] = []
    for name, figures in evaluation.items():
        cells = (
            ", ".join(
                f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                for k, v in figures.items()
                if isinstance(v, int | float | str)
            )
            if isinstance(figures, dict)
            else str(figures)
        )
        lines.append(f"- {name}: {cells}")
    return "\n".join(lines)


def _evaluation_table(evaluation: dict[str, Any]) -> str:
    reports = [r for r in evaluation.values() if isinstance(r, dict)]
    if reports and not any("constraints" in r for r in reports):
        return _figures_table(evaluation)
    header = ["split", "n", *CONSTRAINTS, "all", *LINGUISTIC, "tokens (mean)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for split, report in evaluation.items():
        if not isinstance(report, dict):
            lines.append(f"| {split} | {report} |")
            continue
        constraints = report.get("constraints", {})
        linguistic = report.get("linguistic", {})
        cells = [
            split,
            str(report.get("n", "")),
            *(
                f"{constraints.get(name, {}).get('satisfied', float('nan')):.3f}"
                for name in CONSTRAINTS
            ),
            f"{report.get('all_satisfied', float('nan')):.3f}",
            *(f"{linguistic.get(name, float('nan')):.3f}" for name in LINGUISTIC),
            f"{report.get('reply_tokens', {}).get('mean', float('nan')):.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n" + _TASK_NOTE


def write_model_card(
    adapter_dir: Path,
    *,
    stage: str,
    summary: dict[str, Any],
    config_file: Path,
    train_file: Path,
    seed: int,
    command: str | None = None,
    name: str | None = None,
    data: str | None = None,
) -> Path:
    """Write `adapter_dir/README.md` from a finished run and return its path.

    `data` describes training rows that did not come from `train_file` (another benchmark).
    """
    command = command or " ".join(shlex.quote(arg) for arg in ["more", *sys.argv[1:]])
    if data is None:
        data = (
            f"`{train_file}` ({sum(1 for _ in train_file.open())} examples, "
            f"sha256 `{_sha256(train_file)[:16]}…`), written by `more data generate`"
            if train_file.is_file()
            else f"`{train_file}` (not found when the card was written)"
        )
    evaluation = summary.get("evaluation")
    evaluation_md = (
        _evaluation_table(evaluation)
        if evaluation
        else "Not evaluated in this run (`eval_after: false`)."
    )
    name = name or adapter_dir.parent.name  # the run folder: <output_dir>/adapter
    card = f"""# {name}: LoRA adapter ({stage})

A PEFT LoRA adapter for the base model recorded in `adapter_config.json`
(`base_model_name_or_path`; the bundled SmolLM2-135M-Instruct when trained with the
defaults). Serve it with `MORE_ADAPTER_PATH=<this folder>` or register it as a policy
version; merge it into full weights with `more train export <this folder> --out DIR`.

## Command

```bash
{command}
```

## Config

The resolved run file, every default included: `{config_file.name}` in the run folder,
reproduced here.

```yaml
{config_file.read_text().strip() if config_file.is_file() else "(missing)"}
```

## Seed

{seed}

## Data

{data}

## Training

{summary.get("steps")} steps in {summary.get("wall_seconds")} s,
{summary.get("processes")} process(es).

## Evaluation

{evaluation_md}
"""
    path = adapter_dir / "README.md"
    path.write_text(card)
    return path
