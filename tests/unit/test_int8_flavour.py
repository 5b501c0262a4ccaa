"""The int8 flavour: its gate, which flavour serves (NER_PRECISION, device, verdict), its Triton model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from include.adapters.ner.client import NerClient
from include.adapters.ner.precision import choose_precision, triton_model_name
from include.adapters.serving.repository import publish_bundle
from include.core.bundle.config import parse_config
from include.core.bundle.format import BundleError
from include.core.bundle.read import read_bundle
from include.core.settings import NerSettings
from include.core.spans import Span
from include.workflows.training.quantize import int8_gate, span_agreement
from tests.helpers.bundle import int8_bundle, tiny_bundle


@pytest.fixture(scope="module")
def passed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return int8_bundle(tiny_bundle(), tmp_path_factory.mktemp("int8") / "passed", gate_passed=True)


@pytest.fixture(scope="module")
def failed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return int8_bundle(tiny_bundle(), tmp_path_factory.mktemp("int8") / "failed", gate_passed=False)


def test_the_gate_passes_within_one_point_of_f1_and_98_percent_span_agreement():
    assert int8_gate(0.90, 0.89, 0.98, records=100).passed
    drop = int8_gate(0.90, 0.885, 0.99, records=100)
    assert not drop.passed and drop.reason == "F1 0.8850 < fp32 0.9000 - 0.01"
    disagree = int8_gate(0.90, 0.90, 0.97, records=100)
    assert not disagree.passed and "spans agree with fp32 on 97.00% of records < 98%" in disagree.reason
    assert not int8_gate(0.0, 0.0, 1.0, records=0).passed, "no held-out records, no int8"
    assert int8_gate(0.90, 0.95, 0.99, records=100).to_dict()["f1_int8"] == 0.95


def test_span_agreement_counts_records_whose_spans_are_identical():
    a = Span(start=0, end=3, label="PERSON", text="Ann")
    b = Span(start=0, end=3, label="ORG", text="Ann")
    assert span_agreement([[a], [], [a]], [[a], [], [b]]) == pytest.approx(2 / 3)
    assert span_agreement([], []) == 1.0


def settings(bundle: Path, **kwargs) -> NerSettings:
    return NerSettings(ner_bundle_dir=bundle, ner_warmup=False, ner_intra_op_threads=1, **kwargs)


@pytest.mark.parametrize("precision", ["auto", "int8", "fp32"])
def test_a_bundle_whose_int8_flavour_failed_its_gate_serves_fp32(failed: Path, precision: str):
    bundle = read_bundle(failed)
    assert bundle.int8_path is not None and bundle.int8_path.is_file(), "the failed flavour is kept, hashed"
    assert not bundle.int8_gate_passed
    client = NerClient.from_settings(settings(failed, ner_precision=precision))
    assert client.precision == "fp32"
    assert client.backend.model_path == failed / "onnx" / "model.onnx"  # type: ignore[attr-defined]
    if precision != "fp32":
        assert "failed its gate: F1 0.8500 < fp32 0.9000" in choose_precision(bundle, precision).reason  # type: ignore[arg-type]


def test_a_passed_gate_serves_int8_on_cpu_and_fp32_on_gpu_or_when_asked(passed: Path):
    client = NerClient.from_settings(settings(passed))
    assert client.precision == "int8"
    assert client.backend.model_path == passed / "onnx" / "model.int8.onnx"  # type: ignore[attr-defined]
    assert NerClient.from_settings(settings(passed, ner_precision="fp32")).precision == "fp32"
    bundle = read_bundle(passed)
    assert choose_precision(bundle, "auto", "gpu").precision == "fp32"
    assert choose_precision(bundle, "int8", "gpu").precision == "int8"
    assert choose_precision(read_bundle(tiny_bundle()), "int8").precision == "fp32", "no int8 flavour"


def test_the_triton_client_asks_for_the_int8_model_by_name(passed: Path, failed: Path):
    kwargs = {"ner_backend": "triton", "triton_device": "cpu"}
    assert NerClient.from_settings(settings(passed, **kwargs)).backend.model_name == "ner_int8"  # type: ignore[attr-defined]
    assert NerClient.from_settings(settings(failed, **kwargs)).backend.model_name == "ner"  # type: ignore[attr-defined]
    gpu = settings(passed, ner_backend="triton", triton_device="gpu")
    assert NerClient.from_settings(gpu).backend.model_name == "ner"  # type: ignore[attr-defined]
    assert triton_model_name("ner", "int8") == "ner_int8"


def test_int8_spans_come_out_of_the_same_decode_path(passed: Path):
    texts = ["Ann Lee joined Acme Corp in Paris.", "Invoice 1,200 USD due 3 May 2021", ""]
    fp32 = NerClient.from_settings(settings(passed, ner_precision="fp32"))
    int8 = NerClient.from_settings(settings(passed))
    ids, mask = fp32.tokenizer.batch(texts, 32)
    a, b = fp32.backend.infer(ids, mask), int8.backend.infer(ids, mask)
    assert a.shape == b.shape and not np.array_equal(a, b), "a different model, same interface"
    for spans, text in zip(int8.predict(texts), texts, strict=True):
        assert all(text[s.start : s.end] == s.text for s in spans)


def test_the_int8_flavour_publishes_as_its_own_triton_model(passed: Path, failed: Path, tmp_path: Path):
    repo = tmp_path / "repo"
    publish_bundle(passed, repo, "ner", "python")
    published = publish_bundle(passed, repo, "ner_int8", "python", precision="int8")
    config = parse_config((repo / "ner_int8" / "config.pbtxt").read_text())
    assert (config.name, config.parameters["precision"].string_value) == ("ner_int8", "int8")
    assert config.parameters["model_version"].string_value == read_bundle(passed).model_version
    served = repo / "ner_int8" / str(published.version) / "model.onnx"
    assert served.read_bytes() == (passed / "onnx" / "model.int8.onnx").read_bytes()
    fp32_config = parse_config((repo / "ner" / "config.pbtxt").read_text())
    assert "precision" not in fp32_config.parameters, "fp32 publishes the bundle's config as written"
    with pytest.raises(BundleError, match=r"int8 flavour not publishable: F1 0\.8500 < fp32 0\.9000"):
        publish_bundle(failed, repo, "ner_int8", "python", precision="int8")
