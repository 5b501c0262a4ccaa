"""The embedded Postgres (the demo's and the tests'): scram-sha-256 for every connection, TCP and Unix
socket, the password kept mode 600; a data folder an older version initialised with `trust` is closed on its
next start."""

from __future__ import annotations

import os
import shutil
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from devstack.services.embedded_postgres import EmbeddedPostgres, PostgresStartError
from include.core.settings import PROJECT_ROOT
from tests.conftest import free_port


@pytest.fixture
def pg_root() -> Iterator[Path]:
    # Under the project (not /tmp): as root the server's user must be able to traverse the path.
    root = PROJECT_ROOT / ".state" / f"test-pg-auth-{uuid.uuid4().hex[:8]}"
    try:
        yield root
    finally:
        EmbeddedPostgres(root=root, port=0).stop()
        shutil.rmtree(root, ignore_errors=True)


def _refused(dsn: str) -> str:
    with pytest.raises(psycopg2.OperationalError) as refused:
        psycopg2.connect(dsn, connect_timeout=5).close()
    return str(refused.value)


def _probes(pg: EmbeddedPostgres) -> None:
    tcp = f"host={pg.host} port={pg.port} dbname=postgres"
    assert "no password supplied" in _refused(f"{tcp} user=postgres")
    assert "password authentication failed" in _refused(f"{tcp} user=postgres password=postgres")
    assert "no password supplied" in _refused(f"{tcp} user=postgres password=''")
    # Another role name gets no further (and no hint whether it exists).
    assert "password authentication failed" in _refused(f"{tcp} user=embedded_postgres password=x")
    # The Unix socket is no way round it either.
    assert "no password supplied" in _refused(
        f"host={pg.data_dir} port={pg.port} dbname=postgres user=postgres"
    )
    with psycopg2.connect(pg.url(), connect_timeout=5) as conn, conn.cursor() as cur:
        cur.execute("SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'postgres'")
        assert cur.fetchone() == (True,)
    conn.close()


def test_refuses_a_connection_without_the_password(pg_root: Path) -> None:
    pg = EmbeddedPostgres(root=pg_root, port=free_port())
    url = pg.start(database="closed")
    try:
        assert url.startswith("postgresql://postgres:") and "@127.0.0.1:" in url
        _probes(pg)
        assert stat.S_IMODE(pg.password_file.stat().st_mode) == 0o600
        hba = (pg.data_dir / "pg_hba.conf").read_text()
        rules = [line for line in hba.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        assert rules and all(line.split()[-1] == "scram-sha-256" for line in rules), rules
        # No initdb password file is left behind.
        assert not list(pg_root.glob(".initdb-password-*"))
        # A second instance on the same folder (another process) reads the kept password.
        assert EmbeddedPostgres(root=pg_root, port=pg.port).url() == pg.url()
    finally:
        pg.stop()


def test_a_given_password_is_used_and_a_wrong_one_is_named_at_start(pg_root: Path) -> None:
    secret = "demo-" + uuid.uuid4().hex
    pg = EmbeddedPostgres(root=pg_root, port=free_port(), password=secret)
    pg.start()
    try:
        assert secret in pg.url() and not pg.password_file.exists(), "the caller keeps its own password"
        assert secret not in repr(pg)
        _probes(pg)
        with pytest.raises(PostgresStartError, match="refuses the password given") as refused:
            EmbeddedPostgres(root=pg_root, port=pg.port, password="not-" + secret).start()
        assert secret not in str(refused.value)
    finally:
        pg.stop()


def test_a_data_folder_initialised_with_trust_is_closed_on_its_next_start(pg_root: Path) -> None:
    pg = EmbeddedPostgres(root=pg_root, port=free_port(), password="upgrade-" + uuid.uuid4().hex)
    pg_root.mkdir(parents=True)
    if os.geteuid() == 0:
        pg._prepare_as_root()
    else:
        pg.data_dir.mkdir(parents=True)
    # What the previous version did: initdb --auth=trust.
    res = pg._run("initdb", "-D", str(pg.data_dir), "-U", "postgres", "--auth=trust", "--locale=C")
    assert res.returncode == 0, res.stderr
    pg._run(
        "pg_ctl",
        "-D",
        str(pg.data_dir),
        "-l",
        str(pg.log_file),
        "-o",
        f"-h 127.0.0.1 -p {pg.port} -k {pg.data_dir}",
        "-w",
        "start",
    )
    try:
        # Open to anyone before: trust.
        psycopg2.connect(f"host=127.0.0.1 port={pg.port} user=postgres dbname=postgres").close()
        pg.start(database="after_upgrade")
        _probes(pg)
        hba = (pg.data_dir / "pg_hba.conf").read_text().splitlines()
        assert "trust" not in [line.split()[-1] for line in hba if line.strip() and not line.startswith("#")]
        # And it stays closed across a restart.
        pg.stop()
        pg.start()
        _probes(pg)
    finally:
        pg.stop()
