"""`more apikey ...`, `more storefront ...` and `more db purge`: operator commands on the
configured database (DATABASE_URL, else the embedded SQLite file).

They go through the same services as the API's operator routes, acting as
`cli:<os user>`, so every change lands in the admin audit like one made over HTTP.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from app.core.config import Settings
from app.core.errors import AppError
from app.core.security import DEFAULT_STOREFRONT_ID, Principal, Scope

T = TypeVar("T")

apikey_app = typer.Typer(
    help="API keys: each belongs to one storefront and has scopes.", no_args_is_help=True
)
storefront_app = typer.Typer(
    help="Storefronts: the tenants keys, shoppers and sessions belong to.", no_args_is_help=True
)

StorefrontOpt = Annotated[
    str, typer.Option("--storefront", help="The storefront the key belongs to.")
]


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:  # pydantic's message names the variable and the fix
        typer.secho(f"configuration error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc


def cli_principal() -> Principal:
    """Whoever runs the command: an operator, recorded as `cli:<os user>` in the audit."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        user = "unknown"
    return Principal(f"cli:{user}", DEFAULT_STOREFRONT_ID, frozenset({Scope.OPERATOR}))


def _run(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(db_session_factory)` on the configured database; an `AppError` ends the
    command with its message and exit code 1."""
    settings = _settings()

    async def run() -> T:
        from app.store.db import create_db_engine, create_session_factory

        engine = create_db_engine(settings.database_url, pool_size=1)
        try:
            return await work(create_session_factory(engine))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except AppError as exc:
        typer.secho(exc.message, fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc


def _tenancy(db: Any) -> Any:
    from app.services.tenancy import TenancyService

    return TenancyService(db=db)


def _when(value: Any) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "-"


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="A unique label, e.g. the storefront's backend.")],
    storefront: StorefrontOpt = DEFAULT_STOREFRONT_ID,
    scope: Annotated[
        list[Scope] | None,
        typer.Option(
            help="storefront (chat, events, handoffs), admin (its storefront's profiles and "
            "experiments; includes storefront) or operator (registry, storefronts, keys). "
            "Repeat for several. Default: storefront."
        ),
    ] = None,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    scopes = frozenset(scope or [Scope.STOREFRONT])

    async def work(db: Any) -> str:
        key, _ = await _tenancy(db).create_key(
            principal=cli_principal(), storefront_id=storefront, name=name, scopes=scopes
        )
        return str(key)

    key = _run(work)
    names = " ".join(sorted(s.value for s in scopes))
    typer.echo(
        f"created key {name!r} ({names}) of storefront {storefront!r}; store it now, it is "
        "not shown again:"
    )
    typer.echo(key)


@apikey_app.command("list")
def apikey_list(
    storefront: Annotated[
        str | None, typer.Option("--storefront", help="Only this storefront's keys.")
    ] = None,
) -> None:
    """Keys with storefront, scopes and state (never their secrets)."""

    async def work(db: Any) -> list[Any]:
        return list(await _tenancy(db).list_keys(storefront_id=storefront))

    records = _run(work)
    typer.echo(f"{'name':<24} {'storefront':<20} {'scopes':<28} {'created':<26} state")
    for r in records:
        if r.revoked_at is not None:
            state = f"revoked {_when(r.revoked_at)}"
        elif r.rotated_at is not None:
            state = f"active, rotated {_when(r.rotated_at)}"
            if r.previous_key_expires_at is not None:
                state += f" (old secret valid until {_when(r.previous_key_expires_at)})"
        else:
            state = "active"
        scopes = " ".join(sorted(s.value for s in r.scopes))
        line = f"{r.name:<24} {r.storefront_id:<20} {scopes:<28} {_when(r.created_at):<26}"
        typer.echo(f"{line} {state}")


@apikey_app.command("revoke")
def apikey_revoke(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Revoke a key at once (replicas that cached it stop accepting it within 30 s)."""

    async def work(db: Any) -> Any:
        return await _tenancy(db).revoke_key(principal=cli_principal(), name=name)

    _run(work)
    typer.echo(f"revoked key {name!r}")


@apikey_app.command("rotate")
def apikey_rotate(
    name: Annotated[str, typer.Argument(help="The key's name.")],
    grace_seconds: Annotated[
        int,
        typer.Option(
            min=0, help="How long the old secret keeps working, so callers can switch over."
        ),
    ] = 3600,
) -> None:
    """Give a key a new secret and print it once; the old one works --grace-seconds more."""

    async def work(db: Any) -> str:
        key, _ = await _tenancy(db).rotate_key(
            principal=cli_principal(), name=name, grace_s=grace_seconds
        )
        return str(key)

    key = _run(work)
    typer.echo(
        f"rotated key {name!r}; the old secret works {grace_seconds} s more. The new one, "
        "shown once:"
    )
    typer.echo(key)


@storefront_app.command("create")
def storefront_create(
    storefront_id: Annotated[
        str, typer.Argument(metavar="ID", help="Lowercase letters, digits and '-'.")
    ],
    name: Annotated[str | None, typer.Option(help="A display name (default: the id).")] = None,
) -> None:
    """Create a storefront; then give it keys with `more apikey create --storefront ID`."""

    async def work(db: Any) -> Any:
        return await _tenancy(db).create_storefront(
            principal=cli_principal(), storefront_id=storefront_id, name=name or storefront_id
        )

    _run(work)
    typer.echo(f"created storefront {storefront_id!r}")


@storefront_app.command("list")
def storefront_list() -> None:
    """All storefronts."""

    async def work(db: Any) -> list[Any]:
        return list(await _tenancy(db).list_storefronts())

    for record in _run(work):
        typer.echo(f"{record.id:<24} {_when(record.created_at):<26} {record.name}")


def db_purge(
    days: Annotated[
        int | None,
        typer.Option(min=1, help="Retention in days (default: MORE_MESSAGE_RETENTION_DAYS)."),
    ] = None,
) -> None:
    """Delete chat messages older than the retention now (the service also does it hourly)."""
    from app.services.shopper_data import purge_expired_messages

    retention = days or _settings().MORE_MESSAGE_RETENTION_DAYS
    if retention is None:
        typer.secho(
            "no retention: pass --days or set MORE_MESSAGE_RETENTION_DAYS",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)

    async def work(db: Any) -> int:
        return await purge_expired_messages(db, retention_days=retention)

    deleted = _run(work)
    typer.echo(f"deleted {deleted} message(s) older than {retention} days")


def register(root: typer.Typer, *, db_app: typer.Typer) -> None:
    """Attach `apikey`, `storefront` and `db purge` to the `more` app."""
    root.add_typer(apikey_app, name="apikey")
    root.add_typer(storefront_app, name="storefront")
    db_app.command("purge")(db_purge)
