"""The migration runner on a real server: once-only, checksummed, atomic, safe under concurrency."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from include.db.connection import connect
from include.db.migrate import Migration, MigrationError, apply_migrations, discover
from include.db.server import create_database


def _fresh_db(pg_server: str, name: str) -> str:
    create_database(pg_server, name)
    return pg_server.rsplit("/", 1)[0] + "/" + name


def _schema_snapshot(url: str) -> list[tuple]:
    conn = connect(url)
    with conn.cursor() as cur:
        cur.execute(
            """SELECT table_name, column_name, data_type FROM information_schema.columns
               WHERE table_schema = 'public' ORDER BY 1, 2"""
        )
        cols = cur.fetchall()
        cur.execute("SELECT filename, checksum, applied_at FROM schema_migrations ORDER BY 1")
        rows = cur.fetchall()
    conn.close()
    return cols + rows


def test_applying_twice_changes_nothing(pg_server: str) -> None:
    url = _fresh_db(pg_server, "mig_twice")
    conn = connect(url, statement_timeout_ms=0)
    first = apply_migrations(conn)
    before = _schema_snapshot(url)
    second = apply_migrations(conn)
    conn.close()
    assert first == [m.filename for m in discover()]
    assert first[0] == "20251018_intelligence_db.sql"
    assert second == []
    assert _schema_snapshot(url) == before


def test_two_runners_at_once_apply_each_file_once(pg_server: str) -> None:
    url = _fresh_db(pg_server, "mig_concurrent")
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            c = connect(url, statement_timeout_ms=0)
            results.append(apply_migrations(c))
            c.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    applied = sorted(name for r in results for name in r)
    assert applied == sorted(m.filename for m in discover())
    conn = connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM schema_migrations")
        assert cur.fetchone()[0] == len(discover())
    conn.close()


def test_changed_applied_file_is_refused(pg_server: str) -> None:
    url = _fresh_db(pg_server, "mig_changed")
    conn = connect(url, statement_timeout_ms=0)
    apply_migrations(conn)
    edited = [Migration(m.filename, m.sql + "\n-- edited\n") for m in discover()]
    with pytest.raises(MigrationError, match="different content"):
        apply_migrations(conn, edited)
    conn.close()


def test_failed_migration_leaves_database_as_it_was_and_names_statement(
    pg_server: str, tmp_path: Path
) -> None:
    url = _fresh_db(pg_server, "mig_failed")
    conn = connect(url, statement_timeout_ms=0)
    apply_migrations(conn)
    bad = Migration(
        "29990101_broken.sql",
        "CREATE TABLE half_done (id int);\nALTER TABLE no_such_table ADD COLUMN x int;\n",
    )
    with pytest.raises(MigrationError) as err:
        apply_migrations(conn, [*discover(), bad])
    assert err.value.filename == "29990101_broken.sql"
    assert "no_such_table" in (err.value.statement or "")
    assert "29990101_broken.sql" in str(err.value)
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('half_done')")
        assert cur.fetchone()[0] is None
        cur.execute("SELECT count(*) FROM schema_migrations WHERE filename = %s", (bad.filename,))
        assert cur.fetchone()[0] == 0
    conn.close()
