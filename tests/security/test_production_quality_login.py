"""The quality pages in the real Airflow api-server configured as docker-compose configures it: airflow.cfg as
shipped (no all-admins), users from AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS, passwords written from
AIRFLOW_PASSWORDS_JSON by include.adapters.airflow_users. Without a valid login every page answers 401."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import jwt
import pytest

from include.adapters.airflow_users import ALL_ADMINS_ENV, PASSWORDS_ENV, PASSWORDS_FILE_ENV, USERS_ENV
from include.core.settings import PROJECT_ROOT
from tests.helpers.airflow_api import running_api_server

pytestmark = pytest.mark.e2e

SME_PASSWORD = "sme-" + uuid.uuid4().hex
ADMIN_PASSWORD = "admin-" + uuid.uuid4().hex
JWT_SECRET = uuid.uuid4().hex + uuid.uuid4().hex
PAGES = ("/nerloop/", "/nerloop/api/timeline", "/nerloop/api/drift", "/nerloop/lineage?record_version_id=1")


@pytest.fixture(scope="module")
def api_server(airflow_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`airflow api-server` with compose's login settings; the passwords file written as compose writes it."""
    home = tmp_path_factory.mktemp("prod-api-server")
    env = {k: v for k, v in airflow_env.items() if k != ALL_ADMINS_ENV}
    env.update(
        {
            "AIRFLOW_CONFIG": str(PROJECT_ROOT / "airflow.cfg"),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
            "AIRFLOW__API_AUTH__JWT_SECRET": JWT_SECRET,
            USERS_ENV: "sme:viewer,ops:admin",
            PASSWORDS_FILE_ENV: str(home / "airflow-passwords.json"),
            PASSWORDS_ENV: json.dumps({"sme": SME_PASSWORD, "ops": ADMIN_PASSWORD}),
        }
    )
    prepared = subprocess.run(
        [sys.executable, "-m", "include.adapters.airflow_users"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROJECT_ROOT,
    )
    assert prepared.returncode == 0, prepared.stderr
    log = home / "api-server.log"
    try:
        with running_api_server(env, log) as url:
            yield url
    finally:
        assert SME_PASSWORD not in log.read_text(), "a password reached the api-server's log"


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _login(base: str, username: str, password: str) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(
        f"{base}/auth/token",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as error:
        return error.code, {}


def _forged(secret: str, algorithm: str = "HS512") -> str:
    now = int(time.time())
    claims = {
        "sub": "ops",
        "role": "ADMIN",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    claims |= {"aud": "apache-airflow", "iss": None}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm=algorithm)


def _unsigned() -> str:
    """An `alg: none` token claiming admin."""
    import base64

    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    now = int(time.time())
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({'sub': 'ops', 'role': 'ADMIN', 'exp': now + 600})}."


def test_quality_pages_answer_401_without_a_valid_login(db, api_server: str) -> None:
    hostile: dict[str, dict[str, str]] = {
        "nothing": {},
        "bearer garbage": {"Authorization": "Bearer not-a-jwt"},
        "basic auth": {"Authorization": "Basic c21lOnNtZQ=="},
        "forged, wrong secret": {"Authorization": f"Bearer {_forged('wrong-' + JWT_SECRET)}"},
        "alg none": {"Authorization": f"Bearer {_unsigned()}"},
        "forged cookie": {"Cookie": f"_token={_forged('guess-' + JWT_SECRET)}"},
    }
    seen = {
        (page, name): _get(api_server + page, headers)[0]
        for page in PAGES
        for name, headers in hostile.items()
    }
    print(json.dumps({f"{page} | {name}": status for (page, name), status in seen.items()}, indent=1))
    for (page, name), status in seen.items():
        # No credential: 401. A credential Airflow cannot verify: 401 or 403 (Airflow's "invalid token").
        assert status == 401 if name == "nothing" else status in (401, 403), f"{page} with {name}: {status}"
    # Airflow's own API is closed the same way.
    assert _get(f"{api_server}/api/v2/dags")[0] == 401


def test_no_token_without_the_password(api_server: str) -> None:
    print(
        {
            name: _login(api_server, *creds)[0]
            for name, creds in {
                "wrong password": ("sme", "wrong-password-123"),
                "empty password": ("sme", ""),
                "default admin:admin": ("admin", "admin"),
                "unknown user": ("nobody", SME_PASSWORD),
            }.items()
        }
    )
    assert _login(api_server, "sme", "wrong-password-123")[0] == 401
    assert _login(api_server, "sme", "")[0] in (400, 401, 422)
    assert _login(api_server, "admin", "admin")[0] == 401, "Airflow's default admin:admin is not a user here"
    assert _login(api_server, "nobody", SME_PASSWORD)[0] == 401
    # The all-admins shortcuts answer 403: no token without credentials.
    assert _get(f"{api_server}/auth/token")[0] == 403
    status, _ = _get(f"{api_server}/auth/token/login")
    assert status == 403


def test_a_logged_in_user_sees_the_pages(db, api_server: str) -> None:
    status, body = _login(api_server, "sme", SME_PASSWORD)
    assert status == 201, status
    token = body["access_token"]
    for page in PAGES[:3]:
        status, content = _get(api_server + page, {"Authorization": f"Bearer {token}"})
        assert status == 200, (page, status, content[:300])
    status, content = _get(f"{api_server}/nerloop/", {"Cookie": f"_token={token}"})
    assert status == 200 and b"NER loop" in content
    # Control for the forgeries above: the same claims signed with the real secret pass, so what refused
    # them was the signature (or its absence), not a malformed claim.
    assert (
        _get(f"{api_server}/nerloop/api/timeline", {"Authorization": f"Bearer {_forged(JWT_SECRET)}"})[0]
        == 200
    )
