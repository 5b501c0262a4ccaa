"""The bundle folder: assemble onnx/, tokenizer/ and labels.json with VERSION.json, and validate it."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from include.labels import bio_tags
from include.ner.bundle import BundleError
from include.settings import PROJECT_ROOT
from include.training.export import ExportResult, copy_tokenizer, export_onnx

REQUIRED_FILES = (
    "onnx/model.onnx",
    "onnx/config.pbtxt",
    "onnx/VERSION.json",
    "onnx/exporter_mode.txt",
    "tokenizer/tokenizer.json",
    "tokenizer/tokenizer_config.json",
    "labels.json",
)
VERSION_KEYS = (
    "model_version",
    "created_at",
    "base_model",
    "manifest",
    "metrics",
    "exporter_mode",
    "labels",
    "tags",
    "tokenizer_files",
    "code_revision",
)
EXPORTER_MODES = ("modern", "legacy_fallback")
TRITON_MODEL_NAME = "ner"

__all__ = ["BundleError", "BundleInfo", "assemble_bundle", "build_bundle", "load_bundle", "new_model_version"]


@dataclass(frozen=True)
class BundleInfo:
    """A validated bundle: its VERSION.json and where each part lies."""

    root: Path
    version: dict[str, Any]

    @property
    def model_version(self) -> str:
        return self.version["model_version"]

    @property
    def labels(self) -> list[str]:
        return list(self.version["labels"])

    @property
    def tags(self) -> list[str]:
        return list(self.version["tags"])

    @property
    def exporter_mode(self) -> str:
        return self.version["exporter_mode"]

    @property
    def onnx_path(self) -> Path:
        return self.root / "onnx" / "model.onnx"

    @property
    def config_pbtxt(self) -> Path:
        return self.root / "onnx" / "config.pbtxt"

    @property
    def tokenizer_dir(self) -> Path:
        return self.root / "tokenizer"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def code_revision() -> str:
    """git rev-parse HEAD of the project, or "unknown" outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def new_model_version(manifest_sha256: str, now: datetime | None = None) -> str:
    """`ner-YYYYMMDD-HHMMSS-<manifest sha256[:8]>` (UTC)."""
    now = now or datetime.now(UTC)
    return f"ner-{now:%Y%m%d-%H%M%S}-{manifest_sha256[:8]}"


def triton_config_text(model_name: str, num_tags: int, flavour: str, model_version: str) -> str:
    """config.pbtxt from the serving side's builder (the one place that knows Triton's config)."""
    from include.serving.triton_config import build_config

    return build_config(model_name, num_tags, flavour, parameters={"model_version": model_version})


def assemble_bundle(
    out_dir: Path,
    *,
    model_dir: Path,
    export: ExportResult,
    labels: list[str] | tuple[str, ...],
    model_version: str,
    base_model: str,
    manifest: dict[str, Any],
    metrics: dict[str, Any],
    extra: dict[str, Any] | None = None,
    triton_model_name: str = TRITON_MODEL_NAME,
    flavour: str = "onnxruntime",
) -> BundleInfo:
    """Write the bundle folder from a trained model folder and its ONNX export, then validate it.

    `manifest` is {"sha256": ..., "counts": {...}} (plus anything else worth keeping, e.g. sources).
    """
    out_dir = Path(out_dir)
    if (out_dir / "onnx" / "VERSION.json").exists():
        raise BundleError(f"{out_dir}: already holds a bundle")
    onnx_dir = out_dir / "onnx"
    onnx_dir.mkdir(parents=True, exist_ok=True)
    tags = bio_tags(tuple(labels))
    if Path(export.path).resolve() != (onnx_dir / "model.onnx").resolve():
        shutil.copyfile(export.path, onnx_dir / "model.onnx")
    copied = copy_tokenizer(model_dir, out_dir / "tokenizer")
    (out_dir / "labels.json").write_text(json.dumps({"labels": list(labels), "tags": tags}, indent=2) + "\n")
    (onnx_dir / "exporter_mode.txt").write_text(export.mode + "\n")
    (onnx_dir / "config.pbtxt").write_text(
        triton_config_text(triton_model_name, len(tags), flavour, model_version)
    )
    version = {
        "model_version": model_version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "base_model": base_model,
        "manifest": manifest,
        "metrics": metrics,
        "exporter_mode": export.mode,
        "exporter": {"max_abs_diff": export.max_abs_diff, "fallback_reason": export.fallback_reason},
        "labels": list(labels),
        "tags": tags,
        "tokenizer_files": {p.name: sha256_file(p) for p in sorted(copied)},
        "onnx_sha256": sha256_file(onnx_dir / "model.onnx"),
        "code_revision": code_revision(),
        **(extra or {}),
    }
    (onnx_dir / "VERSION.json").write_text(json.dumps(version, indent=2, default=str) + "\n")
    return load_bundle(out_dir)


