"""The API contract in `make test`: the same Schemathesis run as
`benchmarks/api_contract.py` (every phase, both modes, every check, authentication
included), on a smaller budget. The server is the app under uvicorn in a thread, on
PostgreSQL + Redis with a scripted engine; the CLI runs against it in a subprocess and
must report no failure of any check."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

from app.main import create_app
from app.store.migrations import upgrade
from benchmarks.api_contract import CONTRACT_SETTINGS, contract_argv, seed_shopper
from tests.factories import ScriptedEngine, run_sync, serve_in_thread

# Budget: Schemathesis shares `--max-time` among the four phases (the coverage phase is
# cut short per operation), so the run stays near 2 minutes on the shared 2-core
# machine; the full run in docs/benchmarks.md has no time limit and 100 examples.
MAX_EXAMPLES = 3
MAX_TIME_S = 90


def test_openapi_contract_schemathesis_all_phases_no_failures(
    pg_settings, fresh_pg_database, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # A database of its own, and the static admin key (scopes admin and operator: every
    # operation is reachable): the run lists, rotates and revokes whatever keys it finds,
    # which must not be the session's shared ones, nor its own.
    database_url = fresh_pg_database()
    run_sync(upgrade, database_url)
    admin = secrets.token_urlsafe(24)
    settings = pg_settings(
        **CONTRACT_SETTINGS,
        DATABASE_URL=database_url,
        MORE_ADMIN_API_KEY=admin,
        MORE_METRICS_KEY=admin,
    )
    app = create_app(settings=settings, engine=ScriptedEngine("Sure: that fits your credit."))
    with serve_in_thread(app) as base:
        seed_shopper(base, admin)
        argv = contract_argv(
            f"{base}/openapi.json",
            admin,
            max_examples=MAX_EXAMPLES,
            max_time_s=MAX_TIME_S,
            report_dir=tmp_path,
        )
        run = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,  # its `.schemathesis/` cache stays out of the work tree
            env={**os.environ, "NO_COLOR": "1", "COLUMNS": "120"},
        )
    report = run.stdout + run.stderr
    assert "Tested: " in report, report[-3000:]  # the schema loaded and operations ran
    assert run.returncode == 0, report[-6000:]
