"""Write a bundle from an exported model.onnx, a tokenizer folder and the trained weights, atomically."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from include.core.bundle.format import (
    CONFIG,
    EXPORTER_MODE,
    EXPORTER_MODES,
    LABELS,
    MODEL,
    MODEL_INT8,
    TOKENIZER,
    TOKENIZER_FILES,
    TRITON_MODEL_NAME,
    VERSION,
    WEIGHT_FILES,
    WEIGHTS,
    Bundle,
    BundleError,
)
from include.core.bundle.read import read_bundle
from include.core.hashing import sha256_file
from include.core.labels import bio_tags

if TYPE_CHECKING:
    from include.core.bundle.config import Flavour


def code_revision() -> str:
    """git rev-parse HEAD of the project, or "unknown" outside a git checkout."""
    from include.core.settings import PROJECT_ROOT

    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def _refuse_existing(out_dir: Path) -> None:
    if (out_dir / VERSION).exists():
        raise BundleError(f"{out_dir}: already holds a bundle")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise BundleError(f"{out_dir}: exists and is not empty")


@dataclass(frozen=True)
class ExportedModel:
    """The files a bundle is made of: the exported model.onnx and how it was exported, the tokenizer folder,
    the trained weights (a transformers folder: config and safetensors), and the int8 flavour.

    `int8` ({"quantization": ..., "gate": {"passed": ..., "reason": ...}}) becomes VERSION.json's `int8`
    block; `int8_onnx_path`, when given, is copied to onnx/model.int8.onnx and hashed like the rest (a
    failed quantization leaves a record and no file).
    """

    onnx_path: Path
    exporter_mode: str
    tokenizer_dir: Path
    weights_dir: Path
    exporter: dict[str, Any] = field(default_factory=dict)
    int8_onnx_path: Path | None = None
    int8: dict[str, Any] | None = None


@dataclass(frozen=True)
class VersionRecord:
    """What VERSION.json says about the model besides its files: `manifest` is {"sha256": ..., "counts":
    {...}} plus anything worth keeping (sources, run id); `extra` keys are added at the top level."""

    labels: Sequence[str]
    model_version: str
    base_model: str
    manifest: dict[str, Any]
    metrics: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


def write_bundle(
    out_dir: Path,
    model: ExportedModel,
    record: VersionRecord,
    *,
    flavour: Flavour = "onnxruntime",
    max_batch_size: int = 16,
) -> Bundle:
    """Write a bundle from an exported model and its version record, and return it read back strictly.

    The folder is assembled beside `out_dir` and renamed into place, so `out_dir` holds a whole bundle or
    nothing. The weights folder's files, with the tokenizer's, become model/, hashed like the rest.
    """
    from include.core.bundle.config import build_config

    out_dir = Path(out_dir)
    _refuse_existing(out_dir)
    exporter_mode, labels = model.exporter_mode, record.labels
    if exporter_mode not in EXPORTER_MODES:
        raise BundleError(f"exporter_mode {exporter_mode!r}: expected one of {EXPORTER_MODES}")
    tokenizer_dir = Path(model.tokenizer_dir)
    names = [name for name in TOKENIZER_FILES if (tokenizer_dir / name).is_file()]
    for required in ("tokenizer.json", "tokenizer_config.json"):
        if required not in names:
            raise BundleError(f"{tokenizer_dir / required}: missing (a fast tokenizer is required)")
    weights_dir = Path(model.weights_dir)
    for required in WEIGHT_FILES:
        if not (weights_dir / required).is_file():
            raise BundleError(f"{weights_dir / required}: missing (the bundle carries the trained weights)")
    weight_names = [*WEIGHT_FILES, *names]
    tags = bio_tags(tuple(labels))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        (staging / "onnx").mkdir()
        (staging / TOKENIZER).mkdir()
        (staging / WEIGHTS).mkdir()
        for name in WEIGHT_FILES:
            shutil.copyfile(weights_dir / name, staging / WEIGHTS / name)
        for name in names:  # the tokenizer the bundle serves with: model/ is a whole transformers folder
            shutil.copyfile(tokenizer_dir / name, staging / WEIGHTS / name)
        shutil.copyfile(model.onnx_path, staging / MODEL)
        if model.int8_onnx_path is not None:
            if not model.int8 or "gate" not in model.int8:
                raise BundleError(
                    f"{model.int8_onnx_path}: an int8 model needs its quantization and gate record"
                )
            shutil.copyfile(model.int8_onnx_path, staging / MODEL_INT8)
        for name in names:
            shutil.copyfile(tokenizer_dir / name, staging / TOKENIZER / name)
        (staging / LABELS).write_text(json.dumps({"labels": list(labels), "tags": tags}, indent=2) + "\n")
        (staging / EXPORTER_MODE).write_text(exporter_mode + "\n")
        (staging / CONFIG).write_text(
            build_config(
                TRITON_MODEL_NAME,
                len(tags),
                flavour,
                max_batch_size,
                parameters={"model_version": record.model_version},
            )
        )
        hashed = [
            MODEL,
            CONFIG,
            EXPORTER_MODE,
            LABELS,
            *(f"{TOKENIZER}/{name}" for name in names),
            *(f"{WEIGHTS}/{name}" for name in weight_names),
        ]
        if model.int8_onnx_path is not None:
            hashed.append(MODEL_INT8)
        int8_block = {**(model.int8 or {}), "file": MODEL_INT8 if model.int8_onnx_path is not None else None}
        version = {
            "model_version": record.model_version,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "base_model": record.base_model,
            "manifest": record.manifest,
            "metrics": record.metrics,
            "exporter_mode": exporter_mode,
            "exporter": model.exporter,
            "labels": list(labels),
            "tags": tags,
            "files": {name: sha256_file(staging / name) for name in hashed},
            "code_revision": code_revision(),
            "precision": "fp32",
            **({"int8": int8_block} if model.int8 or model.int8_onnx_path is not None else {}),
            **record.extra,
        }
        (staging / VERSION).write_text(json.dumps(version, indent=2, default=str) + "\n")
        read_bundle(staging)
        _refuse_existing(out_dir)
        if out_dir.exists():
            out_dir.rmdir()
        os.rename(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return read_bundle(out_dir)
