"""Airflow's logins in production: the api-server's pre-start check refuses what would leave Airflow (and the
quality pages) open, and writes the passwords file Airflow reads, mode 600."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from include.adapters.airflow_users import (
    ALL_ADMINS_ENV,
    PASSWORDS_ENV,
    PASSWORDS_FILE_ENV,
    USERS_ENV,
    AirflowUsersError,
    from_environment,
    parse_users,
)
from include.core.settings import PROJECT_ROOT

GOOD = "correct-horse-battery"


def _env(tmp_path: Path, **over: str) -> dict[str, str]:
    env = {
        USERS_ENV: "admin:admin,sme:viewer",
        PASSWORDS_FILE_ENV: str(tmp_path / "auth" / "passwords.json"),
        PASSWORDS_ENV: json.dumps({"admin": GOOD, "sme": GOOD + "-2"}),
    }
    env.update(over)
    return env


def test_writes_the_passwords_file_mode_600(tmp_path: Path) -> None:
    path = from_environment(_env(tmp_path))
    assert json.loads(path.read_text()) == {"admin": GOOD, "sme": GOOD + "-2"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_only_the_configured_users_get_a_password(tmp_path: Path) -> None:
    extra = json.dumps({"admin": GOOD, "sme": GOOD, "ghost": GOOD})
    path = from_environment(_env(tmp_path, **{PASSWORDS_ENV: extra}))
    assert set(json.loads(path.read_text())) == {"admin", "sme"}


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({ALL_ADMINS_ENV: "True"}, "every request an admin"),
        ({ALL_ADMINS_ENV: " yes "}, "every request an admin"),
        ({USERS_ENV: ""}, "no Airflow users"),
        ({USERS_ENV: " , "}, "no Airflow users"),
        ({USERS_ENV: "admin"}, "expected name:role"),
        ({USERS_ENV: ":admin"}, "expected name:role"),
        ({USERS_ENV: "admin:root"}, "is not one of"),
        ({USERS_ENV: "admin:admin:team-a"}, "expected name:role"),
        ({USERS_ENV: "admin:admin,admin:viewer"}, "listed twice"),
        ({PASSWORDS_ENV: ""}, "JSON object"),
        ({PASSWORDS_ENV: "admin=secret"}, "JSON object"),
        ({PASSWORDS_ENV: '["admin"]'}, "JSON object"),
        ({PASSWORDS_ENV: json.dumps({"admin": GOOD})}, "'sme' has no password"),
        ({PASSWORDS_ENV: json.dumps({"admin": GOOD, "sme": ""})}, "'sme' has no password"),
        ({PASSWORDS_ENV: json.dumps({"admin": GOOD, "sme": 123456789012345})}, "'sme' has no password"),
        ({PASSWORDS_ENV: json.dumps({"admin": GOOD, "sme": "admin"})}, "shorter than 12"),
        ({PASSWORDS_FILE_ENV: ""}, "writable path"),
    ],
)
def test_refuses_settings_that_leave_airflow_open(tmp_path: Path, over: dict[str, str], reason: str) -> None:
    with pytest.raises(AirflowUsersError, match=reason):
        from_environment(_env(tmp_path, **over))
    assert not (tmp_path / "auth" / "passwords.json").exists()


def test_roles_are_airflows_and_case_does_not_matter() -> None:
    assert parse_users(" Admin:ADMIN , op:Op,u:user,v:viewer ") == {
        "Admin": "admin",
        "op": "op",
        "u": "user",
        "v": "viewer",
    }


def test_the_compose_entry_point_exits_2_and_names_the_problem(tmp_path: Path) -> None:
    """What the api-server container runs before `airflow api-server`: a refusal stops the container."""
    base = {"PATH": os.environ["PATH"], "PYTHONPATH": str(PROJECT_ROOT)}
    for env, expect in (
        ({**base, **_env(tmp_path, **{ALL_ADMINS_ENV: "true"})}, 2),
        ({**base, **_env(tmp_path, **{PASSWORDS_ENV: "{}"})}, 2),
        ({**base, **_env(tmp_path)}, 0),
    ):
        res = subprocess.run(
            [sys.executable, "-m", "include.adapters.airflow_users"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=PROJECT_ROOT,
        )
        assert res.returncode == expect, res.stderr
        assert GOOD not in res.stdout + res.stderr, "a password was printed"
        if expect:
            assert res.stderr.startswith("airflow users: ")
