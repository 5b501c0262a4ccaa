"""The /ml endpoints (LS's ML backend protocol) on the real ML backend app under its own gunicorn, with the
tiny bundle: behind the HTTP Basic credentials LS sends when the model is attached with "Basic Auth"
(LS 1.23's MLApi sets `requests.auth.HTTPBasicAuth(basic_auth_user, basic_auth_pass)` on every call), and
bounded.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from requests.auth import HTTPBasicAuth

from devstack.services.ml_backend import MlBackendServer
from ml_backend.app import create_app
from tests.conftest import free_port
from tests.helpers.bundle import tiny_bundle

USER, PASSWORD = "label-studio", "ml-" + uuid.uuid4().hex
AUTH = HTTPBasicAuth(USER, PASSWORD)
MAX_TASKS, MAX_CHARS, MAX_BODY = 5, 2_000, 100_000


@pytest.fixture
def ml_app(tmp_path: Path) -> Iterator[MlBackendServer]:
    server = MlBackendServer(
        run_dir=tmp_path / "ml-backend", port=free_port(), basic_auth_user=USER, basic_auth_pass=PASSWORD
    )
    server.start(
        extra_env={
            "NER_BUNDLE_DIR": str(tiny_bundle()),
            "ML_BACKEND_MAX_TASKS": str(MAX_TASKS),
            "ML_BACKEND_MAX_TEXT_CHARS": str(MAX_CHARS),
            "ML_BACKEND_MAX_BODY_BYTES": str(MAX_BODY),
        }
    )
    try:
        yield server
    finally:
        server.stop()


def tasks(*texts: str) -> dict:
    return {"tasks": [{"id": i, "data": {"text": t}} for i, t in enumerate(texts)], "project": "1.1"}


@pytest.mark.parametrize(
    "config",
    [
        {"ML_BASIC_AUTH_USER": None, "ML_BASIC_AUTH_PASS": None},
        {"ML_BASIC_AUTH_USER": USER, "ML_BASIC_AUTH_PASS": None},
        {"ML_BASIC_AUTH_USER": None, "ML_BASIC_AUTH_PASS": PASSWORD},
    ],
    ids=["none", "no-password", "no-user"],
)
def test_the_ml_backend_refuses_to_start_without_credentials(config: dict) -> None:
    with pytest.raises(RuntimeError, match="ML_BACKEND_BASIC_AUTH_USER"):
        create_app(config)


def test_ls_credentials_get_health_setup_and_predictions(ml_app: MlBackendServer) -> None:
    ml = f"{ml_app.url}/ml"
    assert requests.get(f"{ml}/health", auth=AUTH, timeout=30).json()["status"] == "UP"
    setup = requests.post(f"{ml}/setup", json={"project": "1.1", "schema": "<View/>"}, auth=AUTH, timeout=30)
    assert setup.status_code == 200 and setup.json()["model_version"] == "tiny-0"
    resp = requests.post(f"{ml}/predict", json=tasks("Alice Smith flew to Paris."), auth=AUTH, timeout=60)
    assert resp.status_code == 200 and len(resp.json()["results"]) == 1


@pytest.mark.parametrize(
    "auth",
    [None, HTTPBasicAuth(USER, "wrong"), HTTPBasicAuth("someone", PASSWORD), HTTPBasicAuth("", "")],
    ids=["none", "wrong-password", "wrong-user", "empty"],
)
def test_every_ml_endpoint_without_the_credentials_is_a_401(ml_app: MlBackendServer, auth) -> None:
    ml = f"{ml_app.url}/ml"
    for method, path, body in (
        ("GET", "health", None),
        ("POST", "setup", {}),
        ("POST", "predict", tasks("x")),
    ):
        resp = requests.request(method, f"{ml}/{path}", json=body, auth=auth, timeout=30)
        assert resp.status_code == 401, (path, resp.text[:200])
        assert resp.json()["error"].startswith("missing or wrong ML backend credentials")
        assert resp.headers["WWW-Authenticate"].startswith("Basic ")
    bearer = requests.get(f"{ml}/health", headers={"Authorization": f"Token {PASSWORD}"}, timeout=30)
    assert bearer.status_code == 401
    garbled = requests.get(f"{ml}/health", headers={"Authorization": "Basic !!!not-base64"}, timeout=30)
    assert garbled.status_code == 401


def test_an_unauthenticated_huge_body_is_refused_before_it_is_read(ml_app: MlBackendServer) -> None:
    resp = requests.post(f"{ml_app.url}/ml/predict", data=b"x" * 2_000_000, timeout=30)
    assert resp.status_code == 401


def test_oversized_or_malformed_predict_requests_are_bounded_4xx(ml_app: MlBackendServer) -> None:
    predict = f"{ml_app.url}/ml/predict"

    def send(body=None, data: bytes | None = None) -> requests.Response:
        return requests.post(predict, json=body, data=data, auth=AUTH, timeout=60)

    too_many = send(tasks(*(["short"] * (MAX_TASKS + 1))))
    assert too_many.status_code == 413
    assert too_many.json() == {"error": "too many tasks in one request", "tasks": 6, "limit_tasks": MAX_TASKS}
    too_long = send(tasks("ok", "a" * (MAX_CHARS + 1)))
    assert too_long.status_code == 413
    assert too_long.json()["error"] == "tasks[1].data.text is too long"
    assert too_long.json()["limit_chars"] == MAX_CHARS
    huge = send(data=b'{"tasks": [' + b'{"data": {"text": "a"}},' * 10_000 + b"]}")
    assert huge.status_code == 413 and huge.json() == {"error": "payload too large", "limit_bytes": MAX_BODY}
    deep = send(data=b'{"tasks": ' + b"[" * 900 + b"]" * 900 + b"}")
    assert deep.status_code == 400 and deep.json()["error"] == "body nests JSON too deep"
    assert send(data=b"not json").status_code == 400
    assert send({"nope": 1}).json()["error"] == "expected a JSON object with a list `tasks`"
    bad_text = send({"tasks": [{"data": {"text": 5}}]})
    assert bad_text.status_code == 422 and "tasks[0].data.text" in bad_text.json()["error"]
    # At the limits: served.
    assert send(tasks(*(["a" * MAX_CHARS] * MAX_TASKS))).status_code == 200
