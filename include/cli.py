"""Operator command line: `python -m include.cli demo|down|status|db ...|lineage ID`."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from include.db import repository
from include.db.connection import connect, database_url
from include.db.migrate import MigrationError, apply_migrations
from include.services.embedded_postgres import PostgresStartError
from include.services.process import ServiceError
from include.settings import get_settings
from include.stack import Stack


def db_up(stack: Stack) -> str:
    """Start the embedded server unless DATABASE_URL is set, then apply migrations. Returns the URL."""
    s = stack.settings
    if s.database_url:
        url = s.database_url
        print(f"database: using DATABASE_URL ({_redact(url)})")
    else:
        url = stack.postgres.start(database=s.db_name)
        print(f"database: embedded PostgreSQL 18 at {url} (data in {s.embedded_pg_dir})")
    conn = connect(url, statement_timeout_ms=0)
    try:
        applied = apply_migrations(conn)
    finally:
        conn.close()
    print(f"database: schema up to date ({len(applied)} migration(s) applied now)")
    return url


def _redact(url: str) -> str:
    head, sep, host = url.rpartition("@")
    if not sep or ":" not in head.split("//")[-1]:
        return url
    scheme, creds = head.split("//", 1)
    return f"{scheme}//{creds.split(':')[0]}:***@{host}"


def demo(stack: Stack) -> None:
    """Bring the loop up on the embedded defaults and say what a person does next."""
    from include.label_studio import client as ls_client

    url = db_up(stack)
    stack.shim.start()
    print(f"webhook shim: gunicorn at {stack.shim.url} (healthz, metrics)")
    ls = stack.label_studio
    print("label studio: starting (first start runs its migrations, ~45 s)...")
    ls.start()
    api = ls_client.connect(ls.url, ls.token)
    project_id = ls_client.ensure_project(api, stack.settings.label_studio_project)
    ls_client.ensure_webhook(
        api,
        project_id,
        stack.shim.webhook_url,
        {stack.settings.webhook_secret_header: stack.secrets["webhook_secret"]},
    )
    print(f"label studio: {ls.url} project {project_id}, webhook → {stack.shim.webhook_url}")
    print(
        "\nNext:\n"
        f"  open {ls.url}/projects/{project_id} and log in as {ls.username} "
        f"(password in {stack.settings.state_dir / 'secrets.json'})\n"
        f"  corrections land in Postgres: {url} (tables record_versions, annotations)\n"
        "  `make status` shows what runs, `make down` stops it all"
    )


def down(stack: Stack) -> None:
    for name, process in reversed(list(stack.processes().items())):
        print(f"{name}: {'stopped' if process.stop() else 'was not running'}")
    print(f"database: {'stopped' if stack.postgres.stop() else 'was not running'}")


def status(stack: Stack) -> int:
    running = 0
    pid = stack.postgres.pid()
    print(f"{'database':14s} {'running pid ' + str(pid) if pid else 'stopped'}")
    running += bool(pid)
    for name, process in stack.processes().items():
        pid = process.pid()
        print(f"{name:14s} {'running pid ' + str(pid) if pid else 'stopped'}  log {process.log_file}")
        running += bool(pid)
    return running


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="nerloop", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="start the local stack and prelabel the samples")
    sub.add_parser("down", help="stop everything the demo started")
    sub.add_parser("status", help="show what runs")
    db = sub.add_parser("db", help="the Intelligence DB")
    db.add_argument("action", choices=["up", "migrate", "url"])
    lineage = sub.add_parser("lineage", help="print the lineage of a record version")
    lineage.add_argument("record_version_id", type=int)
    args = parser.parse_args(argv)
    stack = Stack.from_env()
    try:
        if args.command == "demo":
            demo(stack)
        elif args.command == "down":
            down(stack)
        elif args.command == "status":
            status(stack)
        elif args.command == "db":
            if args.action == "up":
                db_up(stack)
            elif args.action == "migrate":
                conn = connect(statement_timeout_ms=0)
                try:
                    print(f"applied: {apply_migrations(conn) or 'nothing (up to date)'}")
                finally:
                    conn.close()
            else:
                print(database_url(get_settings()))
        elif args.command == "lineage":
            conn = connect()
            try:
                lineage_row = repository.record_version_lineage(conn, args.record_version_id)
                print(json.dumps(lineage_row.model_dump(mode="json"), indent=2))
            finally:
                conn.close()
    except (PostgresStartError, MigrationError, ServiceError, repository.RepositoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
