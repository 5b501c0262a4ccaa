"""Apply sql/migrations/*.sql in order, each once, in its own transaction, checksummed and serialized;
then sql/functions/*.sql (the current functions and views) on every run, in one transaction.

Dated migrations change the schema; the functions folder holds the one definition of each SQL function
and view (`CREATE OR REPLACE`), so changing a rule is an edit there, applied by the next migrate.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import psycopg2.extensions
import sqlparse

from include.core.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

MIGRATIONS_DIR = PROJECT_ROOT / "sql" / "migrations"
FUNCTIONS_DIR = PROJECT_ROOT / "sql" / "functions"
# Any constant works; it only has to be the same for every runner of this schema.
_ADVISORY_LOCK_KEY = 0x4E45524C4F4F50  # "NERLOOP"


class MigrationError(RuntimeError):
    """A migration could not be applied; the database is as it was before that file."""

    def __init__(self, filename: str, message: str, statement: str | None = None) -> None:
        self.filename = filename
        self.statement = statement
        where = f"\n  statement: {statement.strip()[:500]}" if statement else ""
        super().__init__(f"migration {filename}: {message}{where}")


@dataclass(frozen=True)
class Migration:
    filename: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in name order (names start with a date, so order is history)."""
    return [Migration(p.name, p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.sql"))]


def discover_functions(directory: Path = FUNCTIONS_DIR) -> list[Migration]:
    """The function and view files in name order (a number prefix: a view after the views it reads)."""
    return [Migration(f"{directory.name}/{m.filename}", m.sql) for m in discover(directory)]


def apply_migrations(
    conn: psycopg2.extensions.connection,
    migrations: list[Migration] | None = None,
    functions: list[Migration] | None = None,
) -> list[str]:
    """Apply what is pending, then every function file; return the dated migrations applied now.

    Safe to run from many processes at once. The function files are applied on every run (they are
    idempotent), after the dated migrations, all or none.
    """
    migrations = discover() if migrations is None else migrations
    functions = discover_functions() if functions is None else functions
    conn.autocommit = False
    applied_now: list[str] = []
    with conn.cursor() as cur:
        # Serializes concurrent runners; held until this session's final commit.
        cur.execute("SELECT pg_advisory_lock(%s)", (_ADVISORY_LOCK_KEY,))
        try:
            cur.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       filename text PRIMARY KEY,
                       checksum char(64) NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            conn.commit()
            cur.execute("SELECT filename, checksum FROM schema_migrations")
            done = dict(cur.fetchall())
            conn.commit()
            for migration in migrations:
                if migration.filename in done:
                    if done[migration.filename].strip() != migration.checksum:
                        raise MigrationError(
                            migration.filename,
                            "already applied with different content (checksum "
                            f"{done[migration.filename][:12]} != {migration.checksum[:12]}); "
                            "add a new migration instead of editing an applied one",
                        )
                    continue
                _apply_one(conn, cur, migration)
                applied_now.append(migration.filename)
                log.info("applied migration %s", migration.filename)
            for function in functions:
                _execute(conn, cur, function)
            conn.commit()
            log.info("applied %d function/view file(s)", len(functions))
        finally:
            conn.rollback()
            cur.execute("SELECT pg_advisory_unlock(%s)", (_ADVISORY_LOCK_KEY,))
            conn.commit()
    return applied_now


def _apply_one(
    conn: psycopg2.extensions.connection, cur: psycopg2.extensions.cursor, migration: Migration
) -> None:
    _execute(conn, cur, migration)
    cur.execute(
        "INSERT INTO schema_migrations (filename, checksum) VALUES (%s, %s)",
        (migration.filename, migration.checksum),
    )
    conn.commit()


def _execute(
    conn: psycopg2.extensions.connection, cur: psycopg2.extensions.cursor, migration: Migration
) -> None:
    """Run a file's statements in the open transaction; on failure roll it back and name the statement."""
    for statement in sqlparse.split(migration.sql):
        if not sqlparse.format(statement, strip_comments=True).strip():
            continue
        try:
            cur.execute(statement)
        except psycopg2.Error as exc:
            conn.rollback()
            raise MigrationError(migration.filename, str(exc).strip(), statement) from exc


def main() -> int:
    """`python -m include.adapters.db.migrate`: apply what is pending on the configured database (the
    production image's migrate step; the demo's `db migrate` does the same on its embedded server)."""
    from include.adapters.db.connection import connect

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        conn = connect(statement_timeout_ms=0)
    except psycopg2.OperationalError as exc:
        print(f"error: cannot reach the database: {str(exc).strip()}", file=sys.stderr)
        return 2
    try:
        applied = apply_migrations(conn)
    except MigrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        conn.close()
    print(f"applied: {applied or 'nothing (up to date)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
