"""The int8 flavour through the real tritonserver (nvidia-pytriton wheel, python backend running ORT).

A tiny bundle (1 MiniLM layer, untrained seeded head) with its int8 flavour: published as `ner` and
`ner_int8`, loaded and verified through Triton's repository API, then asked by the serving client that
NER_PRECISION=auto on CPU sends to `ner_int8`; Triton's metrics show the batches it formed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from include.adapters.db.connection import transaction
from include.adapters.ner.backends import OnnxRuntimeBackend
from include.adapters.ner.client import NerClient
from include.adapters.serving.repository import publish_bundle
from include.adapters.serving.triton_metrics import batch_stats
from include.core.bundle import read as bundle_read
from include.core.settings import NerSettings
from include.workflows.release import release_bundle
from include.workflows.reload import ServedModel, reload_and_verify, served_model
from include.workflows.training.gold import record_model_version
from tests.helpers.bundle import int8_bundle, tiny_bundle
from tests.helpers.triton import running_triton

TEXTS = [
    "Ann Lee joined Acme Corp in Paris.",
    "Invoice 1,200 USD due 3 May 2021",
    "Call +1 555 0100 or mail ann@example.com",
    "",
    " ".join(f"Record {i} names Ann Lee of Acme in Washington" for i in range(25)),
]


def test_triton_serves_the_int8_flavour_as_its_own_model(tmp_path: Path):
    bundle = int8_bundle(tiny_bundle(), tmp_path / "bundle", gate_passed=True)
    repo = tmp_path / "repo"
    publish_bundle(bundle, repo, "ner", "python", intra_op_threads=1)
    published = publish_bundle(bundle, repo, "ner_int8", "python", intra_op_threads=1, precision="int8")
    with running_triton(tmp_path / "state", repo, load_models=("ner",)) as server:
        # Loaded through the repository API and verified against the bundle's model.int8.onnx.
        served = reload_and_verify(server.url, repo, "ner_int8", published.version, TEXTS[:2], bundle, "int8")
        assert (served.model, served.version) == ("ner_int8", published.version)
        assert served_model(server.url, "ner") is not None, "fp32 keeps serving beside it"
        settings = NerSettings(
            ner_backend="triton",
            ner_bundle_dir=bundle,
            ner_precision="auto",
            triton_url=server.url,
            triton_device="cpu",
            triton_concurrency=4,
            ner_warmup=False,
        )
        metrics_url = f"{server.host}:{server.metrics_port}"
        before = batch_stats(metrics_url)["ner_int8"]
        client = NerClient.from_settings(settings.model_copy(update={"ner_batch_size": 1}))
        assert client.precision == "int8" and client.backend.model_name == "ner_int8"  # type: ignore[attr-defined]
        through_triton = client.predict(TEXTS * 4)
        client.close()
        seen = batch_stats(metrics_url)["ner_int8"] - before
        local_int8 = OnnxRuntimeBackend(bundle / "onnx" / "model.int8.onnx", intra_op_threads=1)
        in_process = NerClient(bundle, local_int8, batch_size=1, warmup=False).predict(TEXTS * 4)
    for a, b in zip(through_triton, in_process, strict=True):
        assert [(s.start, s.end, s.label) for s in a] == [(s.start, s.end, s.label) for s in b]
        assert [s.score for s in a] == pytest.approx([s.score for s in b], abs=1e-5)
    assert seen.requests == seen.inferences >= 16, "batch-1 requests, one row each"
    assert 1 <= seen.mean_batch <= 16 and seen.executions <= seen.requests
    fp32 = OnnxRuntimeBackend(bundle / "onnx" / "model.onnx", intra_op_threads=1)
    ids, mask = client.tokenizer.batch(TEXTS[:2], 32)
    assert not np.allclose(local_int8.infer(ids, mask), fp32.infer(ids, mask), atol=1e-4), "int8 is not fp32"


def test_release_publishes_a_passed_int8_flavour_beside_fp32_and_not_a_failed_one(
    tmp_path: Path, db, monkeypatch: pytest.MonkeyPatch
):
    passed = int8_bundle(tiny_bundle(), tmp_path / "passed", gate_passed=True, model_version="int8-ok")
    failed = int8_bundle(
        tiny_bundle("tiny-1", 1), tmp_path / "failed", gate_passed=False, model_version="int8-no"
    )
    repo, bundles = tmp_path / "repo", tmp_path / "bundles"
    repo.mkdir()
    with transaction(db):
        for bundle in (passed, failed):
            record_model_version(db, json.loads((bundle / "onnx" / "VERSION.json").read_text()))
    hashed: list[Path] = []
    check_hashes = bundle_read._check_hashes

    def counted(root: Path, files: object) -> None:
        hashed.append(root)
        check_hashes(root, files)

    monkeypatch.setattr(bundle_read, "_check_hashes", counted)
    with running_triton(tmp_path / "state", repo) as server:
        first = release_bundle(
            db, passed, model_repository=str(repo), bundles_root=bundles, triton_url=server.url
        )
        assert (first.triton_version, first.int8_triton_version) == (1, 1)
        # Two publishes and two verifications, one read: the Bundle is passed on (it was read 5 times).
        assert hashed == [passed]
        assert served_model(server.url, "ner_int8") == ServedModel("ner_int8", 1, "int8-ok")
        second = release_bundle(
            db, failed, model_repository=str(repo), bundles_root=bundles, triton_url=server.url
        )
        assert (second.triton_version, second.int8_triton_version) == (2, None), "fp32 only: the gate failed"
        assert served_model(server.url, "ner").model_version == "int8-no"  # type: ignore[union-attr]
    assert sorted(p.name for p in (repo / "ner_int8").iterdir()) == ["1", "config.pbtxt"]
