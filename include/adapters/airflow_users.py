"""Airflow's logins (SimpleAuthManager): the users from settings, their passwords from a secret.

Airflow reads `[core] simple_auth_manager_users` ("name:role,...") and a JSON passwords file
(`simple_auth_manager_passwords_file`, opened read-write, so it cannot be a read-only secret mount). This
module writes that file (mode 600) from a JSON object of passwords and refuses what would leave the UI and
the quality pages open: every request as admin (`simple_auth_manager_all_admins`), no users, a user with no
password or a short one, a role Airflow does not know.

In docker-compose the api-server runs `python -m include.adapters.airflow_users` before `airflow api-server`:
users from AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS, passwords from AIRFLOW_PASSWORDS_JSON (.env), the file
at AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE. The one-machine demo writes its admin's password
(kept in the demo's secrets file) the same way.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

ROLES = ("viewer", "user", "op", "admin")
MIN_PASSWORD_LENGTH = 12
USERS_ENV = "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"
PASSWORDS_FILE_ENV = "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
ALL_ADMINS_ENV = "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"
PASSWORDS_ENV = "AIRFLOW_PASSWORDS_JSON"


class AirflowUsersError(ValueError):
    """The users or passwords would leave Airflow open; the message says which and how to fix it."""


def parse_users(setting: str) -> dict[str, str]:
    """`name:role,name:role` (Airflow's format) as {name: role}; refuses duplicates and unknown roles."""
    users: dict[str, str] = {}
    for entry in (part.strip() for part in setting.split(",")):
        if not entry:
            continue
        name, sep, role = entry.partition(":")
        name, role = name.strip(), role.strip().lower()
        if not sep or not name or ":" in role:
            raise AirflowUsersError(f"user {entry!r}: expected name:role")
        if role not in ROLES:
            raise AirflowUsersError(f"user {name!r}: role {role!r} is not one of {', '.join(ROLES)}")
        if name in users:
            raise AirflowUsersError(f"user {name!r} is listed twice")
        users[name] = role
    if not users:
        raise AirflowUsersError(f"no Airflow users: set {USERS_ENV}, e.g. admin:admin,sme:viewer")
    return users


def check_passwords(users: Mapping[str, str], passwords: Mapping[str, object]) -> dict[str, str]:
    """The password of each user, checked: present, a string, at least MIN_PASSWORD_LENGTH long."""
    out: dict[str, str] = {}
    for name in users:
        password = passwords.get(name)
        if not isinstance(password, str) or not password:
            raise AirflowUsersError(f"user {name!r} has no password in {PASSWORDS_ENV}")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AirflowUsersError(f"user {name!r}: password shorter than {MIN_PASSWORD_LENGTH} characters")
        out[name] = password
    return out


def write_passwords_file(path: Path, users: Mapping[str, str], passwords: Mapping[str, object]) -> None:
    """Write Airflow's passwords file for `users` (mode 600, replaced atomically)."""
    checked = check_passwords(users, passwords)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(checked) + "\n")
    os.replace(staging, path)


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "t", "yes", "y", "on")


def from_environment(env: Mapping[str, str]) -> Path:
    """Check the environment's Airflow login settings and write the passwords file; returns its path."""
    if _true(env.get(ALL_ADMINS_ENV)):
        raise AirflowUsersError(f"{ALL_ADMINS_ENV} makes every request an admin: unset it")
    users = parse_users(env.get(USERS_ENV, ""))
    file = env.get(PASSWORDS_FILE_ENV, "").strip()
    if not file:
        raise AirflowUsersError(f"set {PASSWORDS_FILE_ENV} (a writable path; Airflow opens it read-write)")
    try:
        passwords = json.loads(env.get(PASSWORDS_ENV) or "")
    except json.JSONDecodeError:
        raise AirflowUsersError(
            f'{PASSWORDS_ENV} must be a JSON object of passwords, e.g. {{"admin": "…"}}'
        ) from None
    if not isinstance(passwords, dict):
        raise AirflowUsersError(f"{PASSWORDS_ENV} must be a JSON object of passwords")
    path = Path(file)
    write_passwords_file(path, users, passwords)
    return path


def main() -> int:
    """Entry point for the compose api-server: 0 when the file is written, 2 (and why) otherwise."""
    try:
        path = from_environment(os.environ)
    except (AirflowUsersError, OSError) as error:
        print(f"airflow users: {error}", file=sys.stderr)
        return 2
    users = parse_users(os.environ[USERS_ENV])
    print(f"airflow users: {', '.join(f'{n} ({r})' for n, r in users.items())}; passwords in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
