"""Static checks of Dockerfile, docker-compose.yml and deploy/prometheus.yml (docker
cannot run here): they parse, use only settings that exist, and agree on ports and
commands."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from app.core.config import Settings
from more_cli.main import app as more

ROOT = Path(__file__).resolve().parents[2]
# Environment variables read by libraries rather than by Settings.
LIBRARY_ENV = {
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "TOKENIZERS_PARALLELISM",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONUNBUFFERED",
    "PIP_NO_CACHE_DIR",
    "PIP_DISABLE_PIP_VERSION_CHECK",
}
SETTINGS = set(Settings.model_fields)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _our_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in compose["services"].items() if svc.get("build")}


def _more_command_exists(argv: list[str]) -> bool:
    """Walk the `more` click tree: every word up to the options must be a subcommand."""
    group = typer.main.get_command(more)
    for word in argv:
        if word.startswith("-"):
            break
        commands = getattr(group, "commands", None)
        if commands is None:
            break
        if word not in commands:
            return False
        group = commands[word]
    return True


def test_deploy_compose_services_and_healthchecks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"api", "postgres", "redis", "prometheus", "migrate", "trainer"} <= set(services)
    for name in ("api", "postgres", "redis", "prometheus"):
        assert "healthcheck" in services[name], name
    for name, svc in services.items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, (name, dep)
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], (name, dep)
    api_deps = services["api"]["depends_on"]
    assert api_deps["migrate"]["condition"] == "service_completed_successfully"
    assert services["trainer"]["profiles"] == ["trainer"]


def test_deploy_compose_env_vars_exist_in_settings(compose: dict[str, Any]) -> None:
    for name, svc in _our_services(compose).items():
        env = svc.get("environment") or {}
        assert env, name
        unknown = set(env) - SETTINGS - LIBRARY_ENV
        assert not unknown, f"{name}: {unknown} are not Settings fields"
        # And the values parse (blank = unset, compose-style).
        values = {
            key: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))
            for key, value in env.items()
            if key in SETTINGS
        }
        Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_deploy_compose_commands_ports_and_urls_agree(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, svc in _our_services(compose).items():
        argv = list(svc.get("entrypoint") or []) + list(svc["command"])
        assert argv[0] == "more", name
        assert _more_command_exists(argv[1:]), (name, argv)

    api = services["api"]
    port = int(api["environment"]["MORE_PORT"])
    assert f"{port}:{port}" in api["ports"]
    assert f"127.0.0.1:{port}/" in " ".join(api["healthcheck"]["test"])
    # The database and Redis URLs point at the compose services and their credentials.
    env = api["environment"]
    pg = services["postgres"]["environment"]
    assert env["DATABASE_URL"] == (
        f"postgresql+asyncpg://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}"
        f"@postgres:5432/{pg['POSTGRES_DB']}"
    )
    assert env["REDIS_URL"].startswith("redis://redis:6379/")

    prometheus = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    api_job = jobs["more-api"]
    assert api_job["metrics_path"] == "/metrics"
    assert api_job["static_configs"][0]["targets"] == [f"api:{port}"]
    mounted = " ".join(services["prometheus"]["volumes"])
    assert "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml" in mounted
    # a metrics key set on the API is the token Prometheus scrapes with
    assert "MORE_METRICS_KEY" in env
    token_file = api_job["authorization"]["credentials_file"]
    assert token_file == "/run/secrets/metrics_key"
    assert "metrics_key" in services["prometheus"]["secrets"]
    assert compose["secrets"]["metrics_key"]["environment"] == "MORE_METRICS_KEY"


def test_deploy_dockerfile_consistent_with_settings_and_cli() -> None:
    text = (ROOT / "Dockerfile").read_text()
    lines = re.sub(r"\\\n", " ", text).splitlines()
    env: dict[str, str] = {}
    for line in lines:
        if line.startswith("ENV "):
            for pair in shlex.split(line[4:]):
                key, _, value = pair.partition("=")
                env[key] = value
    unknown = set(env) - SETTINGS - LIBRARY_ENV
    assert not unknown, f"Dockerfile ENV {unknown} are not Settings fields"
    port = env["MORE_PORT"]
    assert f"EXPOSE {port}" in text
    assert f"http://127.0.0.1:{port}/healthz" in text
    cmd = next(line for line in lines if line.startswith("CMD "))
    argv = yaml.safe_load(cmd[4:])
    assert argv[0] == "more" and _more_command_exists(argv[1:])
    assert "RUN more bootstrap" in text
    for path in ("app", "training", "more_cli", "migrations"):
        assert f"COPY {path} ./{path}" in text
        assert (ROOT / path).is_dir()


def test_deploy_docs_list_every_setting() -> None:
    doc = (ROOT / "README.md").read_text()
    missing = [name for name in SETTINGS if f"`{name}`" not in doc]
    assert not missing, f"README.md lacks {missing}"


def test_deploy_compose_redis_keeps_the_outbox_across_restarts(compose: dict[str, Any]) -> None:
    # The events outbox lives in Redis while PostgreSQL is down: append-only file, fsynced
    # every second, on a volume (docs/serving.md, "Durability").
    redis = compose["services"]["redis"]
    argv = list(redis["command"])
    options = dict(zip(argv[1::2], argv[2::2], strict=True))
    assert argv[0] == "redis-server"
    assert options["--appendonly"] == "yes" and options["--appendfsync"] == "everysec"
    assert options["--maxmemory-policy"].startswith("volatile-")  # never evicts the outbox
    volume = next(v for v in redis["volumes"] if v.endswith(":/data"))
    assert volume.split(":")[0] in compose["volumes"]


def _dockerfile_env() -> dict[str, str]:
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            for pair in shlex.split(line[4:]):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def test_deploy_public_binds_never_serve_the_demo_keys(compose: dict[str, Any]) -> None:
    image = {k: v for k, v in _dockerfile_env().items() if k in SETTINGS}
    api = {
        k: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(v))
        for k, v in compose["services"]["api"]["environment"].items()
        if k in SETTINGS
    }
    for env in (image, api):
        settings = Settings(_env_file=None, **env)  # type: ignore[call-arg]
        assert not settings.loopback_bind
        assert settings.storefront_key is None and settings.admin_key is None
        with pytest.raises(ValueError, match="public demo key"):
            Settings(_env_file=None, **{**env, "MORE_ADMIN_API_KEY": "demo-admin-key"})  # type: ignore[call-arg]
