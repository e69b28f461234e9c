"""Soak test: the API under steady chat load for a long time, watching for drift.

`--concurrency` shoppers (default 16) chat without end for `--duration-s` (default 30
minutes): sessions of a few turns (`POST /v1/chat` through `AsyncMoreClient`), each
closed with a satisfaction event, a short think time between turns. The server runs in
its own process on a loopback port, on PostgreSQL (a fresh database, dropped after) and
Redis (a private key prefix, removed after), as in production.

* `--engine scripted` (default): a scripted engine inside the API process replies with
  fixed text at a fixed token rate, so the API itself (auth, limits, guard, database,
  cache, serialisation) is what is under load, not the model.
* `--engine vllm`: the real engine (`more serve`, the shipped MORE policy merged into the
  bundled model, as `make run` serves it); 5 minutes by default.

Measured: unexpected errors (any non-2xx or no answer: nothing is retried; a session a
person took over is ended, as a storefront would), the server process's RSS every 5 s
(growth = median of the last quarter of the run over the median of the first quarter
after warm-up; p95 drift likewise), and p50/p95 latency per minute. Results: JSON, a
markdown table and a PNG in `benchmarks/results/soak-<engine>-<time>.*`.

    nice -n 15 .venv/bin/python benchmarks/soak.py                      # 30 min, scripted
    nice -n 15 .venv/bin/python benchmarks/soak.py --duration-s 120     # a smoke run
    nice -n 15 .venv/bin/python benchmarks/soak.py --engine vllm        # 5 min, real engine
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from _harness import (  # noqa: E402
    drop_redis_prefix,
    free_port,
    fresh_database,
    scripted_engine,
    server_process,
    wait_ready,
)

VENV_BIN = Path(sys.executable).parent
QUESTIONS = (
    "Can I pay for this phone in instalments?",
    "Does this phone fit my available credit?",
    "How much would I pay per month over 6 months?",
    "Is my account eligible for buy now, pay later?",
    "Could I split the payment into 3 parts?",
)
CONTEXT = {"items": [{"title": "Pixel 9 phone", "price": "299.00"}]}


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("scripted", "vllm"), default="scripted")
    parser.add_argument(
        "--duration-s", type=float, default=None, help="default: 1800 scripted, 300 vllm"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="shoppers chatting at once")
    parser.add_argument("--turns-per-session", type=int, default=4)
    parser.add_argument("--think-s", type=float, default=0.5, help="pause between turns")
    parser.add_argument("--shoppers", type=int, default=64, help="profiles to create")
    parser.add_argument("--warmup-s", type=float, default=None, help="default: 60 s, or 1/4")
    parser.add_argument("--rss-interval-s", type=float, default=5.0)
    parser.add_argument(
        "--token-delay-ms", type=float, default=10.0, help="scripted engine: per token"
    )
    parser.add_argument("--max-tokens", type=int, default=32, help="vllm: reply length cap")
    parser.add_argument(
        "--guard", choices=("off", "monitor", "enforce"), default="enforce", help="MORE_GUARD_MODE"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "MORE_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        ),
        help="a PostgreSQL server where a fresh database is created (and dropped after)",
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("MORE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    )
    parser.add_argument("--request-timeout-s", type=float, default=120.0)
    parser.add_argument("--startup-timeout-s", type=float, default=600.0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    return parser


# --- the scripted server (a child process) -------------------------------------------------


def serve_scripted(argv: list[str]) -> None:
    """`soak.py _serve --port N --token-delay-ms D`: the API with the scripted engine."""
    import uvicorn

    from app.core.config import Settings
    from app.core.logging import configure_logging
    from app.main import create_app

    parser = argparse.ArgumentParser(prog="soak.py _serve")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token-delay-ms", type=float, default=10.0)
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging(settings.MORE_LOG_LEVEL, json_lines=False)
    app = create_app(settings=settings, engine=scripted_engine(args.token_delay_ms / 1000))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=None, access_log=False)


# --- servers and storage -------------------------------------------------------------------


# --- measurements --------------------------------------------------------------------------


def _rss_bytes(pid: int) -> int:
    """Resident memory of one process (Linux /proc), 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                for child in (task / "children").read_text().split():
                    found += [int(child), *_descendants(int(child))]
    return found


@dataclass
class Sample:
    t_s: float  # seconds since the load started
    kind: str  # "chat" | "event"
    latency_s: float
    error: str | None = None


@dataclass
class Minute:
    minute: int
    requests: int
    errors: int
    req_per_s: float
    p50_ms: float
    p95_ms: float
    rss_mib: float


