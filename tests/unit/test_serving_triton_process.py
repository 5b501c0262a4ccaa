"""TritonServer start errors that need no running server: a taken port, a missing binary or stub."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devstack.services import triton
from devstack.services.triton import TritonServer, TritonStartError
from tests.helpers.triton import free_port


def server(tmp_path: Path, http_port: int) -> TritonServer:
    return TritonServer(tmp_path / "state", tmp_path / "repo", http_port, free_port(), free_port())


def test_a_taken_port_is_named_before_anything_starts(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(TritonStartError, match=rf"http port 127\.0\.0\.1:{port} is already taken"):
            server(tmp_path, port).start()
    assert not (tmp_path / "state" / "tritonserver.pid").exists()


def test_a_missing_binary_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(triton, "wheel_server_dir", lambda: tmp_path / "no-wheel" / "tritonserver")
    with pytest.raises(TritonStartError, match=r"binary missing at .*no-wheel/tritonserver/bin/tritonserver"):
        server(tmp_path, free_port()).start()


def test_a_missing_python_stub_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    wheel = tmp_path / "wheel" / "tritonserver"
    (wheel / "bin").mkdir(parents=True)
    (wheel / "bin" / "tritonserver").write_text("")
    monkeypatch.setattr(triton, "wheel_server_dir", lambda: wheel)
    with pytest.raises(TritonStartError, match=r"no python backend stub for Python 3\.\d+"):
        server(tmp_path, free_port()).start()


def test_stop_without_a_server_is_a_no_op(tmp_path: Path):
    assert server(tmp_path, free_port()).stop() is False


def test_from_settings_loads_the_model_only_once_published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STATE_DIR", str(tmp_path))
    monkeypatch.delenv("MODEL_REPOSITORY", raising=False)
    monkeypatch.setenv("TRITON_HTTP_PORT", "18123")
    before = TritonServer.from_settings()
    assert (before.root, before.http_port, before.load_models) == (tmp_path / "triton", 18123, ())
    (tmp_path / "model_repository" / "ner").mkdir(parents=True)
    after = TritonServer.from_settings()
    assert after.load_models == ("ner",)
    assert f"--model-repository={tmp_path / 'model_repository'}" in after.command()
    (tmp_path / "model_repository" / "ner_int8").mkdir()
    assert TritonServer.from_settings().load_models == ("ner", "ner_int8"), "the int8 flavour loads beside it"
