"""Triton with docker-compose's restriction flags, on the real `tritonserver` (the nvidia-pytriton wheel's,
the same 2.51 as the compose image 24.10): model load/unload, the repository index, shared memory, statistics,
trace and log settings answer 403 (HTTP) / UNAVAILABLE (gRPC) without the key header; health, metadata and
inference stay open on the compose network."""

from __future__ import annotations

import socket
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from devstack.services.triton import TritonServer
from include.core.settings import PROJECT_ROOT

pytestmark = pytest.mark.e2e

KEY = "compose-key-" + "Q" * 24
HEADER = "x-nerloop-repository-key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _compose_flags(tmp_path: Path) -> list[str]:
    """The restriction flags docker-compose's triton command passes, run through its own shell script."""
    command = yaml.safe_load((PROJECT_ROOT / "docker-compose.yaml").read_text())["services"]["triton"][
        "command"
    ]
    fake_dir = tmp_path / "fake-bin"
    fake_dir.mkdir()
    fake = fake_dir / "tritonserver"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    argv = [part.replace("$$", "$") for part in command]
    res = subprocess.run(
        argv,
        env={"PATH": f"{fake_dir}:/usr/bin:/bin", "TRITON_REPOSITORY_KEY": KEY},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    flags = [
        a for a in res.stdout.splitlines() if a.startswith(("--http-restricted-api", "--grpc-restricted"))
    ]
    assert len(flags) == 2, res.stdout
    return flags


ABSENT = "no-such-model"
"""A model name no test of this module publishes."""


@pytest.fixture(scope="module")
def triton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    tmp = tmp_path_factory.mktemp("triton-restricted")
    (tmp / "repo").mkdir()
    server = TritonServer(
        root=tmp / "root",
        model_repository=tmp / "repo",
        http_port=_free_port(),
        grpc_port=_free_port(),
        metrics_port=_free_port(),
        extra_args=tuple(_compose_flags(tmp)),
    )
    server.start(timeout_s=120)
    try:
        yield server
    finally:
        server.stop()


def _http(server: TritonServer, method: str, path: str, key: str | None = None) -> requests.Response:
    headers = {"Connection": "close", **({HEADER: key} if key is not None else {})}
    return requests.request(method, f"http://{server.url}{path}", headers=headers, json={}, timeout=30)


RESTRICTED = [
    ("POST", "/v2/repository/index"),
    ("POST", "/v2/repository/models/ner/load"),
    ("POST", "/v2/repository/models/ner/unload"),
    ("GET", "/v2/models/stats"),
    ("GET", "/v2/systemsharedmemory/status"),
    ("POST", "/v2/systemsharedmemory/region/r/register"),
    ("GET", "/v2/cudasharedmemory/status"),
    ("GET", "/v2/trace/setting"),
    ("POST", "/v2/trace/setting"),
    ("GET", "/v2/logging"),
    ("POST", "/v2/logging"),
]


@pytest.mark.parametrize(("method", "path"), RESTRICTED)
def test_admin_apis_refuse_a_caller_without_the_key(triton: TritonServer, method: str, path: str) -> None:
    for key in (None, "", "wrong-key", KEY.lower(), KEY + "x"):
        response = _http(triton, method, path, key)
        assert response.status_code == 403, (method, path, key, response.status_code, response.text)
        assert "restricted" in response.text


def test_the_key_opens_model_control(triton: TritonServer) -> None:
    assert _http(triton, "POST", "/v2/repository/index", KEY).status_code == 200
    # Past the restriction: Triton now answers about the model itself (one no test of this module publishes;
    # the release test below puts `ner` into the shared repository).
    response = _http(triton, "POST", f"/v2/repository/models/{ABSENT}/load", KEY)
    assert response.status_code != 403 and ABSENT in response.text


def test_health_metadata_and_inference_stay_open(triton: TritonServer) -> None:
    assert _http(triton, "GET", "/v2/health/ready").status_code == 200
    assert _http(triton, "GET", "/v2").status_code == 200
    # Inference is not restricted: an unknown model is a 400/404 about the model, never a 403.
    assert _http(triton, "POST", "/v2/models/ner/infer").status_code not in (401, 403)


def test_grpc_model_control_needs_the_prefixed_key_header(triton: TritonServer) -> None:
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    client = grpcclient.InferenceServerClient(triton.grpc_url)
    try:
        for headers in (None, {HEADER: KEY}, {f"triton-grpc-protocol-{HEADER}": "wrong"}):
            with pytest.raises(InferenceServerException, match="restricted"):
                client.unload_model(ABSENT, headers=headers)
        with pytest.raises(InferenceServerException) as past:
            client.load_model(ABSENT, headers={f"triton-grpc-protocol-{HEADER}": KEY})
        assert "restricted" not in str(past.value), "the key passed; the model itself is missing"
        assert client.is_server_ready()
    finally:
        client.close()


def test_the_release_step_loads_through_the_restricted_api_with_the_key_and_fails_closed_without(
    triton: TritonServer, db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from include.adapters.db.connection import transaction
    from include.core.settings import get_settings
    from include.workflows.release import release_bundle
    from include.workflows.reload import ReloadError
    from include.workflows.training.gold import record_model_version
    from tests.helpers.bundle import tiny_bundle

    bundle = tiny_bundle()
    with transaction(db):
        record_model_version(db, json.loads((bundle / "onnx" / "VERSION.json").read_text()))
    release = {
        "model_repository": str(triton.model_repository),
        "bundles_root": tmp_path / "bundles",
        "triton_url": triton.url,
    }
    monkeypatch.delenv("TRITON_REPOSITORY_KEY", raising=False)
    get_settings.cache_clear()
    with pytest.raises(ReloadError, match="403"):
        release_bundle(db, bundle, **release)
    monkeypatch.setenv("TRITON_REPOSITORY_KEY", KEY)
    get_settings.cache_clear()  # settings are read once per process: a new key means a new process
    released = release_bundle(db, bundle, **release)
    assert released.model_version == "tiny-0" and released.served_by.startswith("triton ")
