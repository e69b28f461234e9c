"""`more retrain`: logs -> MORE from the current policy -> dev evaluation -> registered
(unpromoted) policy version. See docs/retraining.md.

more retrain --base-policy more-v1 --steps 20 \\
    --register-url http://localhost:8000 --admin-key $MORE_ADMIN_API_KEY
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer


def retrain(
    base_policy: Annotated[
        str,
        typer.Option(
            "--base-policy",
            help="Registered policy version name, `promoted` (the one promoted now), "
            "or a LoRA adapter folder.",
        ),
    ],
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="DATABASE_URL",
            help="The service's database (default: the service's settings).",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Run folder (default runs/retrain/<UTC ts>).")
    ] = None,
    steps: Annotated[int, typer.Option("--steps", min=1, help="MORE optimiser steps.")] = 20,
    config: Annotated[
        Path,
        typer.Option("--config", "-c", exists=True, dir_okay=False, help="Run YAML to start from."),
    ] = Path("training/configs/retrain.yaml"),
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override one config key, KEY=VALUE (YAML); repeatable."),
    ] = None,
    model_path: Annotated[
        str | None, typer.Option("--model-path", help="Base model folder (default: bundled).")
    ] = None,
    generated_ratio: Annotated[
        float, typer.Option(help="Generated examples mixed in per logged training row.")
    ] = 1.0,
    generated_data: Annotated[
        Path | None,
        typer.Option(help="TaskExample JSONL to draw generated examples from (default: generate)."),
    ] = None,
    generated_seed: Annotated[
        int, typer.Option(help="Seed of freshly generated examples (shipped splits use 0).")
    ] = 1,
    dev_fraction: Annotated[float, typer.Option(help="Logged sessions held out as dev.")] = 0.1,
    negative_repeat: Annotated[
        int, typer.Option(min=1, help="Repeats of each turn of a badly-ended session.")
    ] = 2,
    exclude_simulated: Annotated[
        bool, typer.Option(help="Drop sessions whose outcomes came from the simulator.")
    ] = False,
    since: Annotated[
        datetime | None, typer.Option(help="Only sessions active since (ISO 8601).")
    ] = None,
    since_days: Annotated[
        float | None, typer.Option(help="Only sessions active in the last N days (cron jobs).")
    ] = None,
    max_sessions: Annotated[int | None, typer.Option(help="Read at most N sessions.")] = None,
    min_examples: Annotated[
        int, typer.Option(help="Refuse to train on fewer logged training rows.")
    ] = 20,
    eval_limit: Annotated[int, typer.Option(help="Dev examples evaluated per policy.")] = 100,
    eval_max_new_tokens: Annotated[int, typer.Option(help="Reply budget in evaluation.")] = 64,
    compare_base: Annotated[
        bool, typer.Option(help="Also evaluate the current policy on the same dev split.")
    ] = True,
    register_url: Annotated[
        str | None,
        typer.Option("--register-url", help="Service base URL; unset: do not register."),
    ] = None,
    admin_key: Annotated[
        str | None,
        typer.Option("--admin-key", envvar="MORE_ADMIN_API_KEY", help="Admin API key."),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="New version name (default retrain-<UTC ts>).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the mix and generated data.")] = 0,
) -> None:
    """Retrain the policy from logged sessions and register it (not promoted)."""
    import asyncio

    from training.more.cli import _overrides
    from training.retrain.pipeline import RetrainConfig, RetrainError, render_summary
    from training.retrain.pipeline import retrain as run_retrain

    if since_days is not None:
        since = datetime.now(UTC) - timedelta(days=since_days)
    elif since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # stored times are UTC
    try:
        cfg = RetrainConfig(
            base_policy=base_policy,
            out=out,
            database_url=database_url,
            steps=steps,
            config=config,
            overrides=_overrides(set_),
            model_path=model_path,
            generated_ratio=generated_ratio,
            generated_data=generated_data,
            generated_seed=generated_seed,
            dev_fraction=dev_fraction,
            negative_repeat=negative_repeat,
            exclude_simulated=exclude_simulated,
            since=since,
            max_sessions=max_sessions,
            min_examples=min_examples,
            eval_limit=eval_limit,
            eval_max_new_tokens=eval_max_new_tokens,
            compare_base=compare_base,
            register_url=register_url,
            admin_key=admin_key,
            name=name,
            seed=seed,
        )
        summary = asyncio.run(run_retrain(cfg))
    except (RetrainError, ValueError) as exc:
        typer.echo(f"retrain failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo("\n" + render_summary(summary))


def register(root: typer.Typer) -> None:
    root.command("retrain")(retrain)
