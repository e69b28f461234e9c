"""`more experiment ...`: list, create, ramp, stop, and report A/B experiments.

With `--url` the command talks to a running service (admin key, whose storefront the
experiments belong to) through `more_client.MoreClient`; without it, it works on the
configured database directly (DATABASE_URL, else the embedded SQLite file), on the
storefront given by `--storefront`, as `cli:<os user>` in the admin audit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from app.core.security import DEFAULT_STOREFRONT_ID

if TYPE_CHECKING:
    from more_client import MoreClient

experiment_app = typer.Typer(
    help="A/B experiments: define, ramp, stop, report.", no_args_is_help=True
)

UrlOpt = Annotated[
    str | None,
    typer.Option(help="A running service's base URL (default: use the database directly)."),
]
AdminKeyOpt = Annotated[
    str, typer.Option(envvar="MORE_ADMIN_API_KEY", help="Admin key (with --url).")
]
StorefrontOpt = Annotated[
    str,
    typer.Option(
        "--storefront", help="Whose experiments (without --url; with it, the key's storefront)."
    ),
]


def _principal(storefront: str) -> Any:
    """The CLI as an admin of `storefront` (direct database access already implies it)."""
    from app.core.security import Principal, Scope
    from app.tenancy_cli import cli_principal

    return Principal(cli_principal().key_name, storefront, frozenset({Scope.ADMIN}))


def _services():  # type: ignore[no-untyped-def]
    """An ExperimentService on the configured database, and its engine to dispose."""
    from app.core.config import Settings
    from app.services.experiments import ExperimentService
    from app.store.db import create_db_engine, create_session_factory

    settings = Settings()
    engine = create_db_engine(settings.database_url, pool_size=1)
    return ExperimentService(db=create_session_factory(engine)), engine


def _client(url: str, admin_key: str) -> MoreClient:
    """The admin client of the service at `url` (tests replace this to inject a transport)."""
    from more_client import MoreClient

    return MoreClient(url, admin_key=admin_key, timeout_s=60)


@contextlib.contextmanager
def _api(url: str, admin_key: str) -> Iterator[MoreClient]:
    """A client whose failures end the command with the API's message and exit code 1."""
    import httpx

    from more_client import MoreApiError

    try:
        with _client(url, admin_key) as client:
            yield client
    except (MoreApiError, httpx.HTTPError) as exc:
        typer.echo(str(exc) or repr(exc), err=True)
        raise typer.Exit(1) from exc


@experiment_app.command("report")
def report(
    name: Annotated[str, typer.Argument(help="Experiment name.")],
    url: UrlOpt = None,
    admin_key: AdminKeyOpt = "demo-admin-key",
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    out: Annotated[
        Path | None, typer.Option(help="Folder for report.json/.md/.png (default runs/...).")
    ] = None,
    storefront: StorefrontOpt = DEFAULT_STOREFRONT_ID,
) -> None:
    """Per-variant conversion, reached conversion, handoffs, satisfaction; lifts, CIs, SRM."""
    out = out or Path("runs/experiments") / name
    out.mkdir(parents=True, exist_ok=True)
    if url:
        with _api(url, admin_key) as api:
            body = api.experiment_report(name, alpha=alpha)
            png = api.experiment_report_png(name, alpha=alpha)
        markdown = body.pop("markdown", "")
        (out / "report.png").write_bytes(png)
    else:
        from app.services.report_rendering import plot_report, report_markdown

        async def run() -> Any:
            service, engine = _services()
            try:
                return await service.report(storefront_id=storefront, name=name, alpha=alpha)
            finally:
                await engine.dispose()

        result = asyncio.run(run())
        body, markdown = result.to_dict(), report_markdown(result)
        plot_report(result, out / "report.png")
    (out / "report.json").write_text(json.dumps(body, indent=2))
    (out / "report.md").write_text(markdown + "\n")
    typer.echo(markdown)
    typer.echo(f"\nWrote {out}/report.json, report.md, report.png")


