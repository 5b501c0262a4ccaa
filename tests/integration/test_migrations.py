"""The migration runner on a real server: once-only, checksummed, atomic, safe under concurrency."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from include.adapters.db.connection import connect
from include.adapters.db.migrate import (
    FUNCTIONS_DIR,
    Migration,
    MigrationError,
    apply_migrations,
    discover,
    discover_functions,
)
from include.adapters.db.server import create_database


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


def _routines(url: str) -> list[tuple]:
    """Every function's definition and every view's definition and columns, in a stable order."""
    conn = connect(url)
    with conn.cursor() as cur:
        cur.execute(
            """SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p
               JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' ORDER BY 1, 2"""
        )
        functions = cur.fetchall()
        cur.execute("SELECT viewname, definition FROM pg_views WHERE schemaname = 'public' ORDER BY 1")
        views = cur.fetchall()
        cur.execute("SELECT count(*) FROM schema_migrations")
        migrations = cur.fetchall()
    conn.close()
    return functions + views + migrations


def test_functions_are_applied_on_every_run_and_a_second_run_changes_nothing(pg_server: str) -> None:
    url = _fresh_db(pg_server, "mig_functions_twice")
    conn = connect(url, statement_timeout_ms=0)
    apply_migrations(conn)
    before, schema = _routines(url), _schema_snapshot(url)
    assert apply_migrations(conn) == []
    conn.close()
    assert _routines(url) == before
    assert _schema_snapshot(url) == schema
    names = {row[0] for row in before[:-1]}
    # Each file in sql/functions defines the object it is named after.
    for f in discover_functions():
        assert f.filename.split("/", 1)[1].split("_", 1)[1].removesuffix(".sql") in names


def test_an_edited_function_file_takes_effect_on_the_next_migrate_without_a_migration(
    pg_server: str, tmp_path: Path
) -> None:
    url = _fresh_db(pg_server, "mig_functions_edit")
    conn = connect(url, statement_timeout_ms=0)
    apply_migrations(conn)
    before = _routines(url)
    functions = tmp_path / "functions"
    shutil.copytree(FUNCTIONS_DIR, functions)
    # A rule change: one edit in the function's file.
    rule = functions / "30_nerloop_apply_event.sql"
    old_note = "'annotation %s: task %s matches no record'"
    assert old_note in rule.read_text()
    rule.write_text(rule.read_text().replace(old_note, "'annotation %s: task %s has no record'"))
    # A view whose columns change: dropped and created again; the views reading it come after it.
    curve = functions / "56_quality_learning_curve.sql"
    curve.write_text(
        "DROP VIEW IF EXISTS quality_learning_curve CASCADE;\n"
        + curve.read_text()
        .replace("CREATE OR REPLACE VIEW", "CREATE VIEW")
        .replace(",\n       r.scores\n", "\n")
    )
    assert apply_migrations(conn, functions=discover_functions(functions)) == []
    with conn.cursor() as cur:
        cur.execute("SELECT pg_get_functiondef('nerloop_apply_event'::regproc)")
        assert "has no record" in cur.fetchone()[0]
        cur.execute(
            """SELECT column_name FROM information_schema.columns
               WHERE table_name = 'quality_learning_curve' AND column_name = 'scores'"""
        )
        assert cur.fetchall() == []
        cur.execute("SELECT to_regclass('quality_label_curve') IS NOT NULL")
        assert cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM schema_migrations")
        assert cur.fetchone()[0] == len(discover())
    conn.commit()
    # The folder as it is in the repository puts everything back.
    apply_migrations(conn)
    conn.close()
    assert _routines(url) == before


def test_a_failing_function_file_rolls_back_every_function_file(pg_server: str) -> None:
    url = _fresh_db(pg_server, "mig_functions_failed")
    conn = connect(url, statement_timeout_ms=0)
    apply_migrations(conn)
    before = _routines(url)
    edited = [
        Migration(f.filename, f.sql.replace("matches no record", "(edited)")) for f in discover_functions()
    ]
    bad = Migration(
        "functions/99_broken.sql", "CREATE OR REPLACE VIEW broken AS SELECT * FROM no_such_table;"
    )
    with pytest.raises(MigrationError) as err:
        apply_migrations(conn, functions=[*edited, bad])
    conn.close()
    assert err.value.filename == "functions/99_broken.sql"
    assert _routines(url) == before


def test_the_production_migrate_command_applies_once_and_names_an_unreachable_server(pg_server: str) -> None:
    """`python -m include.adapters.db.migrate` (compose's migrate step) on DATABASE_URL."""
    url = _fresh_db(pg_server, "migrate_command")
    env = {**os.environ, "DATABASE_URL": url}
    command = [sys.executable, "-m", "include.adapters.db.migrate"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert all(m.filename in first.stdout for m in discover())
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "nothing (up to date)" in again.stdout
    down = subprocess.run(
        command,
        env={**env, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert down.returncode == 2 and "cannot reach the database" in down.stderr