@dataclass
class Report:
    meta: dict[str, Any]
    minutes: list[Minute]
    rss: list[tuple[float, int, int]] = field(default_factory=list)  # (t, api, tree) bytes
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def _pct(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


# --- load ----------------------------------------------------------------------------------


async def _shopper(
    client: Any,
    worker: int,
    args: argparse.Namespace,
    started: float,
    stop: asyncio.Event,
    samples: list[Sample],
) -> None:
    """One shopper after another: a session of a few turns, then a satisfaction event."""
    from more_client import MoreApiError

    conversation = 0
    while not stop.is_set():
        user_id = f"soak-{(worker + conversation * args.concurrency) % args.shoppers}"
        session_id: str | None = None
        for turn in range(args.turns_per_session):
            if stop.is_set():
                return
            question = QUESTIONS[(worker + turn) % len(QUESTIONS)]
            t0 = time.perf_counter()
            handed_off = False
            try:
                body = await client.chat(
                    user_id=user_id, message=question, session_id=session_id, context=CONTEXT
                )
                session_id = body["session_id"]
                handed_off = bool(body["handoff"])
                error = None
            except MoreApiError as exc:
                error = f"{exc.status} {exc.code}"
            except Exception as exc:  # no answer: a failure the soak counts, not a crash
                error = type(exc).__name__
            samples.append(Sample(t0 - started, "chat", time.perf_counter() - t0, error))
            await asyncio.sleep(args.think_s)
            if handed_off:  # a person takes over (e.g. the fraud-review shopper): as a shop,
                break  # the storefront stops sending this session's turns to the assistant
        if session_id is not None and not stop.is_set():
            t0 = time.perf_counter()
            try:
                await client.post_event(
                    {
                        "event_id": f"soak-{uuid.uuid4().hex}",
                        "type": "satisfaction",
                        "session_id": session_id,
                        "score": 4,
                    }
                )
                error = None
            except MoreApiError as exc:
                error = f"{exc.status} {exc.code}"
            except Exception as exc:
                error = type(exc).__name__
            samples.append(Sample(t0 - started, "event", time.perf_counter() - t0, error))
        conversation += 1


async def _seed_profiles(client: Any, n: int) -> None:
    from app.services.demo import DEMO_CASES

    for i in range(n):
        profile = DEMO_CASES[i % len(DEMO_CASES)].profile.model_dump(mode="json")
        profile.pop("user_id")
        await client.put_profile(f"soak-{i}", profile)


async def _watch_rss(
    pid: int, started: float, stop: asyncio.Event, interval_s: float, out: list
) -> None:
    while not stop.is_set():
        api = _rss_bytes(pid)
        tree = api + sum(_rss_bytes(child) for child in _descendants(pid))
        out.append((round(time.perf_counter() - started, 1), api, tree))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)


async def _load(base: str, pid: int, keys: dict[str, str], args: argparse.Namespace) -> Report:
    import httpx

    from more_client import AsyncMoreClient, RetryPolicy

    limits = httpx.Limits(
        max_connections=args.concurrency + 4, max_keepalive_connections=args.concurrency
    )
    # One attempt: a soak records every failure as it happened.
    client = AsyncMoreClient(
        base,
        keys["shop"],
        admin_key=keys["admin"],
        timeout_s=args.request_timeout_s,
        retry=RetryPolicy(max_attempts=1),
        limits=limits,
    )
    samples: list[Sample] = []
    rss: list[tuple[float, int, int]] = []
    async with client:
        await _seed_profiles(client, args.shoppers)
        stop = asyncio.Event()
        started = time.perf_counter()
        watcher = asyncio.create_task(_watch_rss(pid, started, stop, args.rss_interval_s, rss))
        shoppers = [
            asyncio.create_task(_shopper(client, w, args, started, stop, samples))
            for w in range(args.concurrency)
        ]
        progress = 0
        while (elapsed := time.perf_counter() - started) < args.duration_s:
            await asyncio.sleep(min(10.0, args.duration_s - elapsed))
            done = len(samples)
            errors = sum(1 for s in samples if s.error)
            print(
                f"  {elapsed:6.0f} s  {done} requests (+{done - progress})  errors {errors}  "
                f"rss {rss[-1][1] / 2**20 if rss else 0:.0f} MiB",
                flush=True,
            )
            progress = done
        stop.set()
        await asyncio.gather(*shoppers)
        await watcher
    return _report(samples, rss, args)


