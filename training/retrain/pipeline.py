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

if TYPE_CHECKING:
    from more_client import AsyncMoreClient

DEFAULT_CONFIG = Path("training/configs/retrain.yaml")
PROMOTED = "promoted"  # `--base-policy promoted`: the version promoted right now
_NOTHING_PROMOTED = (
    "no policy version is promoted (the service runs its configured default): "
    "pass a version name or an adapter folder as --base-policy"
)


class RetrainError(RuntimeError):
    """The job cannot go on (too little data, unknown policy, registration refused)."""


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
class BasePolicy:
    name: str
    adapter_path: Path


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


async def resolve_base_policy(
    spec: str, *, api: AsyncMoreClient | None, database_url: str
) -> BasePolicy:
    """An adapter folder as is; otherwise a registered version, read through the admin API
    when `api` is given, else from the service's database (`app.store.policy_versions`, for
    runs without a service). `promoted` means whichever version is promoted now (what a
    scheduled job wants).

    Raises:
        RetrainError: unknown version, nothing promoted, a bare base model, or the registry
            refused the admin key.
    """
    folder = Path(spec).expanduser()
    if (folder / "adapter_config.json").is_file():
        return BasePolicy(folder.resolve().name, folder.resolve())
    if api is not None:
        version = await _version_via_api(api, spec)
    else:
        version = await _version_via_store(database_url, spec)
    name, adapter = version["name"], version.get("adapter_path")
    if not adapter:
        raise RetrainError(
            f"policy version {name!r} is the bare base model: retraining starts from an adapter "
            "(pass an adapter folder, e.g. a scaffold's, as --base-policy)"
        )
    return BasePolicy(name, Path(adapter))


async def _version_via_api(api: AsyncMoreClient, spec: str) -> dict[str, Any]:
    """The version's registry record (`name`, `adapter_path`, ...) from the admin API."""
    from more_client import MoreApiError

    try:
        if spec != PROMOTED:
            return await api.get_policy(spec)
        listed = await api.list_policies()
    except MoreApiError as exc:
        if exc.status == 404:
            raise RetrainError(
                f"no policy version {spec!r} is registered (and no such folder)"
            ) from exc
        if exc.status in (401, 403):
            raise RetrainError(
                f"the registry refused the admin key ({exc.status}): {exc.message}"
            ) from exc
        raise
    promoted = [v for v in listed["data"] if v["status"] == PROMOTED]
    if not promoted:
        raise RetrainError(_NOTHING_PROMOTED)
    return dict(promoted[0])


async def _version_via_store(database_url: str, spec: str) -> dict[str, Any]:
    """The same record from the registry's repository, for runs without a service."""
    from app.store import policy_versions
    from app.store.db import create_db_engine, create_session_factory

    engine = create_db_engine(database_url, pool_size=1)
    try:
        async with create_session_factory(engine)() as db:
            if spec == PROMOTED:
                version = await policy_versions.promoted(db)
            else:
                version = await policy_versions.get(db, name=spec)
    finally:
        await engine.dispose()
    if version is None:
        if spec == PROMOTED:
            raise RetrainError(_NOTHING_PROMOTED)
        raise RetrainError(f"no policy version {spec!r} is registered (and no such folder)")
    return {"name": version.name, "adapter_path": version.adapter_path}


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


def headline(overall: dict[str, Any]) -> dict[str, float | None]:
    """Flat figures of an evaluation: all-satisfied rate, each constraint, each reward."""
    out: dict[str, float | None] = {"all_satisfied": overall.get("all_satisfied")}
    for name, stats in (overall.get("constraints") or {}).items():
        out[f"constraints/{name}"] = stats.get("satisfied") if isinstance(stats, dict) else stats
    for name, value in (overall.get("linguistic") or {}).items():
        out[f"rewards/{name}"] = value
    tokens = overall.get("reply_tokens") or {}
    out["reply_tokens"] = tokens.get("mean") if isinstance(tokens, dict) else None
    return out


def plot_comparison(base: dict[str, Any], new: dict[str, Any], path: Path) -> Path:
    """Bar chart of base vs new on dev (every figure in [0, 1])."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [
        k
        for k in new
        if k != "reply_tokens"
        and isinstance(new[k], float | int)
        and isinstance(base.get(k), float | int)
    ]
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(keys)), 4))
    xs = range(len(keys))
    ax.bar([x - 0.2 for x in xs], [base[k] for k in keys], width=0.4, label="current policy")
    ax.bar([x + 0.2 for x in xs], [new[k] for k in keys], width=0.4, label="retrained")
    ax.set_xticks(list(xs), [k.split("/")[-1] for k in keys], rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.set_title("Dev split (held-out logged sessions)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


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


def render_summary(summary: RetrainSummary) -> str:
    """The readable end-of-job report (also printed by the CLI)."""
    ex = summary.export
    lines = [
        f"# Retrain {summary.name}",
        "",
        f"- from: {summary.base_policy} ({summary.base_adapter})",
        f"- new adapter: {summary.adapter}",
        f"- sessions read: {ex['sessions']}, user turns: {ex['user_turns']}, "
        f"exported: {ex['exported']} (train {ex['by_split'].get('train', 0)}, "
        f"dev {ex['by_split'].get('dev', 0)}), skipped: {ex['skipped'] or 'none'}",
        f"- sessions with a good / bad outcome: {ex['positive_sessions']} / "
        f"{ex['negative_sessions']}; logged replies promoted to references: "
        f"{ex['logged_references']}",
        f"- training mix: {summary.mix['logged_rows']} logged rows + "
        f"{summary.mix['generated_rows']} generated; {summary.training.get('steps')} MORE steps "
        f"in {summary.training.get('wall_seconds')} s",
        f"- wall time: {summary.wall_seconds} s",
        "",
        f"## Dev evaluation ({summary.evaluation.get('dev_source')})",
        "",
        "| metric | current policy | retrained |",
        "|---|---|---|",
    ]
    new = summary.evaluation.get("new", {})
    base = summary.evaluation.get("base", {})
    for key, value in new.items():
        lines.append(f"| {key} | {_fmt(base.get(key))} | {_fmt(value)} |")
    lines.append("")
    if summary.registered:
        lines += [
            f"Registered as policy version **{summary.registered['name']}** "
            f"(status: {summary.registered['status']}; not promoted).",
            f"Promote it with: `POST /v1/policies/{summary.registered['name']}/promote`.",
        ]
    else:
        lines.append("Not registered (no --register-url).")
    return "\n".join(lines) + "\n"


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)
