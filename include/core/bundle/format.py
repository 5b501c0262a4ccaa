"""What a bundle is: its files, VERSION.json's keys, and `Bundle`, a bundle that passed `read_bundle`.

A bundle is a folder::

    onnx/model.onnx  onnx/config.pbtxt  onnx/VERSION.json  onnx/exporter_mode.txt
    tokenizer/tokenizer.json  tokenizer/tokenizer_config.json  (+ vocab.txt, special_tokens_map.json)
    labels.json
    model/config.json  model/model.safetensors  (+ the tokenizer files): the trained weights, a standard
        transformers folder, so the next training run continues from the model in service
    (optional) onnx/model.int8.onnx: the int8 flavour, described by VERSION.json's `int8` block

The int8 flavour is served only where its gate passed (VERSION.json `int8.gate.passed`; see
include/workflows/training/quantize.py): the block names its file (hashed in `files` like every other), the
quantization settings and the gate's figures or the reason it failed.

VERSION.json names the model version, its labels and tags, the data it learned from, and the sha256 of every
other file (`files`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MODEL = "onnx/model.onnx"
MODEL_INT8 = "onnx/model.int8.onnx"
PRECISIONS = ("fp32", "int8")
CONFIG = "onnx/config.pbtxt"
VERSION = "onnx/VERSION.json"
EXPORTER_MODE = "onnx/exporter_mode.txt"
LABELS = "labels.json"
TOKENIZER = "tokenizer"
WEIGHTS = "model"
WEIGHT_FILES = ("config.json", "model.safetensors")
REQUIRED_FILES = (
    MODEL,
    CONFIG,
    VERSION,
    EXPORTER_MODE,
    f"{TOKENIZER}/tokenizer.json",
    f"{TOKENIZER}/tokenizer_config.json",
    LABELS,
    *(f"{WEIGHTS}/{name}" for name in WEIGHT_FILES),
)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
VERSION_KEYS = (
    "model_version",
    "created_at",
    "base_model",
    "manifest",
    "metrics",
    "exporter_mode",
    "labels",
    "tags",
    "files",
    "code_revision",
)
EXPORTER_MODES = ("modern", "legacy_fallback")
TRITON_MODEL_NAME = "ner"


class BundleError(ValueError):
    """A bundle folder is incomplete, inconsistent or altered; the message names the file."""


@dataclass(frozen=True)
class Bundle:
    """A bundle that passed `read_bundle`: its VERSION.json and where each part lies."""

    root: Path
    version: dict[str, Any]

    @property
    def model_version(self) -> str:
        return str(self.version["model_version"])

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.version["labels"])

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(self.version["tags"])

    @property
    def exporter_mode(self) -> str:
        return str(self.version["exporter_mode"])

    @property
    def manifest(self) -> dict[str, Any]:
        return dict(self.version["manifest"])

    @property
    def model_path(self) -> Path:
        return self.root / MODEL

    @property
    def onnx_path(self) -> Path:
        """The same file as `model_path` (the name evaluation uses)."""
        return self.model_path

    @property
    def int8(self) -> dict[str, Any] | None:
        """VERSION.json's `int8` block (file, quantization, gate), or None when the bundle has none."""
        block = self.version.get("int8")
        return dict(block) if block else None

    @property
    def int8_path(self) -> Path | None:
        """The int8 model file when the bundle carries one (whatever its gate said), else None."""
        block = self.int8
        return self.root / MODEL_INT8 if block and block.get("file") else None

    @property
    def int8_gate_passed(self) -> bool:
        """True only when the bundle has an int8 file and its gate passed on the run's held-out split."""
        block = self.int8
        return bool(self.int8_path and block and block["gate"].get("passed") is True)

    def flavour_path(self, precision: str) -> Path:
        """The model file of `precision` ("fp32": model.onnx; "int8": model.int8.onnx, when present)."""
        if precision == "fp32":
            return self.model_path
        if precision == "int8" and self.int8_path is not None:
            return self.int8_path
        raise BundleError(f"{self.root}: no {precision!r} flavour (precisions: {PRECISIONS})")

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG

    @property
    def version_path(self) -> Path:
        return self.root / VERSION

    @property
    def exporter_mode_path(self) -> Path:
        return self.root / EXPORTER_MODE

    @property
    def tokenizer_dir(self) -> Path:
        return self.root / TOKENIZER

    @property
    def weights_dir(self) -> Path:
        """The trained model as a transformers folder (config, safetensors, tokenizer): training resumes."""
        return self.root / WEIGHTS


def new_model_version(manifest_sha256: str, now: datetime | None = None) -> str:
    """`ner-YYYYMMDD-HHMMSS-<manifest sha256[:8]>` (UTC)."""
    now = now or datetime.now(UTC)
    return f"ner-{now:%Y%m%d-%H%M%S}-{manifest_sha256[:8]}"
