"""The retraining job: export logs -> mix with generated data -> MORE from the current
policy's adapter -> evaluate on dev -> register a new, unpromoted policy version.

Everything lands in `out` (default `runs/retrain/<UTC timestamp>`):

    data/logged.jsonl        exported turns with provenance and outcome labels
    data/train.jsonl         the training mix (logged + generated), shuffled
    data/dev.jsonl           the dev split (logged sessions held out by hash)
    more/                    the MORE run (run_config.yaml, metrics.jsonl, plots, adapter/)
    eval/{new,base}/         evaluation reports of the new and the current policy on dev
    dev_comparison.png       base vs new on dev
    summary.json, summary.md what happened, including the registered version

Registration goes through the admin API (`POST /v1/policies`), so the running service
hot-loads the adapter; promotion stays a human decision (`POST /v1/policies/{name}/promote`).
Every call to the service goes through `more_client.AsyncMoreClient`. The database is read
through `app.store` only: the logs (`training.retrain.export`, no endpoint serves them) and,
when no service URL is given, the registered policy versions.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.data.schema import Split, TaskExample
from training.retrain.report import headline, plot_comparison, render_summary
from training.retrain.versions import BasePolicy, RetrainError, resolve_base_policy

if TYPE_CHECKING:
    from more_client import AsyncMoreClient

DEFAULT_CONFIG = Path("training/configs/retrain.yaml")


@dataclass
class RetrainConfig:
    """Settings of one `more retrain` run.

    Parameters:
        base_policy: a registered policy version name, `promoted` (the version promoted now),
            or a PEFT adapter folder: MORE starts from this adapter and its frozen copy is
            the KL reference.
        out: run folder; default `runs/retrain/<UTC timestamp>`.
        database_url: the service's database; default: the service's Settings.
        steps: MORE optimiser steps.
        config: run YAML (RunArgs + MoreConfig keys) the job starts from.
        overrides: extra config keys (win over the YAML and the job's own settings).
        model_path: base model folder (default: the config's, else the bundled SmolLM2).
        generated_ratio: generated examples added per logged training row (forgetting guard).
        generated_data: TaskExample JSONL to draw them from; default: generate with
            `generated_seed` (disjoint from the shipped splits' seed 0).
        dev_fraction: share of logged sessions held out as dev (by session-id hash).
        negative_repeat: times each turn of a badly-ended session appears in the mix.
        exclude_simulated: drop sessions with simulator-sourced outcome events.
        since: only sessions active at or after this time.
        max_sessions: read at most this many sessions (oldest first).
        min_examples: refuse to train on fewer logged training rows than this.
        eval_limit: dev examples evaluated per policy.
        eval_max_new_tokens: reply budget in the evaluation.
        eval_rewards: reward names evaluated (default: all reasoning + linguistic).
        compare_base: evaluate the current policy on the same dev split too.
        register_url: the service's base URL (`http://host:8000`); unset: no registration.
        admin_key: admin API key for the registry.
        name: the new version's name; default `retrain-<timestamp>`.
        seed: seeds the mix, references and generated data.
    """

    base_policy: str
    out: Path | None = None
    database_url: str | None = None
    steps: int = 20
    config: Path = DEFAULT_CONFIG
    overrides: dict[str, Any] = field(default_factory=dict)
    model_path: str | None = None
    generated_ratio: float = 1.0
    generated_data: Path | None = None
    generated_seed: int = 1
    dev_fraction: float = 0.1
    negative_repeat: int = 2
    exclude_simulated: bool = False
    since: datetime | None = None
    max_sessions: int | None = None
    min_examples: int = 1
    eval_limit: int = 100
    eval_max_new_tokens: int = 64
    eval_rewards: list[str] | None = None
    compare_base: bool = True
    register_url: str | None = None
    admin_key: str | None = None
    name: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.out = Path(self.out) if self.out else Path("runs/retrain") / stamp
        self.name = self.name or f"retrain-{stamp}"
        if self.steps < 1:
            raise ValueError("steps must be >= 1")
        if not 0.0 <= self.dev_fraction < 1.0:
            raise ValueError("dev_fraction must be in [0, 1)")
        if self.generated_ratio < 0:
            raise ValueError("generated_ratio must be >= 0 (0: logged data only)")
        if self.register_url and not self.admin_key:
            raise ValueError("--register-url needs --admin-key (the registry is admin-only)")


@dataclass
class RetrainSummary:
    name: str
    out: str
    base_policy: str
    base_adapter: str
    adapter: str
    export: dict[str, Any]
    mix: dict[str, int]
    training: dict[str, Any]
    evaluation: dict[str, Any]
    registered: dict[str, Any] | None
    wall_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- steps ----------------------------------------------------------------------------


def generated_examples(cfg: RetrainConfig, n: int) -> list[TaskExample]:
    """`n` generated task examples (a seeded sample of a file, or freshly generated)."""
    if n <= 0:
        return []
    if cfg.generated_data is not None:
        from training.data.ecommerce.io import load_split

        pool = load_split(cfg.generated_data)
        return random.Random(cfg.seed).sample(pool, min(n, len(pool)))
    from training.data.ecommerce.generator import generate_split

    return generate_split(Split.TRAIN, n, seed=cfg.generated_seed)


def write_jsonl(examples: list[TaskExample], path: Path) -> None:
    from training.data.ecommerce.io import write_split

    write_split(examples, path)


def _train(cfg: RetrainConfig, base: BasePolicy, train_file: Path) -> dict[str, Any]:
    from training.more.run import load_run, train_more

    out = Path(cfg.out)  # type: ignore[arg-type]
    overrides: dict[str, Any] = {
        "train_file": str(train_file),
        "max_train_examples": None,
        "output_dir": str(out / "more"),
        "max_steps": cfg.steps,
        "scaffold_path": str(base.adapter_path),
        "eval_after": False,  # the job evaluates on its own dev split below
        "seed": cfg.seed,
    }
    if cfg.model_path:
        overrides["model_name_or_path"] = cfg.model_path
    overrides.update(cfg.overrides)
    run, more_cfg = load_run(cfg.config, "more", overrides)
    return train_more(run, more_cfg)


def _evaluate(
    cfg: RetrainConfig, adapter: Path, data_dir: Path, out_dir: Path, model_path: str | None
) -> dict[str, Any]:
    from training.eval.runner import run_eval

    result = run_eval(
        f"adapter:{adapter}",
        split="dev",
        data=data_dir,
        limit=cfg.eval_limit,
        seed=cfg.seed,
        out_dir=out_dir,
        model_path=model_path,
        max_new_tokens=cfg.eval_max_new_tokens,
        rewards=cfg.eval_rewards,
    )
    return result.report["overall"]


async def register(
    api: AsyncMoreClient,
    *,
    name: str,
    adapter: Path,
    details: dict[str, Any],
    metrics: dict[str, Any],
) -> dict[str, Any]:
    """`POST /v1/policies`: the service hot-loads the adapter; the version is not promoted.

    Raises:
        RetrainError: the registry refused the version (name taken, bad adapter, key).
    """
    from more_client import MoreApiError

    try:
        return await api.register_policy(
            name=name, adapter_path=str(adapter.resolve()), details=details, metrics=metrics
        )
    except MoreApiError as exc:
        raise RetrainError(
            f"registration of {name!r} refused ({exc.status}): {exc.message}"
        ) from exc


# --- the job --------------------------------------------------------------------------


async def retrain(
    cfg: RetrainConfig, *, api: AsyncMoreClient | None = None, progress: bool = True
) -> RetrainSummary:
    """Run the whole job. `api` (tests: a client on the app in process, with its own keys)
    overrides `cfg.register_url` and `cfg.admin_key`."""
    import time

    from tqdm.auto import tqdm

    from more_client import AsyncMoreClient, RetryPolicy
    from training.retrain.export import export_logs, gold_action_counts, training_rows

    started = time.perf_counter()
    out = Path(cfg.out)  # type: ignore[arg-type]
    out.mkdir(parents=True, exist_ok=True)
    data_dir = out / "data"
    if cfg.database_url is None:
        from app.core.config import Settings

        cfg.database_url = Settings().database_url
    owned: AsyncMoreClient | None = None
    if api is None and cfg.register_url:
        # Reads are safe to repeat, so a flaky link is retried; the registration POST only
        # when the service answered 429/503 or the connection never opened (more_client.retry).
        api = owned = AsyncMoreClient(
            cfg.register_url,
            admin_key=cfg.admin_key,
            timeout_s=300,  # registration loads the adapter into the engine
            retry=RetryPolicy(server_errors=True, transport_errors=True),
        )
    stages = tqdm(total=6, desc="retrain", unit="stage", disable=not progress)
    try:
        stages.set_postfix_str("resolve base policy")
        base = await resolve_base_policy(cfg.base_policy, api=api, database_url=cfg.database_url)
        stages.update()

        stages.set_postfix_str("export logs")
        exported = await export_logs(
            cfg.database_url,
            data_dir,
            since=cfg.since,
            max_sessions=cfg.max_sessions,
            exclude_simulated=cfg.exclude_simulated,
            dev_fraction=cfg.dev_fraction,
            seed=cfg.seed,
            progress=progress,
        )
        logged_rows = training_rows(exported.examples, cfg.negative_repeat)
        if len(logged_rows) < cfg.min_examples:
            raise RetrainError(
                f"only {len(logged_rows)} logged training rows (need {cfg.min_examples}): "
                f"export stats {json.dumps(exported.stats.as_dict())}"
            )
        stages.update()

        stages.set_postfix_str("mix with generated data")
        generated = await asyncio.to_thread(
            generated_examples, cfg, round(cfg.generated_ratio * len(logged_rows))
        )
        mix = [*logged_rows, *generated]
        random.Random(cfg.seed).shuffle(mix)
        write_jsonl(mix, data_dir / "train.jsonl")
        dev = [e.example for e in exported.examples if e.example.split is Split.DEV]
        dev_source = "logged"
        if not dev:  # too few sessions to hold any out: a generated dev sample instead
            from training.data.ecommerce.generator import generate_split

            dev = generate_split(Split.DEV, max(cfg.eval_limit, 1), seed=cfg.generated_seed)
            dev_source = "generated (no logged session fell in dev)"
        write_jsonl(dev, data_dir / "dev.jsonl")
        stages.update()

        stages.set_postfix_str(f"MORE ({cfg.steps} steps)")
        training = await asyncio.to_thread(_train, cfg, base, data_dir / "train.jsonl")
        adapter = Path(training["adapter"])
        stages.update()

        stages.set_postfix_str("evaluate on dev")
        model_path = cfg.model_path or cfg.overrides.get("model_name_or_path")
        new_eval = await asyncio.to_thread(
            _evaluate, cfg, adapter, data_dir, out / "eval" / "new", model_path
        )
        evaluation: dict[str, Any] = {"dev_source": dev_source, "new": headline(new_eval)}
        if cfg.compare_base:
            base_eval = await asyncio.to_thread(
                _evaluate, cfg, base.adapter_path, data_dir, out / "eval" / "base", model_path
            )
            evaluation["base"] = headline(base_eval)
            evaluation["plot"] = str(
                plot_comparison(evaluation["base"], evaluation["new"], out / "dev_comparison.png")
            )
        stages.update()

        registered = None
        if api is not None:
            stages.set_postfix_str("register (not promoted)")
            registered = await register(
                api,
                name=cfg.name,  # type: ignore[arg-type]
                adapter=adapter,
                details={
                    "trained_from": base.name,
                    "run": str(out),
                    "kind": "retrain",
                    "steps": training.get("steps"),
                    "logged_rows": len(logged_rows),
                    "generated_rows": len(generated),
                    "sessions": exported.stats.sessions,
                },
                metrics={"dev": evaluation["new"], "dev_base": evaluation.get("base")},
            )
        stages.update()
    finally:
        stages.close()
        if owned is not None:
            await owned.aclose()

    summary = RetrainSummary(
        name=cfg.name,  # type: ignore[arg-type]
        out=str(out),
        base_policy=base.name,
        base_adapter=str(base.adapter_path),
        adapter=str(adapter),
        export={
            **exported.stats.as_dict(),
            "gold_actions": gold_action_counts(exported.examples),
        },
        mix={"logged_rows": len(logged_rows), "generated_rows": len(generated), "dev": len(dev)},
        training={k: training.get(k) for k in ("steps", "wall_seconds", "final", "plots")},
        evaluation=evaluation,
        registered=registered,
        wall_seconds=round(time.perf_counter() - started, 1),
    )
    (out / "summary.json").write_text(json.dumps(summary.as_dict(), indent=2, default=str))
    (out / "summary.md").write_text(render_summary(summary))
    return summary