@experiment_app.command("list")
def list_experiments(
    url: UrlOpt = None,
    admin_key: AdminKeyOpt = "demo-admin-key",
    storefront: StorefrontOpt = DEFAULT_STOREFRONT_ID,
) -> None:
    """Experiments with status and current shares."""
    if url:
        with _api(url, admin_key) as api:
            rows = api.list_experiments()["data"]
        for row in rows:
            shares = ", ".join(
                f"{v['name']}={v['share']:.0%} ({v['policy_version']})" for v in row["variants"]
            )
            typer.echo(f"{row['name']}\t{row['status']}\t{shares}")
        return

    from app.services.experiments import effective_shares

    async def run() -> None:
        service, engine = _services()
        try:
            for record in await service.list(storefront_id=storefront):
                shares = effective_shares(record)
                text = ", ".join(
                    f"{v.name}={shares[v.name]:.0%} ({v.policy_version})" for v in record.variants
                )
                typer.echo(f"{record.name}\t{record.status}\t{text}")
        finally:
            await engine.dispose()

    asyncio.run(run())


def _weights(values: list[str]) -> dict[str, float]:
    weights = {}
    for value in values:
        name, _, weight = value.partition("=")
        if not name or not weight:
            raise typer.BadParameter(f"expected NAME=WEIGHT, got {value!r}")
        weights[name] = float(weight)
    return weights


@experiment_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Experiment name.")],
    variant: Annotated[
        list[str],
        typer.Option(help="NAME=POLICY_VERSION:WEIGHT, control first; repeat per variant."),
    ],
    start: Annotated[bool, typer.Option(help="Start it running at once.")] = False,
    salt: Annotated[str | None, typer.Option(help="Hash salt (default: the name).")] = None,
    url: UrlOpt = None,
    admin_key: AdminKeyOpt = "demo-admin-key",
    storefront: StorefrontOpt = DEFAULT_STOREFRONT_ID,
) -> None:
    """Define an experiment between registered policy versions."""
    variants = []
    for spec in variant:
        vname, _, rest = spec.partition("=")
        version, _, weight = rest.rpartition(":")
        if not (vname and version and weight):
            raise typer.BadParameter(f"expected NAME=POLICY_VERSION:WEIGHT, got {spec!r}")
        variants.append({"name": vname, "policy_version": version, "weight": float(weight)})
    status = "running" if start else "draft"
    if url:
        with _api(url, admin_key) as api:
            api.create_experiment(name=name, variants=variants, status=status, salt=salt or None)
    else:
        from app.services.assignment import ExperimentStatus
        from app.services.experiments import VariantInput

        async def run() -> None:
            service, engine = _services()
            try:
                await service.create(
                    principal=_principal(storefront),
                    name=name,
                    salt=salt,
                    status=ExperimentStatus(status),
                    variants=[
                        VariantInput(v["name"], v["weight"], v["policy_version"]) for v in variants
                    ],
                )
            finally:
                await engine.dispose()

        asyncio.run(run())
    typer.echo(f"experiment {name} created ({status})")


@experiment_app.command("update")
def update(
    name: Annotated[str, typer.Argument(help="Experiment name.")],
    weight: Annotated[
        list[str] | None, typer.Option(help="NAME=WEIGHT for every variant (a ramp).")
    ] = None,
    status: Annotated[str | None, typer.Option(help="running or stopped.")] = None,
    url: UrlOpt = None,
    admin_key: AdminKeyOpt = "demo-admin-key",
    storefront: StorefrontOpt = DEFAULT_STOREFRONT_ID,
) -> None:
    """Ramp weights or start/stop; users already assigned keep their variant."""
    weights = _weights(weight) if weight else None
    if weights is None and status is None:
        raise typer.BadParameter("give --weight and/or --status")
    if url:
        with _api(url, admin_key) as api:
            api.update_experiment(name, weights=weights, status=status)
    else:
        from app.services.assignment import ExperimentStatus

        async def run() -> None:
            service, engine = _services()
            try:
                await service.update(
                    principal=_principal(storefront),
                    name=name,
                    weights=weights,
                    status=ExperimentStatus(status) if status else None,
                )
            finally:
                await engine.dispose()

        asyncio.run(run())
    typer.echo(f"experiment {name} updated")


def register(root: typer.Typer) -> None:
    root.add_typer(experiment_app, name="experiment")
