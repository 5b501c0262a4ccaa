"""A small thread-safe Postgres connection pool that drops broken connections, so the shim recovers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.extensions

from include.adapters.db.connection import connect


class DatabaseUnavailable(RuntimeError):
    """The database could not be reached or did not answer in time."""


class ConnectionPool:
    def __init__(
        self,
        dsn: str,
        *,
        statement_timeout_ms: int,
        connect_timeout_s: int = 2,
        size: int = 8,
        synchronous_commit: str | None = None,
        autocommit: bool = False,
    ):
        self._autocommit = autocommit
        self._dsn = dsn
        self._synchronous_commit = synchronous_commit
        self._statement_timeout_ms = statement_timeout_ms
        self._connect_timeout_s = connect_timeout_s
        self._idle: list[psycopg2.extensions.connection] = []
        self._lock = threading.Lock()
        self._size = size

    def _new(self) -> psycopg2.extensions.connection:
        try:
            conn = connect(
                self._dsn,
                connect_timeout_s=self._connect_timeout_s,
                statement_timeout_ms=self._statement_timeout_ms,
                application_name="webhook_shim",
                synchronous_commit=self._synchronous_commit,
            )
        except psycopg2.OperationalError as exc:
            raise DatabaseUnavailable(_first_line(exc)) from exc
        conn.autocommit = self._autocommit
        return conn

    @contextmanager
    def connection(self) -> Iterator[psycopg2.extensions.connection]:
        """A connection for one unit of work; broken ones are closed, never returned to the pool."""
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None or conn.closed:
            conn = self._new()
        healthy = True
        try:
            yield conn
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            healthy = False
            raise DatabaseUnavailable(_first_line(exc)) from exc
        except BaseException:
            healthy = not conn.closed
            raise
        finally:
            if not conn.closed:
                try:
                    conn.rollback()
                except psycopg2.Error:
                    healthy = False
            if healthy and not conn.closed:
                with self._lock:
                    if len(self._idle) < self._size:
                        self._idle.append(conn)
                        conn = None
            if conn is not None and not conn.closed:
                conn.close()

    def close(self) -> None:
        with self._lock:
            for conn in self._idle:
                conn.close()
            self._idle.clear()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
