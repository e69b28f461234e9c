"""`more eval`: evaluate a policy (base model, base + LoRA adapter, the live service, or
an earlier evaluation's replies scored again)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer


def eval_command(
    policy: Annotated[
        str,
        typer.Option(
            help="base | adapter:<path> (PEFT folder) | http:<url> (the running service) | "
            "replay:<replies.jsonl> (an earlier evaluation's replies, scored again)."
        ),
    ] = "base",
    split: Annotated[str, typer.Option(help="train, dev, test or hard.")] = "dev",
    data: Annotated[
        Path, typer.Option(help="Directory with <split>.jsonl (from `more data generate`).")
    ] = Path("data/ecommerce"),
    limit: Annotated[
        int | None, typer.Option(help="Evaluate a seeded random subset of this many examples.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the --limit subset.")] = 0,
    out: Annotated[
        Path | None,
        typer.Option(help="Output directory (default runs/eval/<policy>-<split>-<time>)."),
    ] = None,
    model_path: Annotated[
        str | None,
        typer.Option(
            envvar="MORE_MODEL_PATH", help="Local HF base model folder (default: bundled SmolLM2)."
        ),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar="MORE_EVAL_API_KEY", help="Storefront key (http).")
    ] = None,
    admin_key: Annotated[
        str | None,
        typer.Option(
            envvar="MORE_EVAL_ADMIN_KEY",
            help="Admin key (http): write each example's profile before asking.",
        ),
    ] = None,
    max_new_tokens: Annotated[int, typer.Option(help="Reply budget in tokens.")] = 96,
    batch_size: Annotated[int, typer.Option(help="Prompts per generate call (local).")] = 8,
    threshold: Annotated[
        float, typer.Option(help="A reply satisfies a reasoning function at this score.")
    ] = 0.95,
    reward: Annotated[
        list[str] | None,
        typer.Option(help="Only these rewards (repeatable, e.g. --reward decision_reward)."),
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Requests in flight (http).")] = 4,
    threads: Annotated[
        int | None,
        typer.Option(
            envvar="MORE_EVAL_THREADS",
            help="Torch CPU threads (1 is much faster on a busy shared CPU).",
        ),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    engine: Annotated[
        str,
        typer.Option(help="Local policies run on transformers or vllm (batched, much faster)."),
    ] = "transformers",
    verdict: Annotated[
        str,
        typer.Option(
            help="Verdict line in local prompts: inferred (as serving: from the recognised "
            "intent), gold (the generator's intent) or none."
        ),
    ] = "inferred",
) -> None:
    """Evaluate a policy on a split: constraints, linguistic rewards, length, latency."""
    from training.eval.policies import VERDICTS, PolicySpecError
    from training.eval.report import overall_markdown
    from training.eval.runner import run_eval

    if verdict not in VERDICTS:
        raise typer.BadParameter(f"--verdict must be one of {', '.join(VERDICTS)}")

    if out is None:
        label = policy.split(":", 1)[0]
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        out = Path("runs/eval") / f"{label}-{split}-{stamp}"
    try:
        result = run_eval(
            policy,
            split=split,
            data=data,
            limit=limit,
            seed=seed,
            out_dir=out,
            model_path=model_path,
            api_key=api_key,
            admin_key=admin_key,
            max_new_tokens=max_new_tokens,
            batch_size=batch_size,
            threshold=threshold,
            rewards=reward,
            concurrency=concurrency,
            threads=threads,
            progress=progress,
            engine=engine,
            verdict=verdict,
        )
    except (PolicySpecError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    report = result.report
    typer.echo(
        f"\n{report['policy']} on {split}: {report['overall']['n']} examples, "
        f"all constraints satisfied by {report['overall']['all_satisfied']:.1%}\n"
    )
    typer.echo(overall_markdown(report))
    typer.echo(f"\nWrote {', '.join(str(p) for p in result.paths.values())}")


def register(root: typer.Typer) -> None:
    """Attach `more eval` to the root app."""
    root.command("eval")(eval_command)
