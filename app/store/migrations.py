"""Run the Alembic migrations from code (`more db upgrade`, `more up`, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config


def alembic_config(url: str) -> Config:
    """A config for the bundled `migrations` scripts against `url` (an async URL)."""
    import migrations

    cfg = Config()
    # `__path__` covers a regular package and an editable install's namespace mapping.
    cfg.set_main_option("script_location", str(Path(next(iter(migrations.__path__)))))
    # ConfigParser interpolation treats % specially (URL-encoded passwords).
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logging"] = False
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate up; blocking (it runs its own event loop), so call it outside a running loop
    or through `asyncio.to_thread`."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "-1") -> None:
    command.downgrade(alembic_config(url), revision)
