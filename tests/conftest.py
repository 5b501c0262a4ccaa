"""Shared fixtures: one real PostgreSQL server per test session, a fresh database, clean tables per test."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg2
import pytest

from devstack.services.embedded_postgres import EmbeddedPostgres
from include.adapters.db.connection import connect
from include.adapters.db.migrate import apply_migrations
from include.adapters.db.server import create_database, drop_database

if TYPE_CHECKING:
    from devstack.services.label_studio import LabelStudioServer
    from devstack.services.shim import ShimServer

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Settings read from this test's environment: none cached by an earlier test (its monkeypatched
    variables are undone after it, the cache would keep them)."""
    from include.core.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real server: TEST_DATABASE_SERVER_URL if given, else an embedded one started here."""
    external = os.environ.get("TEST_DATABASE_SERVER_URL")
    if external:
        yield external
        return
    root = PROJECT_ROOT / ".state" / f"test-postgres-{os.getpid()}"
    pg = EmbeddedPostgres(root=root, port=free_port())
    pg.start()
    try:
        yield pg.url()
    finally:
        pg.stop()
        import shutil

        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(pg_server: str) -> Iterator[str]:
    """A fresh database for this test session, with the schema applied."""
    name = f"nerloop_test_{uuid.uuid4().hex[:10]}"
    create_database(pg_server, name)
    url = pg_server.rsplit("/", 1)[0] + "/" + name
    conn = connect(url, statement_timeout_ms=0)
    apply_migrations(conn)
    conn.close()
    os.environ["DATABASE_URL"] = url
    from include.core.settings import get_settings

    get_settings.cache_clear()
    yield url
    drop_database(pg_server, name)


_TABLES = (
    "training_manifest, training_runs, record_versions, annotations, model_versions, "
    "webhook_events, ls_task_links, records, documents, reconcile_watermarks, ls_imports"
)


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg2.extensions.connection]:
    """A connection to the session database, with every domain table emptied first."""
    conn = connect(database_url)
    with conn.cursor() as cur:
        cur.execute(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE")
    conn.commit()
    yield conn
    conn.rollback()
    conn.close()


@pytest.fixture(scope="session")
def label_studio() -> Iterator[LabelStudioServer]:
    """A real Label Studio from its own virtualenv (LS_VENV), fresh SQLite data, on a free port."""
    import shutil

    from devstack.services.label_studio import LabelStudioServer

    venv = Path(os.environ.get("LS_VENV", PROJECT_ROOT / ".venv-ls"))
    root = PROJECT_ROOT / ".state" / f"test-label-studio-{os.getpid()}"
    server = LabelStudioServer(
        venv=venv,
        root=root,
        port=free_port(),
        username="admin@example.com",
        password="admin-pass-123",
        token=uuid.uuid4().hex + "abcd1234",
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def shim_server(database_url: str, tmp_path: Path) -> Iterator[ShimServer]:
    """The webhook shim under gunicorn on a free port, writing to the session database."""
    from devstack.services.shim import ShimServer

    server = ShimServer(
        run_dir=tmp_path / "shim",
        port=free_port(),
        database_url=database_url,
        secret="shim-secret-" + uuid.uuid4().hex,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def airflow_env(
    pg_server: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Environment for `airflow` subprocesses: metadata in its own database on the test server, migrated."""
    import subprocess
    import sys

    name = f"airflow_test_{uuid.uuid4().hex[:8]}"
    create_database(pg_server, name)
    home = tmp_path_factory.mktemp("airflow-home")
    server = pg_server.rsplit("/", 1)[0]
    env = {
        **os.environ,
        "NERLOOP_HOME": str(PROJECT_ROOT),
        "PYTHONPATH": str(PROJECT_ROOT),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW_CONFIG": str(PROJECT_ROOT / "airflow.cfg"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": server.replace("postgresql://", "postgresql+psycopg2://")
        + f"/{name}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW_CONN_NERLOOP_DB": database_url,
        "DATABASE_URL": database_url,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    airflow = str(Path(sys.executable).parent / "airflow")
    res = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return env


def run_dag_test(env: dict[str, str], dag_id: str, conf: dict | None = None, timeout: int = 600):
    """`airflow dags test DAG_ID -c CONF` in a subprocess; returns the completed process."""
    import json
    import subprocess
    import sys

    airflow = str(Path(sys.executable).parent / "airflow")
    argv = [airflow, "dags", "test", dag_id]
    if conf:
        argv += ["-c", json.dumps(conf)]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def moto_s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch):
    """A boto3 S3 client of the moto server, with the AWS environment (test keys, its endpoint) set."""
    import boto3

    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_endpoint,
    }.items():
        monkeypatch.setenv(key, value)
    from include.core.settings import get_settings

    get_settings.cache_clear()  # another fixture of the test may have read settings before these variables
    return boto3.client("s3", endpoint_url=moto_endpoint)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 for the test session; SIGTERM on exit."""
    if shutil.which("moto_server", path=os.path.dirname(sys.executable)) is None:
        raise RuntimeError("moto_server is missing: install requirements-dev.txt (moto[server])")
    port = free_port()
    process = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import requests

        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except requests.RequestException:
                # A loaded machine can accept the connection before moto answers: keep polling.
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"moto_server did not answer on port {port} within 60 s") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
