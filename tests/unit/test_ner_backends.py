"""Backends: ONNX Runtime on a tiny untrained bundle; the Triton HTTP backend's retries and error message."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from include.adapters.ner.backends import (
    BackendUnavailableError,
    OnnxRuntimeBackend,
    TritonGrpcBackend,
    TritonHttpBackend,
    triton_backend,
)
from include.adapters.ner.client import NerClient
from include.core.settings import NerSettings
from tests.helpers.bundle import tiny_bundle
from tests.helpers.triton import free_port


def test_onnxruntime_backend_returns_logits_per_token():
    backend = OnnxRuntimeBackend(tiny_bundle() / "onnx" / "model.onnx", intra_op_threads=1)
    ids = np.array([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=np.int64)
    logits = backend.infer(ids, (ids > 0).astype(np.int64))
    assert logits.shape == (2, 4, 17) and logits.dtype == np.float32


def test_client_from_settings_uses_onnxruntime_and_keeps_offsets(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NER_BACKEND", "onnxruntime")
    monkeypatch.setenv("NER_BUNDLE_DIR", str(tiny_bundle()))
    monkeypatch.setenv("NER_INTRA_OP_THREADS", "1")
    ner = NerClient.from_settings(NerSettings())
    assert isinstance(ner.backend, OnnxRuntimeBackend)
    assert ner.model_version == "tiny-0"
    texts = ["Ann Lee joined Acme Corp in Paris.", "Zoë 🎉 met Ümit in São Paulo"]
    for text, spans in zip(texts, ner.predict(texts), strict=True):
        assert spans, "an untrained head with a wide random init tags plenty"
        assert all(text[s.start : s.end] == s.text for s in spans)


def test_client_needs_a_bundle_dir(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("NER_BUNDLE_DIR", raising=False)
    with pytest.raises(ValueError, match="NER_BUNDLE_DIR"):
        NerClient.from_settings(NerSettings())


IDS = np.array([[101, 102]], dtype=np.int64)


def test_triton_backend_names_the_url_after_retrying_a_closed_port():
    port = free_port()
    backend = TritonHttpBackend(f"127.0.0.1:{port}", "ner", retries=2, backoff_s=0.01, timeout_s=2)
    with pytest.raises(BackendUnavailableError, match=rf"http://127\.0\.0\.1:{port}.*'ner'.*3 attempts"):
        backend.infer(IDS, IDS)


def test_grpc_backend_names_the_url_after_retrying_a_closed_port():
    port = free_port()
    backend = TritonGrpcBackend(f"127.0.0.1:{port}", "ner", retries=1, backoff_s=0.01, timeout_s=2)
    with pytest.raises(BackendUnavailableError, match=rf"grpc://127\.0\.0\.1:{port}.*'ner'.*2 attempts"):
        backend.infer(IDS, IDS)
    backend.close()


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_pipelined_batches_fail_clearly_when_the_server_is_gone(protocol: str):
    port = free_port()
    backend = triton_backend(
        protocol, f"127.0.0.1:{port}", "ner", retries=1, backoff_s=0.01, timeout_s=2, concurrency=4
    )
    with pytest.raises(BackendUnavailableError, match=rf"{protocol}://127\.0\.0\.1:{port}"):
        list(backend.infer_many([(IDS, IDS)] * 6))
    backend.close()


def test_unknown_protocol_and_bad_concurrency_are_refused():
    with pytest.raises(ValueError, match="unknown Triton protocol 'thrift'"):
        triton_backend("thrift", "127.0.0.1:1", "ner")
    with pytest.raises(ValueError, match="concurrency must be >= 1"):
        TritonHttpBackend("127.0.0.1:1", "ner", concurrency=0)


def test_client_from_settings_picks_grpc_with_its_url_and_concurrency(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NER_BACKEND", "triton")
    monkeypatch.setenv("NER_BUNDLE_DIR", str(tiny_bundle()))
    monkeypatch.setenv("NER_WARMUP", "false")
    monkeypatch.setenv("TRITON_PROTOCOL", "grpc")
    monkeypatch.setenv("TRITON_GRPC_URL", "127.0.0.1:18001")
    monkeypatch.setenv("TRITON_CONCURRENCY", "4")
    ner = NerClient.from_settings(NerSettings())
    assert isinstance(ner.backend, TritonGrpcBackend)
    assert (ner.backend.url, ner.backend.concurrency) == ("127.0.0.1:18001", 4)
    ner.close()


@pytest.fixture
def busy_server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server that answers every request 503, counting them."""
    seen: list[str] = []

    class Busy(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = b'{"error":"server busy"}'
            self.send_response(503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Busy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_triton_backend_retries_503_with_backoff_then_fails_clearly(busy_server):
    url, seen = busy_server
    backend = TritonHttpBackend(url, "ner", model_version="2", retries=3, backoff_s=0.01, timeout_s=2)
    with pytest.raises(BackendUnavailableError, match=r"version 2 after 4 attempts.*server busy"):
        backend.infer(IDS, IDS)
    assert seen == ["/v2/models/ner/versions/2/infer"] * 4
