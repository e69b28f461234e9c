"""The API contract: Schemathesis over the full OpenAPI schema of a live server.

Every phase (examples, coverage, fuzzing, stateful), both modes (schema-valid and invalid
data) and every check: server errors, status codes, content types, response schemas and
headers, valid data accepted, invalid data rejected, missing headers, unsupported methods
and their `Allow` headers, authentication (requests without or with a wrong key must be
refused) and resource lifecycles. The server is the real app under uvicorn on loopback,
on PostgreSQL (a fresh database, dropped after) and Redis (a private prefix), with a
scripted engine; rate limits are lifted so they do not hide anything, and the client is
sent the static admin key (scopes admin and operator: every operation is reachable).

    nice -n 15 .venv/bin/python benchmarks/api_contract.py                 # the full run
    nice -n 15 .venv/bin/python benchmarks/api_contract.py --max-examples 5

`tests/app/api/test_openapi_fuzz.py` runs the same command with a smaller budget in
`make test`. Output: the CLI's report in `benchmarks/results/api_contract-<time>.txt`
(plus a JUnit XML); the exit code is Schemathesis's own (0: no failure).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PHASES = "examples,coverage,fuzzing,stateful"


def contract_argv(
    schema_url: str,
    admin_key: str,
    *,
    max_examples: int,
    max_time_s: float | None = None,
    seed: int = 0,
    workers: int = 1,
    report_dir: Path | None = None,
) -> list[str]:
    """The Schemathesis command line of a contract run (the full one and the test's)."""
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    argv = [
        cli,
        "run",
        schema_url,
        f"--phases={PHASES}",
        "--mode=all",
        "--checks=all",
        f"--header=Authorization: Bearer {admin_key}",
        f"--max-examples={max_examples}",
        f"--seed={seed}",
        f"--workers={workers}",
        "--request-timeout=60",
        "--suppress-health-check=all",
        "--warnings=off",
    ]
    if max_time_s is not None:
        argv.append(f"--max-time={max_time_s:g}")
    if report_dir is not None:
        argv += ["--report=junit", f"--report-dir={report_dir}"]
    return argv


# The server under test: no limit may trip (a 429 would hide what is behind it) and no
# model is loaded (the guard changes no response shape).
CONTRACT_SETTINGS: dict[str, Any] = {
    "MORE_GUARD_MODE": "off",
    "MORE_PROMPT_VERDICT": False,
    "MORE_MAX_TOKENS": 16,
    **{
        name: 1_000_000
        for name in (
            "MORE_RATE_LIMIT_PER_KEY",
            "MORE_RATE_LIMIT_PER_SESSION",
            "MORE_RATE_LIMIT_PER_USER",
            "MORE_RATE_LIMIT_EVENTS_PER_KEY",
            "MORE_RATE_LIMIT_ADMIN_PER_KEY",
            "MORE_RATE_LIMIT_AUTH_FAILURES_PER_IP",
        )
    },
}


def contract_settings(**values: Any) -> Any:
    """`CONTRACT_SETTINGS` with `values` on top."""
    from app.core.config import Settings

    return Settings(_env_file=None, **{**CONTRACT_SETTINGS, **values})  # type: ignore[call-arg]


def seed_shopper(base_url: str, admin_key: str) -> None:
    """A known shopper, so generated chats also reach generation and the database."""
    import httpx

    from app.services.demo import DEMO_CASES

    body = DEMO_CASES[0].profile.model_dump(mode="json")
    body.pop("user_id")
    response = httpx.put(
        f"{base_url}/v1/profiles/demo-eligible",
        json=body,
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=30,
    )
    response.raise_for_status()


def _serve(app: Any) -> tuple[str, Any, threading.Thread]:
    import uvicorn

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _harness import free_port

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.1)
    return f"http://127.0.0.1:{port}", server, thread


async def _run(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _harness import drop_redis_prefix, fresh_database, scripted_engine

    from app.main import create_app

    admin_key = secrets.token_urlsafe(24)
    prefix = f"more-contract-{uuid.uuid4().hex[:8]}:"
    started = time.strftime("%Y%m%d-%H%M%S")
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / f"api_contract-{started}.txt"
    async with fresh_database(args.database_url, label="contract") as database_url:
        try:
            settings = contract_settings(
                DATABASE_URL=database_url,
                REDIS_URL=args.redis_url,
                MORE_REDIS_PREFIX=prefix,
                MORE_ADMIN_API_KEY=admin_key,
                MORE_DEMO_API_KEY=secrets.token_urlsafe(24),
                # /metrics wants a key too: the one credential the run sends.
                MORE_METRICS_KEY=admin_key,
            )
            app = create_app(settings=settings, engine=scripted_engine())
            base, server, thread = await asyncio.to_thread(_serve, app)
            try:
                await asyncio.to_thread(seed_shopper, base, admin_key)
                argv = contract_argv(
                    f"{base}/openapi.json",
                    admin_key,
                    max_examples=args.max_examples,
                    max_time_s=args.max_time_s,
                    seed=args.seed,
                    workers=args.workers,
                    report_dir=args.out / f"api_contract-{started}",
                )
                shown = [a.replace(admin_key, "$ADMIN_KEY") for a in argv]
                print("$ " + " ".join(shown[1:]), flush=True)
                env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
                began = time.monotonic()
                with log.open("w") as out:
                    out.write("$ schemathesis " + " ".join(shown[1:]) + "\n\n")
                    out.flush()
                    with tempfile.TemporaryDirectory() as scratch:  # its `.schemathesis/`
                        proc = await asyncio.to_thread(
                            subprocess.run,
                            argv,
                            stdout=out,
                            stderr=subprocess.STDOUT,
                            env=env,
                            cwd=scratch,
                        )
                    out.write(f"\nexit code {proc.returncode}, {time.monotonic() - began:.0f} s\n")
            finally:
                server.should_exit = True
                await asyncio.to_thread(thread.join, 30)
        finally:
            await drop_redis_prefix(args.redis_url, prefix)
    print(log.read_text()[-4000:])
    print(f"report: {log}")
    return proc.returncode


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=100, help="per operation and phase")
    parser.add_argument("--max-time-s", type=float, default=None, help="whole-run budget")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1, help="concurrent Schemathesis workers")
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
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    sys.exit(asyncio.run(_run(args)))


if __name__ == "__main__":
    main()
