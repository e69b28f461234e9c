"""Serving subcommands of `more`: bootstrap, serve, db, seed-demo, up (and, from
`app.tenancy_cli`, apikey, storefront and db purge).

Heavy imports (torch, vllm, uvicorn, the app) stay inside the commands so `more --help`
is fast.
"""

from __future__ import annotations

import asyncio
import json
import shlex
from typing import Annotated

import typer

from app.core.config import Settings

db_app = typer.Typer(help="Database migrations (Alembic) and retention.", no_args_is_help=True)


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:  # pydantic's message names the variable and the fix
        typer.secho(f"configuration error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc


def bootstrap() -> None:
    """Prepare the model: convert the bundled SmolLM2 once, or check MORE_MODEL_PATH."""
    from app.engine.bundled import resolve_model_path

    settings = _settings()
    with typer.progressbar(length=1, label="model", show_eta=False) as bar:
        path = resolve_model_path(settings.MORE_MODEL_PATH, settings.MORE_CACHE_DIR)
        bar.update(1)
    typer.echo(f"model ready: {path}")
    adapter = settings.default_adapter_path
    if adapter:
        typer.echo(f"default policy: {settings.default_policy_version} ({adapter})")
    if adapter and settings.merge_adapter:
        # Merged here once, so the server's start only finds it in the cache.
        from app.engine.base import Adapter
        from app.engine.factory import engine_config, merged_config

        merged = merged_config(engine_config(settings), Adapter(name="default", path=adapter))
        typer.echo(f"merged weights: {merged.model_path}")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Migrate the database (DATABASE_URL, else the embedded SQLite file) up."""
    from app.store.migrations import upgrade

    settings = _settings()
    upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}: {_safe_url(settings.database_url)}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision ('base' drops all).")] = "-1",
) -> None:
    """Migrate the database down (default: one revision)."""
    from app.store.migrations import downgrade

    settings = _settings()
    downgrade(settings.database_url, revision)
    typer.echo(f"database downgraded to {revision}: {_safe_url(settings.database_url)}")


def seed_demo() -> None:
    """Create or refresh the demo profiles (eligible, ineligible and boundary shoppers)."""
    from app.services.demo import seed_demo_profiles

    settings = _settings()

    async def run() -> list:  # type: ignore[type-arg]
        from app.store.db import create_db_engine, create_session_factory

        engine = create_db_engine(settings.database_url, pool_size=1)
        try:
            return await seed_demo_profiles(create_session_factory(engine))
        finally:
            await engine.dispose()

    cases = asyncio.run(run())
    typer.echo(f"{'user_id':<18} {'decision for the $299 phone':<32} why")
    for case in cases:
        decision = case.action.value + (f" ({case.reason.value})" if case.reason else "")
        typer.echo(f"{case.profile.user_id:<18} {decision:<32} {case.note}")


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (MORE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (MORE_PORT).")] = None,
) -> None:
    """Start the API (uvicorn, one worker per engine)."""
    settings = _settings()
    if settings.embedded:
        # One command must work on a fresh checkout: the embedded file is migrated here.
        from app.store.migrations import upgrade

        upgrade(settings.database_url)
    _run_server(settings, host, port)


def up() -> None:
    """Everything `make run` needs: bootstrap, migrate, seed demo profiles, serve."""
    from app.store.migrations import upgrade

    settings = _settings()
    typer.echo("1/4 model")
    bootstrap()
    typer.echo("2/4 database")
    upgrade(settings.database_url)
    typer.echo(f"    migrated {_safe_url(settings.database_url)}")
    typer.echo("3/4 demo profiles")
    seed_demo()
    typer.echo("4/4 serving (the model loads first; vLLM takes ~30 s on CPU)")
    _announce_when_ready(settings)
    _run_server(settings, None, None)


def _announce_when_ready(settings: Settings) -> None:
    """Print the curl example once /readyz answers, i.e. right after the startup logs."""
    import threading
    import time
    import urllib.request

    host = "127.0.0.1" if settings.MORE_HOST in ("0.0.0.0", "::") else settings.MORE_HOST
    url = f"http://{host}:{settings.MORE_PORT}/readyz"

    def poll() -> None:
        for _ in range(1800):  # up to 15 minutes of model loading
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        typer.echo(curl_example(settings))
                        return
            except OSError:
                pass
            time.sleep(0.5)

    threading.Thread(target=poll, name="announce-ready", daemon=True).start()


def curl_example(settings: Settings) -> str:
    """A copy-pasteable request for a demo shopper."""
    host = "127.0.0.1" if settings.MORE_HOST in ("0.0.0.0", "::") else settings.MORE_HOST
    key = settings.storefront_key or "<key from `more apikey create`>"
    body = {
        "user_id": "demo-eligible",
        "message": "Can I pay for this phone in instalments?",
        "context": {"items": [{"title": "Pixel 9 phone", "price": "299.00"}]},
    }
    return (
        "\nThe API is ready. Try:\n\n"
        f"  curl -s http://{host}:{settings.MORE_PORT}/v1/chat \\\n"
        f"    -H {shlex.quote('Authorization: Bearer ' + key)} \\\n"
        "    -H 'Content-Type: application/json' \\\n"
        f"    -d {shlex.quote(json.dumps(body))}\n\n"
        f"  (docs: http://{host}:{settings.MORE_PORT}/docs)\n"
    )


def _run_server(settings: Settings, host: str | None, port: int | None) -> None:
    import os

    import uvicorn

    from app.core.logging import configure_logging

    if host is not None and host != settings.MORE_HOST:
        # The app reads its settings again in the worker: it must see the address it is
        # really bound to, since the demo keys and a keyless start depend on it.
        os.environ["MORE_HOST"] = host
        settings = _settings()
    configure_logging(settings.MORE_LOG_LEVEL, json_lines=settings.MORE_LOG_JSON)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=settings.MORE_HOST,
        port=port or settings.MORE_PORT,
        log_config=None,  # keep our handler (request ids, JSON lines)
        access_log=False,  # the metrics middleware counts requests; no per-request lines
        timeout_graceful_shutdown=10,
    )


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def register(root: typer.Typer) -> None:
    """Attach the serving subcommands to the root `more` app."""
    root.command("bootstrap")(bootstrap)
    root.command("serve")(serve)
    root.command("seed-demo")(seed_demo)
    root.command("up")(up)
    root.add_typer(db_app, name="db")

    from app.tenancy_cli import register as register_tenancy

    register_tenancy(root, db_app=db_app)

    from app.experiment_cli import register as register_experiments

    register_experiments(root)
