"""Throwaway PostgreSQL and Redis servers for fault-injection tests.

Each runs on a free loopback port with its data in a temporary folder, and is stopped,
killed and restarted only by the test that started it: the shared servers on 5432 and
6379 are never touched.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.factories import free_port

_PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def _pg_tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in reversed(_PG_BIN):  # the newest installed version
        if (folder / name).exists():
            return str(folder / name)
    return None


def _as_postgres(*args: str) -> list[str]:
    """initdb refuses to run as root: run PostgreSQL tools as the `postgres` user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return list(args)


def _wait_for_port(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


class ThrowawayPostgres:
    """`initdb` + `pg_ctl` in a temporary folder (fsync off: only restarts are tested)."""

    def __init__(self) -> None:
        if _pg_tool("initdb") is None or _pg_tool("pg_ctl") is None:
            pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        # Not pytest's tmp dir: its parents are private to root, and as root the server
        # runs as `postgres`, which must reach its data folder.
        self.root = Path(tempfile.mkdtemp(prefix="more-throwaway-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        initdb = _pg_tool("initdb") or "initdb"
        subprocess.run(
            _as_postgres(initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres"),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_postgres(
                _pg_tool("pg_ctl") or "pg_ctl",
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.root / "pg.log"),
                "-w",
                "start",
            ),
            check=True,
            capture_output=True,
        )

    def stop(self, mode: str = "fast") -> None:
        """`fast` closes sessions cleanly; `immediate` is a crash (recovery on start)."""
        subprocess.run(
            _as_postgres(
                _pg_tool("pg_ctl") or "pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop"
            ),
            check=False,
            capture_output=True,
        )

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class ThrowawayRedis:
    """A `redis-server` of our own; `appendonly` persists to an AOF in its folder, as
    docker-compose.yml runs it (`appendfsync everysec`)."""

    def __init__(self, workdir: Path, *, appendonly: bool = False) -> None:
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server is not installed")
        self.workdir = workdir
        self.appendonly = appendonly
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "everysec"]
            if self.appendonly
            else ["--appendonly", "no"]
        )
        self.proc = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                *persistence,
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, 10)

    def kill(self) -> None:
        """SIGKILL: no shutdown save; only what the AOF already holds survives."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # only the process this test started
            self.proc.wait(5)
