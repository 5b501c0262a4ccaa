"""The one-machine demo keeps the same closed defaults: its Postgres password and Airflow admin password are
generated once into secrets.json (mode 600), DATABASE_URL carries the password, Airflow gets real logins, and
nothing the demo prints shows a password."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.cli import _redact
from devstack.stack import Stack, stack_secrets
from include.adapters.airflow_users import ALL_ADMINS_ENV, PASSWORDS_FILE_ENV, USERS_ENV
from include.core.settings import get_settings


@pytest.fixture
def demo_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in (
        "DATABASE_URL",
        "EMBEDDED_PG_PASSWORD",
        "AIRFLOW_ADMIN_PASSWORD",
        USERS_ENV,
        PASSWORDS_FILE_ENV,
        ALL_ADMINS_ENV,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STATE_DIR", str(tmp_path / "state"))
    get_settings.cache_clear()
    yield tmp_path / "state"
    get_settings.cache_clear()


def test_secrets_are_generated_once_mode_600(demo_state: Path) -> None:
    first = stack_secrets(get_settings())
    path = demo_state / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first["postgres_password"]) >= 24 and len(first["airflow_admin_password"]) >= 18
    assert stack_secrets(get_settings()) == first == json.loads(path.read_text())


def test_database_url_carries_the_password_and_prints_redacted(demo_state: Path) -> None:
    stack = Stack.from_env()
    password = stack.secrets["postgres_password"]
    assert stack.postgres.password == password
    url = stack.database_url()
    assert url.startswith(f"postgresql://postgres:{password}@127.0.0.1:")
    env = stack.airflow_env()
    for key in ("DATABASE_URL", "AIRFLOW_CONN_NERLOOP_DB", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
        assert f":{password}@" in env[key], key
    assert password not in _redact(url) and _redact(url).startswith("postgresql://postgres:***@")


def test_airflow_in_the_demo_needs_a_login(demo_state: Path) -> None:
    stack = Stack.from_env()
    env = stack.airflow_env()
    assert ALL_ADMINS_ENV not in env
    assert env[USERS_ENV] == "admin:admin"
    assert env[PASSWORDS_FILE_ENV] == str(stack.airflow_passwords_file)
    stack.write_airflow_passwords()
    written = stack.airflow_passwords_file
    assert json.loads(written.read_text()) == {"admin": stack.secrets["airflow_admin_password"]}
    assert stat.S_IMODE(written.stat().st_mode) == 0o600


def test_an_operators_own_airflow_users_are_left_alone(
    demo_state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = demo_state / "own-passwords.json"
    monkeypatch.setenv(USERS_ENV, "me:admin")
    monkeypatch.setenv(PASSWORDS_FILE_ENV, str(own))
    stack = Stack.from_env()
    stack.write_airflow_passwords()
    assert not stack.airflow_passwords_file.exists() and not own.exists()
    env = stack.airflow_env()
    assert env[USERS_ENV] == "me:admin" and env[PASSWORDS_FILE_ENV] == str(own)
    assert os.environ[USERS_ENV] == "me:admin"
