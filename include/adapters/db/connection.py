"""Open psycopg2 connections with connect and statement timeouts, so a dead database fails fast."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from include.core.settings import Settings, get_settings

psycopg2.extras.register_default_jsonb(loads=None, globally=True)


def database_url(settings: Settings | None = None) -> str:
    """DATABASE_URL when given, else the URL of the embedded server under the state folder."""
    s = settings or get_settings()
    if s.db.database_url:
        return s.db.database_url
    return f"postgresql://postgres@127.0.0.1:{s.db.embedded_pg_port}/{s.db.db_name}"


def connect(
    dsn: str | None = None,
    *,
    connect_timeout_s: int | None = None,
    statement_timeout_ms: int | None = None,
    application_name: str = "nerloop",
    synchronous_commit: str | None = None,
) -> psycopg2.extensions.connection:
    """A new connection; timeouts default to the settings'. Callers own commit/rollback/close."""
    s = get_settings()
    timeout = s.db.db_statement_timeout_ms if statement_timeout_ms is None else statement_timeout_ms
    options = f"-c statement_timeout={int(timeout)} -c lock_timeout={int(timeout)}"
    if synchronous_commit is not None:
        options += f" -c synchronous_commit={synchronous_commit}"
    return psycopg2.connect(
        dsn or database_url(s),
        connect_timeout=connect_timeout_s or s.db.db_connect_timeout_s,
        options=options,
        application_name=application_name,
    )


@contextmanager
def transaction(conn: psycopg2.extensions.connection) -> Iterator[psycopg2.extensions.cursor]:
    """A cursor inside one transaction: commit on success, roll back on any error."""
    try:
        with conn.cursor() as cur:
            yield cur
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def ping(conn: psycopg2.extensions.connection) -> None:
    """Raise unless the server answers a trivial query on this connection."""
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        cur.fetchone()
