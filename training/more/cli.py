"""`more train ...`: stage 1 (scaffold SFT) and stage 2 (MORE and its baselines).

more train scaffold --config training/configs/scaffold.yaml
more train more --config training/configs/more.yaml [--set max_steps=10 --set seed=1]
more train export models/more --out runs/merged/more   # adapter merged into full weights
more train ship runs/bench/comparison/more/adapter --to models/more   # fp16 copy to ship
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

app = typer.Typer(
    name="train", help="Train policies: scaffold SFT, then MORE.", no_args_is_help=True
)

ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", exists=True, dir_okay=False, help="Run YAML file.")
]
ResumeOpt = Annotated[
    bool,
    typer.Option("--resume", help="Continue from the newest checkpoint in output_dir, if any."),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override one config key, KEY=VALUE (YAML value); repeatable."),
]


def _overrides(items: list[str] | None, resume: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"resume_from_checkpoint": "last"} if resume else {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"--set expects KEY=VALUE, got {item!r}")
        parsed = yaml.safe_load(value)
        # YAML 1.1 reads no/yes/on/off as booleans; TRL strategies such as `no` are strings.
        if isinstance(parsed, bool) and value.strip().lower() not in ("true", "false"):
            parsed = value.strip()
        out[key.strip()] = parsed
    return out


def _report(summary: dict[str, Any]) -> None:
    if "wall_seconds" not in summary:  # a non-main rank under accelerate launch: rank 0 reports
        return
    final = summary.get("final", {})
    typer.echo(
        f"\nadapter: {summary['adapter']}  steps: {summary['steps']}  "
        f"wall: {summary['wall_seconds']} s"
    )
    keys = [
        k
        for k in final
        if k.startswith(("rewards/", "constraints/", "weights/")) and not k.endswith("/std")
    ]
    for key in sorted(keys) + [k for k in ("kl", "loss", "step_time") if k in final]:
        value = final[key]
        typer.echo(
            f"  {key:<45} {value:.4f}" if isinstance(value, float) else f"  {key:<45} {value}"
        )
    if "evaluation" in summary:
        typer.echo("evaluation: " + json.dumps(summary["evaluation"], default=str)[:2000])


@app.command("scaffold")
def train_scaffold_cmd(config: ConfigOpt, set_: SetOpt = None, resume: ResumeOpt = False) -> None:
    """Stage 1: LoRA SFT on balanced direct replies (plus reasoned rows for the scaffold)."""
    from training.more.run import load_run, train_scaffold

    run, cfg = load_run(config, "scaffold", _overrides(set_, resume))
    _report(train_scaffold(run, cfg))


@app.command("more")
def train_more_cmd(config: ConfigOpt, set_: SetOpt = None, resume: ResumeOpt = False) -> None:
    """Stage 2: MORE (or a baseline via `mode`) from the scaffold."""
    from training.more.run import load_run, train_more

    run, cfg = load_run(config, "more", _overrides(set_, resume))
    _report(train_more(run, cfg))


@app.command("plot")
def plot_cmd(
    run_dir: Annotated[
        Path, typer.Argument(exists=True, file_okay=False, help="A run's output_dir.")
    ],
) -> None:
    """Redraw a run's PNG curves from its metrics.jsonl."""
    from training.more.metrics import plot_metrics

    for path in plot_metrics(run_dir / "metrics.jsonl", run_dir / "plots"):
        typer.echo(str(path))


@app.command("export")
def export_cmd(
    adapter: Annotated[
        Path, typer.Argument(exists=True, file_okay=False, help="A PEFT adapter folder.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the merged model.")],
    base_model: Annotated[
        Path | None,
        typer.Option(help="Base model folder (default: the adapter's recorded base, or bundled)."),
    ] = None,
) -> None:
    """Merge an adapter into full weights, for deployments without LoRA."""
    from training.more.export import merge_adapter

    path = merge_adapter(adapter, out, base_model)
    typer.echo(f"merged model: {path}  (serve it with MORE_MODEL_PATH={path})")


@app.command("ship")
def ship_cmd(
    adapter: Annotated[
        Path, typer.Argument(exists=True, file_okay=False, help="A trained adapter folder.")
    ],
    to: Annotated[Path, typer.Option("--to", help="Where it ships, e.g. models/more.")],
    dtype: Annotated[str, typer.Option(help="Weight dtype of the shipped copy.")] = "float16",
) -> None:
    """Copy a trained adapter into the repository's models/ folder, weights in half precision."""
    from training.more.export import ship_adapter

    path = ship_adapter(adapter, to, dtype=dtype)
    size = (path / "adapter_model.safetensors").stat().st_size / 1e6
    typer.echo(f"shipped {adapter} -> {path} ({size:.1f} MB of {dtype} weights)")