def _report(
    samples: list[Sample], rss: list[tuple[float, int, int]], args: argparse.Namespace
) -> Report:
    warmup = args.warmup_s if args.warmup_s is not None else min(60.0, args.duration_s / 4)
    minutes: list[Minute] = []
    n_minutes = max(1, int((args.duration_s + 59) // 60))
    for m in range(n_minutes):
        window = [s for s in samples if m * 60 <= s.t_s < (m + 1) * 60]
        ok = sorted(s.latency_s * 1000 for s in window if not s.error)
        in_minute = [api for t, api, _ in rss if m * 60 <= t < (m + 1) * 60]
        span = min(60.0, args.duration_s - m * 60)
        minutes.append(
            Minute(
                minute=m + 1,
                requests=len(window),
                errors=sum(1 for s in window if s.error),
                req_per_s=round(len(window) / span, 2) if span > 0 else 0.0,
                p50_ms=round(_pct(ok, 50), 1),
                p95_ms=round(_pct(ok, 95), 1),
                rss_mib=round(max(in_minute) / 2**20, 1) if in_minute else 0.0,
            )
        )
    errors: dict[str, int] = {}
    for s in samples:
        if s.error:
            errors[f"{s.kind}: {s.error}"] = errors.get(f"{s.kind}: {s.error}", 0) + 1

    # RSS growth: the last quarter of the run against the first quarter after warm-up.
    steady = [(t, api) for t, api, _ in rss if t >= warmup]
    growth = None
    if len(steady) >= 4:
        quarter = max(1, len(steady) // 4)
        first = statistics.median(api for _, api in steady[:quarter])
        last = statistics.median(api for _, api in steady[-quarter:])
        growth = round(100 * (last / first - 1), 2) if first else None
    # p95 drift, like the RSS: the last quarter of the steady run against its first.
    after = sorted((s.t_s, s.latency_s) for s in samples if s.t_s >= warmup and not s.error)
    drift = None
    if len(after) >= 40:
        span = (args.duration_s - warmup) / 4
        first_q = sorted(lat for t, lat in after if t < warmup + span)
        last_q = sorted(lat for t, lat in after if t >= args.duration_s - span)
        if first_q and last_q:
            drift = round(_pct(last_q, 95) / _pct(first_q, 95), 2)
    ok_latencies = sorted(s.latency_s * 1000 for s in samples if not s.error)
    summary = {
        "requests": len(samples),
        "unexpected_errors": sum(errors.values()),
        "req_per_s": round(len(samples) / args.duration_s, 2),
        "p50_ms": round(_pct(ok_latencies, 50), 1),
        "p95_ms": round(_pct(ok_latencies, 95), 1),
        "rss_start_mib": round(rss[0][1] / 2**20, 1) if rss else None,
        "rss_end_mib": round(rss[-1][1] / 2**20, 1) if rss else None,
        "rss_growth_pct": growth,
        "p95_drift": drift,
        "warmup_s": warmup,
    }
    summary["pass"] = {
        "no_unexpected_errors": summary["unexpected_errors"] == 0,
        "rss_growth_below_10pct": growth is not None and growth < 10,
        "p95_stable": drift is not None and drift <= 1.5,
    }
    return Report(
        meta={},
        minutes=minutes,
        rss=rss,
        errors=errors,
        error_samples=[f"{s.kind} at {s.t_s:.0f} s: {s.error}" for s in samples if s.error][:10],
        summary=summary,
    )


# --- output --------------------------------------------------------------------------------


def _markdown(report: Report) -> str:
    meta, summary = report.meta, report.summary
    verdict = ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in summary["pass"].items())
    lines = [
        f"Soak, `{meta['engine']}` engine, {meta['concurrency']} concurrent shoppers for "
        f"{meta['duration_s']:.0f} s (think {meta['think_s']} s, {meta['turns_per_session']} "
        f"turns per session + 1 event), guard `{meta['guard']}`, PostgreSQL + Redis on "
        f"loopback, {meta['machine']}; load average at start {meta['load_1m']}.",
        "",
        f"{summary['requests']} requests ({summary['req_per_s']} req/s), unexpected errors "
        f"{summary['unexpected_errors']}; latency p50 {summary['p50_ms']} ms, p95 "
        f"{summary['p95_ms']} ms; server RSS {summary['rss_start_mib']} → "
        f"{summary['rss_end_mib']} MiB (growth after warm-up {summary['rss_growth_pct']} %); "
        f"p95 of the last quarter over the first after warm-up {summary['p95_drift']}. "
        f"Criteria: {verdict}.",
        "",
        "| minute | requests | req/s | errors | p50 ms | p95 ms | server RSS MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in report.minutes:
        lines.append(
            f"| {m.minute} | {m.requests} | {m.req_per_s:.2f} | {m.errors} | {m.p50_ms:.0f} | "
            f"{m.p95_ms:.0f} | {m.rss_mib:.0f} |"
        )
    if report.errors:
        lines += ["", "Errors: " + ", ".join(f"{k} × {v}" for k, v in report.errors.items())]
    return "\n".join(lines) + "\n"


def _plot(report: Report, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    minutes = [m.minute for m in report.minutes]
    axes[0].plot(minutes, [m.p95_ms for m in report.minutes], marker="o", label="p95")
    axes[0].plot(minutes, [m.p50_ms for m in report.minutes], marker="o", label="p50")
    axes[0].set_xlabel("minute")
    axes[0].set_title("latency (ms)")
    axes[0].legend()
    axes[1].plot([t / 60 for t, _, _ in report.rss], [a / 2**20 for _, a, _ in report.rss])
    axes[1].set_xlabel("minute")
    axes[1].set_title("server RSS (MiB)")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- main ----------------------------------------------------------------------------------


def _server_env(
    args: argparse.Namespace, database_url: str, prefix: str, keys: dict[str, str], port: int
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MORE_")}
    env.update(
        HF_HUB_OFFLINE="1",
        DATABASE_URL=database_url,
        REDIS_URL=args.redis_url,
        MORE_REDIS_PREFIX=prefix,
        MORE_DEMO_API_KEY=keys["shop"],
        MORE_ADMIN_API_KEY=keys["admin"],
        MORE_HOST="127.0.0.1",
        MORE_PORT=str(port),
        MORE_GUARD_MODE=args.guard,
        MORE_LOG_LEVEL="WARNING",
        # The soak measures the API, not its limits: none of them may trip.
        MORE_RATE_LIMIT_PER_KEY="1000000",
        MORE_RATE_LIMIT_PER_USER="1000000",
        MORE_RATE_LIMIT_PER_SESSION="1000000",
        MORE_RATE_LIMIT_EVENTS_PER_KEY="1000000",
        MORE_RATE_LIMIT_ADMIN_PER_KEY="1000000",
        MORE_MAX_QUEUE=str(max(256, 4 * args.concurrency)),
        MORE_GENERATION_TIMEOUT_S=str(args.request_timeout_s),
        MORE_MAX_TOKENS=str(args.max_tokens),
        MORE_TEMPERATURE="0",
    )
    return env


async def _run(args: argparse.Namespace, workdir: Path) -> Report:
    keys = {"shop": secrets.token_urlsafe(24), "admin": secrets.token_urlsafe(24)}
    prefix = f"more-soak-{uuid.uuid4().hex[:8]}:"
    async with fresh_database(args.database_url, label="soak") as database_url:
        try:
            port = free_port()
            env = _server_env(args, database_url, prefix, keys, port)
            if args.engine == "scripted":
                cmd = [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "_serve",
                    "--port",
                    str(port),
                    "--token-delay-ms",
                    str(args.token_delay_ms),
                ]
            else:
                # The shipped MORE policy served the way `make run` serves it: merged.
                env.update(MORE_ENGINE="vllm", MORE_MERGE_ADAPTER="true")
                cmd = [str(VENV_BIN / "more"), "serve", "--port", str(port)]
            log = workdir / "server.log"
            print(f"starting the API ({args.engine}) on 127.0.0.1:{port}; log {log}", flush=True)
            with server_process(cmd, env, log, ROOT) as proc:
                base = f"http://127.0.0.1:{port}"
                await wait_ready(f"{base}/readyz", proc, args.startup_timeout_s)
                return await _load(base, proc.pid, keys, args)
        finally:
            await drop_redis_prefix(args.redis_url, prefix)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_serve"]:
        serve_scripted(argv[1:])
        return
    args = make_parser().parse_args(argv)
    if args.duration_s is None:
        args.duration_s = 1800.0 if args.engine == "scripted" else 300.0
    workdir = Path(tempfile.mkdtemp(prefix="soak-"))
    started = time.strftime("%Y%m%d-%H%M%S")
    load_1m = round(os.getloadavg()[0], 2)
    try:
        report = asyncio.run(_run(args, workdir))
    except BaseException:
        print(f"failed; server log kept in {workdir}", file=sys.stderr)
        raise
    report.meta = {
        "started": started,
        "engine": args.engine,
        "duration_s": args.duration_s,
        "concurrency": args.concurrency,
        "think_s": args.think_s,
        "turns_per_session": args.turns_per_session,
        "guard": args.guard,
        "token_delay_ms": args.token_delay_ms if args.engine == "scripted" else None,
        "max_tokens": args.max_tokens,
        "machine": f"{os.cpu_count()} CPU cores, no GPU",
        "load_1m": load_1m,
        "command": " ".join(["benchmarks/soak.py", *argv]),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"soak-{args.engine}-{started}"
    stem.with_suffix(".json").write_text(
        json.dumps(
            {
                "meta": report.meta,
                "summary": report.summary,
                "minutes": [asdict(m) for m in report.minutes],
                "rss": report.rss,
                "errors": report.errors,
                "error_samples": report.error_samples,
            },
            indent=2,
        )
        + "\n"
    )
    table = _markdown(report)
    stem.with_suffix(".md").write_text(table)
    _plot(report, stem.with_suffix(".png"))
    print("\n" + table)
    print(f"wrote {stem}.json, .md and .png (server log: {workdir / 'server.log'})")


if __name__ == "__main__":  # vLLM spawns processes: keep the guard
    main()
