"""Command line for operators: `python -m include.cli db up|down|status|migrate`, `lineage ID`."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from include.db import repository
from include.db.connection import connect, database_url
from include.db.migrate import MigrationError, apply_migrations
from include.services.embedded_postgres import EmbeddedPostgres, PostgresStartError
from include.settings import get_settings


def embedded_postgres() -> EmbeddedPostgres:
    s = get_settings()
    return EmbeddedPostgres(root=s.embedded_pg_dir, port=s.embedded_pg_port)


def db_up() -> str:
    """Start the embedded server unless DATABASE_URL is set, then apply migrations. Returns the URL."""
    s = get_settings()
    if s.database_url:
        url = s.database_url
        print(f"database: using DATABASE_URL ({_redact(url)})")
    else:
        url = embedded_postgres().start(database=s.db_name)
        print(f"database: embedded PostgreSQL running at {url} (data in {s.embedded_pg_dir})")
    conn = connect(url, statement_timeout_ms=0)
    try:
        applied = apply_migrations(conn)
    finally:
        conn.close()
    print(f"database: schema up to date ({len(applied)} migration(s) applied now)")
    return url


def _redact(url: str) -> str:
    if "@" in url and ":" in url.split("@")[0].split("//")[-1]:
        scheme, rest = url.split("//", 1)
        creds, host = rest.split("@", 1)
        return f"{scheme}//{creds.split(':')[0]}:***@{host}"
    return url


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="nerloop", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    db = sub.add_parser("db", help="the Intelligence DB")
    db.add_argument("action", choices=["up", "down", "status", "migrate", "url"])
    lineage = sub.add_parser("lineage", help="print the lineage of a record version")
    lineage.add_argument("record_version_id", type=int)
    args = parser.parse_args(argv)

    try:
        if args.command == "db":
            return _db(args.action)
        if args.command == "lineage":
            conn = connect()
            try:
                print(
                    json.dumps(
                        repository.record_version_lineage(conn, args.record_version_id).model_dump(
                            mode="json"
                        ),
                        indent=2,
                    )
                )
            finally:
                conn.close()
            return 0
    except (PostgresStartError, MigrationError, repository.RepositoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1


def _db(action: str) -> int:
    pg = embedded_postgres()
    if action == "up":
        db_up()
    elif action == "down":
        print("database: stopped" if pg.stop() else "database: was not running")
    elif action == "status":
        pid = pg.pid()
        print(f"database: embedded PostgreSQL {'running, pid ' + str(pid) if pid else 'not running'}")
    elif action == "migrate":
        conn = connect(statement_timeout_ms=0)
        try:
            print(f"applied: {apply_migrations(conn) or 'nothing (up to date)'}")
        finally:
            conn.close()
    elif action == "url":
        print(database_url())
    return 0


if __name__ == "__main__":
    sys.exit(main())