def build_bundle(
    model_dir: Path,
    out_dir: Path,
    *,
    labels: list[str] | tuple[str, ...],
    model_version: str,
    base_model: str,
    manifest: dict[str, Any],
    metrics: dict[str, Any],
    extra: dict[str, Any] | None = None,
    flavour: str = "onnxruntime",
) -> BundleInfo:
    """Export a trained model folder to ONNX inside out_dir, then assemble and validate the bundle."""
    out_dir = Path(out_dir)
    if (out_dir / "onnx" / "VERSION.json").exists():
        raise BundleError(f"{out_dir}: already holds a bundle")
    result = export_onnx(model_dir, out_dir / "onnx")
    return assemble_bundle(
        out_dir,
        model_dir=model_dir,
        export=result,
        labels=labels,
        model_version=model_version,
        base_model=base_model,
        manifest=manifest,
        metrics=metrics,
        extra=extra,
        flavour=flavour,
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise BundleError(f"{path}: not valid JSON ({error})") from error


def load_bundle(root: Path, check_hashes: bool = True) -> BundleInfo:
    """The bundle at root, validated: every file present, VERSION.json complete and consistent with
    labels.json, exporter_mode.txt and (check_hashes) the tokenizer files and model.onnx."""
    root = Path(root)
    if not root.is_dir():
        raise BundleError(f"{root}: bundle folder not found")
    for name in REQUIRED_FILES:
        if not (root / name).is_file():
            raise BundleError(f"{root / name}: missing from the bundle")
    version_path = root / "onnx" / "VERSION.json"
    version = _read_json(version_path)
    missing = [k for k in VERSION_KEYS if k not in version]
    if missing:
        raise BundleError(f"{version_path}: missing keys {missing}")
    mode = (root / "onnx" / "exporter_mode.txt").read_text().strip()
    if mode not in EXPORTER_MODES or mode != version["exporter_mode"]:
        said = version["exporter_mode"]
        raise BundleError(f"{root / 'onnx' / 'exporter_mode.txt'}: {mode!r} (VERSION.json says {said!r})")
    labels = _read_json(root / "labels.json")
    if labels.get("labels") != version["labels"] or labels.get("tags") != version["tags"]:
        raise BundleError(f"{root / 'labels.json'}: labels/tags differ from VERSION.json")
    if version["tags"] != bio_tags(tuple(version["labels"])):
        raise BundleError(f"{version_path}: tags are not bio_tags(labels)")
    if check_hashes:
        for name, digest in version["tokenizer_files"].items():
            path = root / "tokenizer" / name
            if not path.is_file() or sha256_file(path) != digest:
                raise BundleError(f"{path}: missing or its sha256 differs from VERSION.json")
        onnx_digest = version.get("onnx_sha256")
        if onnx_digest and sha256_file(root / "onnx" / "model.onnx") != onnx_digest:
            raise BundleError(f"{root / 'onnx' / 'model.onnx'}: sha256 differs from VERSION.json")
    return BundleInfo(root, version)
