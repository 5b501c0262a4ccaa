"""Against the real tritonserver (nvidia-pytriton wheel, python backend running ONNX Runtime).

One server per module serving v1 as `ner`, which no test changes. A test that publishes, breaks, tampers
with or unloads a model does it to a model of its own in the same server and repository (`own_model`), built
from scratch by the test: each test passes alone and in any order. The bundles are tiny (1 MiniLM layer,
untrained seeded head; see tests/helpers/bundle).
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import requests

from devstack.services.triton import TritonServer
from include.adapters.ner.backends import BackendUnavailableError, OnnxRuntimeBackend, triton_backend
from include.adapters.ner.client import NerClient
from include.adapters.ner.tokenizer import BundleTokenizer
from include.adapters.serving.repository import pinned, publish_bundle, served_versions
from include.core.bundle.format import BundleError
from include.workflows.release import release_bundle
from include.workflows.reload import ReloadError, reload_and_verify, served_model
from tests.helpers.bundle import broken_bundle, tampered_bundle, tiny_bundle
from tests.helpers.triton import running_triton

PROBES = ["Ann Lee joined Acme Corp in Paris.", "Invoice 1,200 USD due 3 May 2021", "Zoë 🎉"]
TEXTS = [
    *PROBES,
    "Call +1 555 0100 or mail ann@example.com",
    "",
    " ".join(f"Record {i} names Ann Lee of Acme in Washington" for i in range(25)),
]


@dataclass
class Served:
    server: TritonServer
    repo: Path
    v1: Path
    v2: Path
    scratch: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    scratch = tmp_path_factory.mktemp("triton")
    repo = scratch / "repo"
    v1, v2 = tiny_bundle("tiny-0", 0), tiny_bundle("tiny-1", 1)
    publish_bundle(v1, repo, "ner", "python", intra_op_threads=1)
    with running_triton(scratch / "state", repo, load_models=("ner",)) as server:
        yield Served(server, repo, v1, v2, scratch)


@pytest.fixture
def own_model(served: Served) -> str:
    """A model name no other test uses, in the module's server and repository (nothing published yet)."""
    return f"ner_{uuid.uuid4().hex[:10]}"


def serve_versions(served: Served, model: str, *bundles: Path) -> None:
    """Publish each bundle as the next version of `model`, then load and verify the last one."""
    for bundle in bundles:
        publish_bundle(bundle, served.repo, model, "python", intra_op_threads=1)
    reload_and_verify(served.server.url, served.repo, model, len(bundles), PROBES, bundles[-1])


def ort(bundle: Path) -> OnnxRuntimeBackend:
    return OnnxRuntimeBackend(bundle / "onnx" / "model.onnx", intra_op_threads=1)


def triton(served: Served, protocol: str = "http", model: str = "ner", **kwargs):
    url = served.server.grpc_url if protocol == "grpc" else served.server.url
    return triton_backend(protocol, url, model, **kwargs)


