"""`more simulate`: simulated shoppers against a running service, with an A/B summary."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Annotated

import typer

from training.data.schema import Split


def simulate(
    url: Annotated[str, typer.Option(help="Base URL of the running service.")] = (
        "http://127.0.0.1:8000"
    ),
    api_key: Annotated[
        str, typer.Option(envvar="MORE_DEMO_API_KEY", help="Storefront API key.")
    ] = "demo-storefront-key",
    admin_key: Annotated[
        str,
        typer.Option(envvar="MORE_ADMIN_API_KEY", help="Admin key (profiles, the report)."),
    ] = "demo-admin-key",
    sessions: Annotated[int, typer.Option(min=1, help="Simulated sessions.")] = 200,
    seed: Annotated[int, typer.Option(help="Seeds tasks, the oracle split and outcomes.")] = 0,
    concurrency: Annotated[int, typer.Option(min=1, help="Sessions in flight.")] = 4,
    oracle_share: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Share of sessions answered with gold replies (oracle arm)."
        ),
    ] = 0.0,
    split: Annotated[Split, typer.Option(help="Task split the shoppers come from.")] = (Split.TEST),
    experiment: Annotated[
        str, typer.Option(help="Experiment whose server report is fetched at the end.")
    ] = "sft-vs-more",
    baseline: Annotated[
        str | None,
        typer.Option(help="Variant the oracle lift is measured from (default: first seen)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default runs/simulate/<time>).")
    ] = None,
    timeout_s: Annotated[float, typer.Option(help="Per-request timeout, seconds.")] = 120.0,
) -> None:
    """SIMULATION: drive the live API with simulated shoppers and emit outcome events."""
    import httpx
    from tqdm import tqdm

    from more_client import AsyncMoreClient
    from training.simulate.driver import SimulationConfig, run_simulation
    from training.simulate.judge import reasoning_judge
    from training.simulate.summary import oracle_recovery, plot_arms, summarise, to_dict
    from training.simulate.summary import to_markdown as summary_markdown
    from training.simulate.tasks import simulation_tasks

    config = SimulationConfig(
        sessions=sessions, seed=seed, concurrency=concurrency, oracle_share=oracle_share
    )
    out = out or Path("runs/simulate") / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    typer.echo(f"SIMULATION against {url}: {sessions} sessions, seed {seed} -> {out}")
    tasks = simulation_tasks(min(sessions, 2000), seed=seed, split=split)
    judge = reasoning_judge()

    async def main() -> tuple:
        async with AsyncMoreClient(
            url,
            api_key,
            admin_key=admin_key,
            timeout_s=httpx.Timeout(timeout_s, connect=10.0),
            retry=config.retry_policy(),
        ) as api:
            with tqdm(total=sessions, desc="simulated sessions", unit="session") as bar:
                result = await run_simulation(
                    api,
                    tasks,
                    config=config,
                    judge=judge,
                    on_session=lambda _: bar.update(1),
                )
            report = png = None
            try:
                report = await api.experiment_report(experiment)
                png = await api.experiment_report_png(experiment)
            except Exception as exc:  # the local summary is still worth writing
                typer.echo(f"server report unavailable: {exc}", err=True)
            return result, report, png

    result, report, png = asyncio.run(main())
    arms = summarise(result)
    text = summary_markdown(result, arms)
    data = to_dict(result, arms)
    variants = [a for a in arms if a != "oracle"]
    base = baseline or (variants[0] if variants else None)
    for variant in variants:
        if base and variant != base:
            share = oracle_recovery(arms, baseline=base, variant=variant)
            if share is not None:
                text += (
                    f"\n\n`{variant}` recovers {share:.0%} of the oracle's conversion lift "
                    f"over `{base}`."
                )
                data.setdefault("oracle_recovery", {})[variant] = share
    (out / "summary.md").write_text(text + "\n")
    (out / "summary.json").write_text(json.dumps(data, indent=2, default=str))
    plot_arms(arms, out / "arms.png")
    if report is not None:
        (out / "report.json").write_text(json.dumps(report, indent=2))
        if report.get("markdown"):
            text += "\n\nServer A/B report (from stored events):\n\n" + report["markdown"]
    if png:
        (out / "report.png").write_bytes(png)
    typer.echo(text)
    typer.echo(
        f"\nWrote {out}/summary.md, summary.json, arms.png"
        + (", report.json, report.png" if report is not None else "")
    )
    if result.errors:
        typer.echo(f"{len(result.errors)} sessions failed, e.g. {result.errors[0].error}", err=True)


def register(root: typer.Typer) -> None:
    root.command("simulate")(simulate)
