"""Serving load, side by side in one run: raw vLLM, our API on the base model, with each
shipped adapter, with both adapters in the A/B, merged weights, and with the reply guard.

Every target serves the same chat requests (demo shoppers, a phone in view, credit
questions), greedy with the same `max_tokens`, at each concurrency level (default 1, 8,
32). One server runs at a time (the CPU is shared); the machine's load average is
recorded at the start of every level. Per target and level: requests/s, generated
tokens/s, latency p50/p95, milliseconds per generated token, and, from the API's own
`Server-Timing` spans, the non-generation time (everything but `generate` and the guard's
`resample`) p50/p95 and the guard's own time (its checks, without the resampling; also
for the turns whose first reply passed). At concurrency 1 a few requests also go over SSE
to time the first token. Guard targets also report the share of replies the guard
replaced, per policy, from the service's metrics.

    .venv/bin/python benchmarks/serve_load.py                         # every target, 1/8/32
    .venv/bin/python benchmarks/serve_load.py --targets vllm-base api-base --concurrency 1 8
    .venv/bin/python benchmarks/serve_load.py --engine-env VLLM_CPU_OMP_THREADS_BIND=0 \
        --label bind-one-core --targets api-more

Targets:

    vllm-base        vLLM's own server (what `vllm serve` runs), base model, no API
    api-base         our API, base model, guard off
    api-sft          our API, `models/sft` as the only policy in a LoRA slot, guard off
    api-more         our API, `models/more` as the only policy in a LoRA slot, guard off
    api-ab           our API, the `sft-vs-more` A/B as `make run` starts it with
                     MORE_DEFAULT_EXPERIMENT=true: each adapter merged into its own engine
                     (one core each), guard off
    api-ab-slots     the same A/B with both adapters in LoRA slots of one engine, guard off
    api-more-merged  our API, `models/more` merged into the weights, guard off
    api-more-guard   what `make run` serves: `models/more` merged, guard enforcing
    api-base-guard   our API, base model, guard enforcing
    api-sft-guard    our API, `models/sft` in a LoRA slot, guard enforcing

Results: JSON + markdown + PNG in `benchmarks/results/serve_load-<label>-<time>.*`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
NO_ADAPTERS = "/nonexistent/no-shipped-adapters"  # keeps the embedded A/B from starting

from _harness import free_port, server_process, wait_ready  # noqa: E402  (this folder)

QUESTIONS = (
    "Can I pay for this phone in instalments?",
    "Does this phone fit my available credit?",
    "How much would I pay per month for this phone?",
    "Can I buy this phone on monthly payments?",
)
PHONE = {"items": [{"title": "Pixel 9 phone", "price": "299.00"}]}


DEFAULT_TARGETS = [
    "vllm-base",
    "api-base",
    "api-more",
    "api-more-merged",
    "api-ab",
    "api-more-guard",
]


@dataclass(frozen=True)
class Target:
    kind: str  # "api" | "vllm"
    env: dict[str, str] = field(default_factory=dict)
    guard: bool = False


def _targets(models: Path) -> dict[str, Target]:
    sft, more = str(models / "sft"), str(models / "more")
    off = {"MORE_GUARD_MODE": "off"}
    enforce = {"MORE_GUARD_MODE": "enforce"}
    only = {"MORE_ADAPTERS_DIR": NO_ADAPTERS}
    slot = {**only, "MORE_MERGE_ADAPTER": "false"}  # the adapter in a LoRA slot
    merged = {**only, "MORE_MERGE_ADAPTER": "true", "MORE_ADAPTER_PATH": more}
    ab = {"MORE_ADAPTERS_DIR": str(models), "MORE_DEFAULT_EXPERIMENT": "true"}
    ab_slots = {**ab, "MORE_MERGE_ADAPTER": "false"}
    return {
        "vllm-base": Target("vllm"),
        "api-base": Target("api", {**off, **only}),
        "api-sft": Target("api", {**off, **slot, "MORE_ADAPTER_PATH": sft}),
        "api-more": Target("api", {**off, **slot, "MORE_ADAPTER_PATH": more}),
        "api-ab": Target("api", {**off, **ab}),
        "api-ab-slots": Target("api", {**off, **ab_slots}),
        "api-more-merged": Target("api", {**off, **merged}),
        "api-more-guard": Target("api", {**enforce, **merged}, guard=True),
        "api-base-guard": Target("api", {**enforce, **only}, guard=True),
        "api-sft-guard": Target("api", {**enforce, **slot, "MORE_ADAPTER_PATH": sft}, guard=True),
    }


@dataclass
class Level:
    """One target at one concurrency level."""

    target: str
    concurrency: int
    requests: int
    ok: int
    errors: int
    wall_s: float
    req_per_s: float
    tok_per_s: float
    completion_tokens: int
    latency_p50_ms: float
    latency_p95_ms: float
    ms_per_token_p50: float | None
    load_1m: float
    non_generation_p50_ms: float | None = None
    non_generation_p95_ms: float | None = None
    guard_p95_ms: float | None = None  # the guard's checks, its resampling excluded
    guard_first_passed_p95_ms: float | None = None  # turns whose first reply passed
    spans_p50_ms: dict[str, float] = field(default_factory=dict)
    spans_p95_ms: dict[str, float] = field(default_factory=dict)
    ttft_p50_ms: float | None = None  # SSE, first delta (concurrency 1 only)
    ttft_p95_ms: float | None = None
    interventions: dict[str, dict[str, float]] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--targets",
        nargs="+",
        default=DEFAULT_TARGETS,
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests-factor", type=int, default=2, help="requests = factor x c")
    parser.add_argument("--min-requests", type=int, default=8)
    parser.add_argument("--sse-requests", type=int, default=8, help="SSE requests at c=1")
    parser.add_argument("--max-tokens", type=int, default=48, help="reply cap (greedy)")
    parser.add_argument("--models", type=Path, default=ROOT / "models")
    parser.add_argument("--max-num-seqs", type=int, default=64)
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.2)
    parser.add_argument(
        "--engine-env", nargs="*", default=[], help="KEY=VALUE for every server (engine knobs)"
    )
    parser.add_argument("--label", default="all", help="names the result files")
    parser.add_argument("--startup-timeout-s", type=float, default=900.0)
    parser.add_argument("--request-timeout-s", type=float, default=600.0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    return parser


# --- servers ------------------------------------------------------------------------------


def _engine_env(args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["HF_HUB_OFFLINE"] = "1"
    for item in args.engine_env:
        key, _, value = item.partition("=")
        env[key] = value
    return env


@contextlib.asynccontextmanager
async def _serve(name: str, target: Target, args: argparse.Namespace, workdir: Path):  # type: ignore[no-untyped-def]
    port = free_port()
    log = workdir / f"{name}.log"
    env = _engine_env(args)
    if target.kind == "vllm":
        from app.engine.bundled import resolve_model_path

        cmd = [
            sys.executable, "-m", "vllm.entrypoints.launchers.api_server.entry",
            "--model", str(resolve_model_path(None)), "--port", str(port), "--dtype", "float32",
            "--max-model-len", "2048", "--max-num-seqs", str(args.max_num_seqs),
            "--gpu-memory-utilization", str(args.gpu_memory_utilization), "--seed", "0",
            "--disable-log-stats", "--served-model-name", "bench",
        ]  # fmt: skip
        ready = "/health"
    else:
        env.update(
            MORE_DATA_DIR=str(workdir / f"{name}-data"),
            MORE_ENGINE="vllm",
            MORE_MAX_TOKENS=str(args.max_tokens),
            MORE_TEMPERATURE="0",
            MORE_MAX_NUM_SEQS=str(args.max_num_seqs),
            MORE_GPU_MEMORY_UTILIZATION=str(args.gpu_memory_utilization),
            MORE_MAX_QUEUE=str(max(256, 4 * max(args.concurrency))),
            MORE_RATE_LIMIT_PER_KEY="1000000",
            MORE_RATE_LIMIT_PER_SESSION="1000000",
            MORE_GENERATION_TIMEOUT_S=str(args.request_timeout_s),
            MORE_LOG_LEVEL="WARNING",
        )
        for key in ("MORE_ADAPTER_PATH", "MORE_MODEL_PATH", "MORE_POLICY_VERSION"):
            env.pop(key, None)
        env.update(target.env)
        more = str(VENV_BIN / "more")
        for step in (["db", "upgrade"], ["seed-demo"]):
            subprocess.run([more, *step], env=env, check=True, cwd=ROOT, capture_output=True)
        cmd = [more, "serve", "--port", str(port)]
        ready = "/readyz"
    # The port is free when picked but may be taken before the server binds it (engine
    # processes of the previous target open ports while they shut down): pick another.
    for attempt in range(3):
        print(f"[{time.strftime('%H:%M:%S')}] starting {name} on :{port} (log {log})", flush=True)
        with server_process(cmd, env, log, ROOT) as proc:
            base = f"http://127.0.0.1:{port}"
            try:
                await wait_ready(base + ready, proc, args.startup_timeout_s)
            except RuntimeError:
                if attempt == 2 or "address already in use" not in log.read_text():
                    raise
                new_port = free_port()
                cmd = [str(new_port) if c == str(port) else c for c in cmd]
                port = new_port
                continue
            yield base
            return


# --- load ---------------------------------------------------------------------------------


def _jobs(n: int) -> list[tuple[str, str, list[dict[str, str]]]]:
    """`n` requests: (shopper, question, the prompt the API builds) over the demo shoppers."""
    from app.domain.profile import StorefrontContext
    from app.domain.prompt import build_messages
    from app.services.demo import DEMO_CASES

    context = StorefrontContext.model_validate(PHONE)
    jobs = []
    for i in range(n):
        profile = DEMO_CASES[i % len(DEMO_CASES)].profile
        question = QUESTIONS[i % len(QUESTIONS)]
        messages = [dict(m) for m in build_messages(profile, context, [], question)]
        jobs.append((profile.user_id, question, messages))
    return jobs


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def _request(client: Any, kind: str, job: tuple, args: argparse.Namespace) -> dict:
    from app.core.timing import parse_header
    from more_client import MoreApiError

    user_id, question, messages = job
    start = time.perf_counter()
    try:
        if kind == "api":
            response = await client.request(
                "POST", "/v1/chat", json={"user_id": user_id, "message": question, "context": PHONE}
            )
        else:
            response = await client.post(
                "/v1/chat/completions",
                json={
                    "model": "bench",
                    "messages": messages,
                    "max_tokens": args.max_tokens,
                    "temperature": 0.0,
                },
            )
            response.raise_for_status()
    except (MoreApiError, Exception) as exc:  # a benchmark records failures, it does not stop
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:200]}
    latency = time.perf_counter() - start
    body = response.json()
    tokens = int(body["usage"]["completion_tokens"])
    return {
        "ok": True,
        "latency_ms": latency * 1000,
        "tokens": tokens,
        "spans": parse_header(response.headers.get("server-timing", "")),
    }


async def _guard_counts(client: Any) -> dict[tuple[str, str], float]:
    from prometheus_client.parser import text_string_to_metric_families

    text = (await client.request("GET", "/metrics")).text
    counts: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "more_guard_interventions":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    key = (sample.labels["policy"], sample.labels["kind"])
                    counts[key] = counts.get(key, 0.0) + sample.value
    return counts


async def _level(
    name: str, target: Target, base: str, concurrency: int, args: argparse.Namespace
) -> Level:
    import httpx

    from more_client import AsyncMoreClient, RetryPolicy

    n = max(args.min_requests, args.requests_factor * concurrency)
    jobs = _jobs(n)
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency)
    if target.kind == "api":
        client: Any = AsyncMoreClient(
            base,
            "demo-storefront-key",
            timeout_s=args.request_timeout_s,
            retry=RetryPolicy(max_attempts=1),  # record each failure as it happened
            limits=limits,
        )
    else:
        client = httpx.AsyncClient(base_url=base, timeout=args.request_timeout_s, limits=limits)
    async with client:
        await asyncio.gather(*(_request(client, target.kind, j, args) for j in jobs[:2]))  # warm
        before = await _guard_counts(client) if target.guard else {}
        queue: asyncio.Queue[tuple] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)
        results: list[dict] = []

        async def worker() -> None:
            while not queue.empty():
                results.append(await _request(client, target.kind, queue.get_nowait(), args))

        load_1m = os.getloadavg()[0]
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
        interventions: dict[str, dict[str, float]] = {}
        if target.guard:
            after = await _guard_counts(client)
            by_policy: dict[str, dict[str, float]] = {}
            for (policy, kind), value in after.items():
                by_policy.setdefault(policy, {})[kind] = value - before.get((policy, kind), 0)
            for policy, kinds in by_policy.items():
                total = sum(kinds.values())
                if total:
                    interventions[policy] = {k: round(v / total, 3) for k, v in kinds.items()}
        ttft: list[float] = []
        if concurrency == 1 and target.kind == "api" and args.sse_requests:
            for user_id, question, _ in jobs[: args.sse_requests]:
                t0 = time.perf_counter()
                async for event, _data in client.stream_chat(
                    user_id=user_id, message=question, context=PHONE
                ):
                    if event in ("delta", "error", "done"):
                        ttft.append((time.perf_counter() - t0) * 1000)
                        break

    ok = [r for r in results if r["ok"]]
    latencies = sorted(r["latency_ms"] for r in ok)
    tokens = sum(r["tokens"] for r in ok)
    per_token = sorted(r["latency_ms"] / r["tokens"] for r in ok if r["tokens"])

    # "resample" (the guard's extra generation) runs inside "guard": both are engine time
    # for the one, checks for the other, so the guard's own time is guard - resample.
    def own(spans: dict[str, float], key: str) -> float:
        return spans[key] - (spans.get("resample", 0.0) if key == "guard" else 0.0)

    generation_spans = ("generate", "resample")
    non_gen = sorted(
        sum(own(r["spans"], k) for k in r["spans"] if k not in generation_spans)
        for r in ok
        if r["spans"]
    )
    guard = sorted(own(r["spans"], "guard") for r in ok if "guard" in r["spans"])
    first_passed = sorted(
        r["spans"]["guard"] for r in ok if "guard" in r["spans"] and "resample" not in r["spans"]
    )
    names = sorted({k for r in ok for k in r["spans"]})
    spans = {k: sorted(r["spans"][k] for r in ok if k in r["spans"]) for k in names}
    rnd = lambda v, d=1: None if v is None else round(v, d)  # noqa: E731
    return Level(
        target=name,
        concurrency=concurrency,
        requests=n,
        ok=len(ok),
        errors=n - len(ok),
        wall_s=round(wall, 2),
        req_per_s=round(len(ok) / wall, 3),
        tok_per_s=round(tokens / wall, 2),
        completion_tokens=tokens,
        latency_p50_ms=rnd(_pct(latencies, 50)) or 0.0,
        latency_p95_ms=rnd(_pct(latencies, 95)) or 0.0,
        ms_per_token_p50=rnd(_pct(per_token, 50), 2),
        load_1m=round(load_1m, 2),
        non_generation_p50_ms=rnd(_pct(non_gen, 50), 2),
        non_generation_p95_ms=rnd(_pct(non_gen, 95), 2),
        guard_p95_ms=rnd(_pct(guard, 95), 3),
        guard_first_passed_p95_ms=rnd(_pct(first_passed, 95), 3),
        spans_p50_ms={k: rnd(_pct(v, 50), 2) for k, v in spans.items()},  # type: ignore[misc]
        spans_p95_ms={k: rnd(_pct(v, 95), 2) for k, v in spans.items()},  # type: ignore[misc]
        ttft_p50_ms=rnd(_pct(sorted(ttft), 50)),
        ttft_p95_ms=rnd(_pct(sorted(ttft), 95)),
        interventions=interventions,
        error_samples=[r["error"] for r in results if not r["ok"]][:3],
    )


# --- report -------------------------------------------------------------------------------


def _fmt(v: Any, d: int = 0) -> str:
    return "–" if v is None else f"{v:.{d}f}"


def markdown(levels: list[Level], meta: dict[str, Any]) -> str:
    by = {(lv.target, lv.concurrency): lv for lv in levels}
    lines = [
        f"{meta['machine']}; max_tokens {meta['max_tokens']} (greedy); engine env "
        f"{meta['engine_env'] or 'default'}.",
        "",
        "| target | c | tok/s | req/s | p50 ms | p95 ms | ms/token p50 | non-gen p50/p95 ms "
        "| guard checks p95 ms (first reply passed) | TTFT p50 ms | errors | vs base tok/s "
        "| load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for lv in levels:
        base = by.get(("api-base", lv.concurrency)) or by.get(("vllm-base", lv.concurrency))
        ratio = f"{lv.tok_per_s / base.tok_per_s:.2f}" if base and base.tok_per_s else "–"
        lines.append(
            f"| {lv.target} | {lv.concurrency} | {lv.tok_per_s:.1f} | {lv.req_per_s:.2f} "
            f"| {lv.latency_p50_ms:.0f} | {lv.latency_p95_ms:.0f} | {_fmt(lv.ms_per_token_p50, 1)} "
            f"| {_fmt(lv.non_generation_p50_ms, 1)} / {_fmt(lv.non_generation_p95_ms, 1)} "
            f"| {_fmt(lv.guard_p95_ms, 2)} ({_fmt(lv.guard_first_passed_p95_ms, 2)}) "
            f"| {_fmt(lv.ttft_p50_ms)} | {lv.errors} | {ratio} "
            f"| {lv.load_1m:.1f} |"
        )
    notes = []
    for c in sorted({lv.concurrency for lv in levels}):
        api, raw = by.get(("api-base", c)), by.get(("vllm-base", c))
        if api and raw and raw.tok_per_s:
            notes.append(f"API/raw vLLM tok/s at c={c}: {api.tok_per_s / raw.tok_per_s:.2f}")
    for lv in levels:
        if lv.interventions:
            shares = "; ".join(
                f"{p}: " + ", ".join(f"{k} {v:.0%}" for k, v in sorted(kinds.items()))
                for p, kinds in lv.interventions.items()
            )
            notes.append(f"guard at c={lv.concurrency} ({lv.target}): {shares}")
    return "\n".join(lines + ([""] + [f"* {n}" for n in notes] if notes else [])) + "\n"


def plot(levels: list[Level], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for name in dict.fromkeys(lv.target for lv in levels):
        pts = sorted((lv.concurrency, lv) for lv in levels if lv.target == name)
        xs = [c for c, _ in pts]
        axes[0].plot(xs, [lv.tok_per_s for _, lv in pts], marker="o", label=name)
        axes[1].plot(xs, [lv.latency_p50_ms / 1000 for _, lv in pts], marker="o", label=name)
        axes[2].plot(xs, [lv.latency_p95_ms / 1000 for _, lv in pts], marker="o", label=name)
    titles = ("generated tokens/s", "latency p50 (s)", "latency p95 (s)")
    for ax, title in zip(axes, titles, strict=True):
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted({lv.concurrency for lv in levels}))
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel("concurrent shoppers")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


async def _bench(args: argparse.Namespace, workdir: Path) -> list[Level]:
    from tqdm import tqdm

    targets = _targets(args.models)
    unknown = set(args.targets) - set(targets)
    if unknown:
        raise SystemExit(f"unknown targets {sorted(unknown)}; see --help")
    levels: list[Level] = []
    with tqdm(total=len(args.targets) * len(args.concurrency), desc="levels") as bar:
        for name in args.targets:
            target = targets[name]
            async with _serve(name, target, args, workdir) as base:
                for c in args.concurrency:
                    level = await _level(name, target, base, c, args)
                    levels.append(level)
                    bar.write(
                        f"  {name:<16} c={c:<3} {level.tok_per_s:7.1f} tok/s  p50 "
                        f"{level.latency_p50_ms:7.0f} ms  p95 {level.latency_p95_ms:7.0f} ms  "
                        f"errors {level.errors}  load {level.load_1m:.1f}"
                    )
                    bar.update(1)
    return levels


def main(argv: list[str] | None = None) -> None:
    args = make_parser().parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="serve-load-"))
    started = time.strftime("%Y%m%d-%H%M%S")
    try:
        levels = asyncio.run(_bench(args, workdir))
    except BaseException:
        print(f"failed; server logs kept in {workdir}", file=sys.stderr)
        raise
    meta = {
        "started": started,
        "label": args.label,
        "max_tokens": args.max_tokens,
        "concurrency": args.concurrency,
        "engine_env": " ".join(args.engine_env),
        "machine": f"{os.cpu_count()} CPU cores, no GPU",
        "command": " ".join([Path(sys.argv[0]).as_posix(), *(argv or sys.argv[1:])]),
        "logs": str(workdir),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"serve_load-{args.label}-{started}"
    stem.with_suffix(".json").write_text(
        json.dumps({"meta": meta, "levels": [asdict(lv) for lv in levels]}, indent=2) + "\n"
    )
    table = markdown(levels, meta)
    stem.with_suffix(".md").write_text(table)
    plot(levels, stem.with_suffix(".png"))
    print("\n" + table)
    print(f"wrote {stem}.json, .md and .png; server logs in {workdir}")


if __name__ == "__main__":  # vLLM spawns processes: keep the guard
    main()
