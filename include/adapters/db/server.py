"""Databases on a server: create and drop them (the embedded server's setup and the tests' databases)."""

from __future__ import annotations

import psycopg2


def create_database(server_url: str, database: str) -> bool:
    """Create a database if it does not exist; True when created."""
    conn = psycopg2.connect(server_url, connect_timeout=5)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cur.fetchone():
                return False
            cur.execute(f'CREATE DATABASE "{_safe_identifier(database)}"')
            return True
    finally:
        conn.close()


def drop_database(server_url: str, database: str) -> None:
    conn = psycopg2.connect(server_url, connect_timeout=5)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{_safe_identifier(database)}" WITH (FORCE)')
    finally:
        conn.close()


def _safe_identifier(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"database name must be alphanumeric/underscore, got {name!r}")
    return name
