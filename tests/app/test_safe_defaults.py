"""Safe defaults: the public demo keys only on a loopback bind, and a service on a public
bind that has no key at all refuses to start, each with a message naming what to set."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from app.core.config import DEMO_ADMIN_KEY, DEMO_STOREFRONT_KEY, Settings, is_loopback
from app.main import UnsafeStartupError, create_app
from app.store.migrations import upgrade
from tests.factories import ScriptedEngine, bearer, run_sync


def _embedded(tmp_path: Path, **values: object) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        DATABASE_URL=None,
        REDIS_URL=None,
        MORE_DATA_DIR=tmp_path,
        **values,
    )


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("api.internal", False),
    ],
)
def test_safe_defaults_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_safe_defaults_demo_keys_only_on_a_loopback_bind(tmp_path: Path) -> None:
    laptop = _embedded(tmp_path)
    assert (laptop.storefront_key, laptop.admin_key) == (DEMO_STOREFRONT_KEY, DEMO_ADMIN_KEY)

    public = _embedded(tmp_path, MORE_HOST="0.0.0.0")
    assert public.storefront_key is None and public.admin_key is None
    for name, value in (
        ("MORE_DEMO_API_KEY", DEMO_STOREFRONT_KEY),
        ("MORE_ADMIN_API_KEY", DEMO_ADMIN_KEY),
    ):
        with pytest.raises(ValidationError, match=f"{name} is a public demo key") as err:
            _embedded(tmp_path, MORE_HOST="0.0.0.0", **{name: value})
        assert "MORE_HOST=0.0.0.0" in str(err.value)
    own = _embedded(tmp_path, MORE_HOST="0.0.0.0", MORE_ADMIN_API_KEY="an-operator-secret")
    assert own.admin_key == "an-operator-secret" and own.storefront_key is None


async def test_safe_defaults_public_bind_without_any_key_refuses_to_start(
    tmp_path: Path,
) -> None:
    settings = _embedded(tmp_path, MORE_HOST="0.0.0.0")
    run_sync(upgrade, settings.database_url)
    app = create_app(settings=settings, engine=ScriptedEngine())
    with pytest.raises(UnsafeStartupError) as err:
        async with app.router.lifespan_context(app):
            pass
    message = str(err.value)
    for what in ("MORE_HOST=0.0.0.0", "MORE_ADMIN_API_KEY", "more apikey create", "127.0.0.1"):
        assert what in message


async def test_safe_defaults_public_bind_with_own_key_serves_and_refuses_demo_keys(
    tmp_path: Path,
) -> None:
    settings = _embedded(tmp_path, MORE_HOST="0.0.0.0", MORE_ADMIN_API_KEY="an-operator-secret")
    run_sync(upgrade, settings.database_url)
    app = create_app(settings=settings, engine=ScriptedEngine())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        demo = await client.get("/v1/experiments", headers=bearer(DEMO_ADMIN_KEY))
        assert demo.status_code == 401
        own = await client.get("/v1/experiments", headers=bearer("an-operator-secret"))
        assert own.status_code == 200, own.text


def test_safe_defaults_serve_on_a_public_host_refuses_demo_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from more_cli.main import app as more

    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: started.append(k))
    for name in ("DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    # `serve --host` writes MORE_HOST for the app's own settings: restored after the test.
    monkeypatch.setenv("MORE_HOST", "127.0.0.1")
    env = {"MORE_DATA_DIR": str(tmp_path), "MORE_ADMIN_API_KEY": DEMO_ADMIN_KEY}
    result = CliRunner().invoke(more, ["serve", "--host", "0.0.0.0"], env=env)
    assert result.exit_code == 2, result.output
    assert "public demo key" in result.output and not started
    # On loopback the same configuration is the laptop demo, and starts.
    monkeypatch.setenv("MORE_HOST", "127.0.0.1")
    result = CliRunner().invoke(more, ["serve", "--host", "127.0.0.1"], env=env)
    assert result.exit_code == 0, result.output
    assert started and started[-1]["host"] == "127.0.0.1"  # type: ignore[index]
