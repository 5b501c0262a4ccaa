"""A tiny fine-tune, both ONNX export modes against torch, and the bundle's files and VERSION.json.

The encoder is cut to one layer, max_length 32 and a few dozen texts, so the file runs in seconds on CPU.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from include.adapters.ner.backends import OnnxRuntimeBackend
from include.core.bundle.format import REQUIRED_FILES, VERSION_KEYS, Bundle, new_model_version
from include.core.bundle.write import ExportedModel, VersionRecord, write_bundle
from include.core.labels import DEFAULT_LABELS, bio_tags
from include.workflows.training import export as export_module
from include.workflows.training.evaluate import evaluate
from include.workflows.training.export import ExportError, export_onnx, parity
from include.workflows.training.synthetic import synthetic_gold
from include.workflows.training.train import TrainConfig, train

# Uncased here (a 47 MB model instead of 140 MB): the cased path is exported in test_training_bootstrap.
TINY = TrainConfig(
    epochs=3,
    batch_size=8,
    learning_rate=5e-4,
    max_length=32,
    num_layers=1,
    log_every=5,
    seed=7,
    case_features=False,
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    torch.set_num_threads(1)
    texts = synthetic_gold(48, seed=11)
    return train(texts, tmp_path_factory.mktemp("model") / "m", DEFAULT_LABELS, TINY, dev_examples=texts[:8])


@pytest.fixture(scope="module")
def modern(trained, tmp_path_factory: pytest.TempPathFactory):
    return export_onnx(trained.model_dir, tmp_path_factory.mktemp("modern"))


def test_tiny_training_reduces_the_loss(trained) -> None:
    assert trained.steps == 18
    assert trained.last_loss < trained.first_loss * 0.7
    assert trained.best_dev_f1 is not None and len(trained.history) == 3
    saved = json.loads((trained.model_dir / "config.json").read_text())
    assert saved["id2label"]["1"] == bio_tags(DEFAULT_LABELS)[1]
    assert (trained.model_dir / "tokenizer.json").is_file()


def test_the_same_seed_gives_the_same_first_steps(trained, tmp_path: Path) -> None:
    texts = synthetic_gold(48, seed=11)
    again = train(texts, tmp_path / "m", DEFAULT_LABELS, replace(TINY, max_steps=2))
    assert again.steps == 2 and again.stopped_because == "max_steps reached"
    assert again.losses[0] == pytest.approx(trained.losses[0], rel=1e-5)


def onnx_io(path: Path) -> tuple[list[tuple[str, int]], list[str]]:
    model = onnx.load(str(path))
    inputs = [(i.name, i.type.tensor_type.elem_type) for i in model.graph.input]
    return inputs, [o.name for o in model.graph.output]


def test_modern_export_matches_torch_with_two_int64_inputs(trained, modern) -> None:
    assert modern.mode == "modern" and modern.fallback_reason is None
    assert modern.max_abs_diff <= 1e-3
    inputs, outputs = onnx_io(modern.path)
    assert inputs == [("input_ids", onnx.TensorProto.INT64), ("attention_mask", onnx.TensorProto.INT64)]
    assert outputs[0] == "logits"


def test_a_failing_modern_exporter_falls_back_to_legacy(trained, tmp_path: Path, monkeypatch, caplog) -> None:
    def broken(model_dir: Path, work_dir: Path) -> Path:
        raise RuntimeError("optimum exploded (simulated)")

    monkeypatch.setattr(export_module, "_run_optimum", broken)
    result = export_onnx(trained.model_dir, tmp_path)
    assert result.mode == "legacy_fallback"
    assert "optimum exploded" in result.fallback_reason and "optimum exploded" in caplog.text
    assert result.max_abs_diff <= 1e-3 and parity(trained.model_dir, result.path) <= 1e-3
    inputs, outputs = onnx_io(result.path)
    assert [name for name, _ in inputs] == ["input_ids", "attention_mask"] and outputs == ["logits"]
    ids = np.array([[101, 2000, 2001, 2002, 102, 0, 0]], dtype=np.int64)
    mask = np.array([[1, 1, 1, 1, 1, 0, 0]], dtype=np.int64)
    assert OnnxRuntimeBackend(result.path).infer(ids, mask).shape == (1, 7, len(bio_tags(DEFAULT_LABELS)))


def test_both_exporters_failing_raises_with_both_reasons(trained, tmp_path: Path, monkeypatch) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(export_module, "_run_optimum", broken)
    monkeypatch.setattr(export_module, "_legacy", broken)
    with pytest.raises(ExportError, match=r"modern: .*broken.*legacy_fallback: .*broken"):
        export_onnx(trained.model_dir, tmp_path)
    assert not (tmp_path / "model.onnx").exists()


@pytest.fixture(scope="module")
def bundle(trained, modern, tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return write_bundle(
        tmp_path_factory.mktemp("bundle") / "b",
        ExportedModel(
            onnx_path=modern.path,
            exporter_mode=modern.mode,
            tokenizer_dir=trained.model_dir,
            weights_dir=trained.model_dir,
        ),
        VersionRecord(
            labels=list(DEFAULT_LABELS),
            model_version=new_model_version("ab" * 32),
            base_model="test-base",
            manifest={"sha256": "ab" * 32, "counts": {"train": 48}},
            metrics={"test": {"f1": 0.5}},
        ),
    )


def test_bundle_has_every_file_and_version_field(bundle) -> None:
    for name in REQUIRED_FILES:
        assert (bundle.root / name).is_file(), name
    version = json.loads((bundle.root / "onnx" / "VERSION.json").read_text())
    assert set(VERSION_KEYS) <= set(version)
    assert version["model_version"].startswith("ner-") and version["model_version"].endswith("-abababab")
    mode = (bundle.root / "onnx" / "exporter_mode.txt").read_text().strip()
    assert version["exporter_mode"] == "modern" == mode
    assert version["tags"] == bio_tags(DEFAULT_LABELS) and version["manifest"]["counts"] == {"train": 48}
    assert "tokenizer/tokenizer.json" in version["files"] and len(version["code_revision"]) > 0
    assert 'name: "ner"' in (bundle.root / "onnx" / "config.pbtxt").read_text()


def test_bundle_scores_like_its_model(trained, bundle) -> None:
    texts = synthetic_gold(24, seed=12)
    from_onnx = evaluate(bundle.root, texts, max_length=32)
    from_torch = evaluate(trained.model_dir, texts, max_length=32)
    assert from_onnx.f1 == pytest.approx(from_torch.f1, abs=1e-6) and from_onnx.examples == 24