def probe_batch(bundle: Path, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    return BundleTokenizer.from_dir(bundle / "tokenizer").batch(texts, 64)


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_triton_answers_like_onnxruntime_under_concurrent_ragged_requests(served: Served, protocol: str):
    def ask(batch: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        backend = triton(served, protocol)
        try:
            return backend.infer(*batch)
        finally:
            backend.close()

    batches = [probe_batch(served.v1, TEXTS[i : i + 2]) for i in range(0, len(TEXTS), 2)]
    with ThreadPoolExecutor(len(batches)) as pool:
        answers = list(pool.map(ask, batches))
    local = ort(served.v1)
    for (ids, mask), answer in zip(batches, answers, strict=True):
        np.testing.assert_allclose(answer, local.infer(ids, mask), atol=1e-5)


@pytest.mark.parametrize(("protocol", "concurrency"), [("http", 1), ("http", 4), ("grpc", 1), ("grpc", 4)])
def test_ner_client_gives_the_same_spans_through_triton_and_onnxruntime(
    served: Served, protocol: str, concurrency: int
):
    backend = triton(served, protocol, concurrency=concurrency)
    through_triton = NerClient(served.v1, backend, batch_size=2, max_length=64, stride=16).predict(TEXTS)
    in_process = NerClient(served.v1, ort(served.v1), batch_size=2, max_length=64, stride=16).predict(TEXTS)
    backend.close()
    assert any(through_triton[-1]), "the long record was windowed and tagged"
    for a, b in zip(through_triton, in_process, strict=True):
        assert [(s.start, s.end, s.label, s.text) for s in a] == [
            (s.start, s.end, s.label, s.text) for s in b
        ]
        assert [s.score for s in a] == pytest.approx([s.score for s in b], abs=1e-5)


def test_publish_v2_and_reload_changes_the_served_model_version(served: Served, own_model: str):
    serve_versions(served, own_model, served.v1)
    assert served_model(served.server.url, own_model).model_version == "tiny-0"
    published = publish_bundle(served.v2, served.repo, own_model, "python", intra_op_threads=1)
    assert published.version == 2
    result = reload_and_verify(served.server.url, served.repo, own_model, 2, PROBES, served.v2)
    assert (result.version, result.model_version) == (2, "tiny-1")
    ids, mask = probe_batch(served.v2, PROBES)
    backend = triton(served, model=own_model)
    answer = backend.infer(ids, mask)
    backend.close()
    np.testing.assert_allclose(answer, ort(served.v2).infer(ids, mask), atol=1e-5)
    assert not np.allclose(answer, ort(served.v1).infer(ids, mask), atol=1e-3), "v2 is a different model"


def test_a_broken_version_is_refused_and_the_previous_keeps_answering(
    served: Served, own_model: str, tmp_path: Path
):
    serve_versions(served, own_model, served.v1, served.v2)
    broken = broken_bundle(tmp_path / "broken", "broken-3")
    assert publish_bundle(broken, served.repo, own_model, "python").version == 3
    with pytest.raises(ReloadError, match=r"version 3 failed .*rolled back to version 2 \(tiny-1\)"):
        reload_and_verify(served.server.url, served.repo, own_model, 3, PROBES, broken)
    now = served_model(served.server.url, own_model)
    assert (now.version, now.model_version) == (2, "tiny-1")
    assert pinned(served.repo, own_model) == 2
    assert served_versions(served.repo, own_model) == [1, 2, 3]
    ids, mask = probe_batch(served.v2, PROBES)
    backend = triton(served, model=own_model)
    np.testing.assert_allclose(backend.infer(ids, mask), ort(served.v2).infer(ids, mask), atol=1e-5)
    backend.close()


def test_a_tampered_bundle_is_refused_and_the_served_version_keeps_answering(
    served: Served, own_model: str, db, tmp_path: Path
):
    serve_versions(served, own_model, served.v1, served.v2)
    before = served_model(served.server.url, own_model)
    assert (before.version, before.model_version) == (2, "tiny-1")
    config_before = (served.repo / own_model / "config.pbtxt").read_text()
    # A valid model, just not the one VERSION.json hashes: Triton would load it without complaint.
    v1_model = (served.v1 / "onnx" / "model.onnx").read_bytes()
    tampered = tampered_bundle(served.v2, tmp_path / "tampered", v1_model)
    bundles = tmp_path / "bundles"
    with pytest.raises(BundleError, match=r"tampered/onnx/model\.onnx: sha256 differs from VERSION\.json"):
        url = served.server.url
        release_bundle(
            db,
            tampered,
            model_repository=str(served.repo),
            bundles_root=bundles,
            model=own_model,
            triton_url=url,
        )
    now = served_model(served.server.url, own_model)
    assert (now.version, now.model_version) == (2, "tiny-1")
    assert served_versions(served.repo, own_model) == [1, 2] and pinned(served.repo, own_model) == 2
    assert (served.repo / own_model / "config.pbtxt").read_text() == config_before
    assert not (bundles / "current").exists()
    ids, mask = probe_batch(served.v2, PROBES)
    backend = triton(served, model=own_model)
    np.testing.assert_allclose(backend.infer(ids, mask), ort(served.v2).infer(ids, mask), atol=1e-5)
    backend.close()


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_an_unloaded_model_gives_a_clear_error_after_retries(served: Served, protocol: str, own_model: str):
    serve_versions(served, own_model, served.v1)
    response = requests.post(
        f"http://{served.server.url}/v2/repository/models/{own_model}/unload",
        timeout=30,
        headers={"Connection": "close"},
    )
    assert response.status_code == 200
    backend = triton(served, protocol, model=own_model, retries=2, backoff_s=0.05, concurrency=2)
    url = backend.url
    ner = NerClient(served.v1, backend, warmup=False)
    with pytest.raises(BackendUnavailableError, match=rf"{protocol}://{url}.*'{own_model}' after 3 attempts"):
        ner.predict(["Ann Lee", "Acme Corp in Paris " * 40])
    ner.close()


def test_shim_metrics_show_the_batches_triton_formed(
    tmp_path: Path, served: Served, database_url: str
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from webhook_shim.app import create_app

    # A server of its own: its inference counts are this test's alone.
    publish_bundle(served.v1, tmp_path / "repo", "ner", "python", intra_op_threads=1)
    with running_triton(tmp_path / "state", tmp_path / "repo", load_models=("ner",)) as server:
        backend = triton_backend("http", server.url, "ner")
        for n in (1, 4, 4):
            backend.infer(*probe_batch(served.v1, (TEXTS * 4)[:n]))
        backend.close()
        metrics_url = f"{server.host}:{server.metrics_port}"
        config = {"DATABASE_URL": database_url, "WEBHOOK_SECRET": "s", "TRITON_METRICS_URL": metrics_url}
        page = create_app(config).test_client().get("/metrics").get_data(as_text=True)
    samples = {
        s.name: s.value
        for family in text_string_to_metric_families(page)
        for s in family.samples
        if s.labels.get("model") == "ner"
    }
    assert samples["nerloop_triton_inferences_total"] == 9
    assert 1 <= samples["nerloop_triton_executions_total"] <= 3
    assert samples["nerloop_triton_mean_batch_rows"] == pytest.approx(
        samples["nerloop_triton_inferences_total"] / samples["nerloop_triton_executions_total"]
    )
    assert samples["nerloop_triton_mean_batch_rows"] >= 3, "requests of 4 rows ran as batches"
