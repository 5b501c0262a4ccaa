"""A real Label Studio attaches the ML backend app (its own gunicorn) with Basic Auth, as the demo does, and
gets predictions from it: `ensure_ml_backend` is idempotent, and LS's calls carry the pair."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.services.ml_backend import MlBackendServer
from include.adapters.label_studio import client as ls_client
from tests.conftest import free_port
from tests.helpers.bundle import tiny_bundle

USER, PASSWORD = "label-studio", "ml-" + uuid.uuid4().hex


@pytest.fixture
def ml_app(tmp_path: Path) -> Iterator[MlBackendServer]:
    server = MlBackendServer(
        run_dir=tmp_path / "ml-backend", port=free_port(), basic_auth_user=USER, basic_auth_pass=PASSWORD
    )
    server.start(extra_env={"NER_BUNDLE_DIR": str(tiny_bundle())})
    try:
        yield server
    finally:
        server.stop()


def test_label_studio_attaches_the_ml_backend_with_basic_auth(label_studio, ml_app: MlBackendServer) -> None:
    ls = ls_client.connect(label_studio.url, label_studio.token)
    project_id = ls_client.ensure_project(ls, f"ml-backend-{uuid.uuid4().hex[:8]}")
    backend_id = ls_client.ensure_ml_backend(ls, project_id, ml_app.ml_url, USER, PASSWORD)
    assert ls_client.ensure_ml_backend(ls, project_id, ml_app.ml_url, USER, PASSWORD) == backend_id
    backends = list(ls.ml.list(project=project_id))
    assert [b.id for b in backends] == [backend_id]
    # LS reached it with the pair (a wrong pair is a 401, and LS would mark the backend disconnected).
    assert str(backends[0].state) in ("CO", "Connected", "MLBackendState.CO"), backends[0].state
    assert ml_app.process.log_tail().count(" 401 ") == 0
