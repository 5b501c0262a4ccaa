"""A bundle from a trained model folder: export to ONNX (parity-checked), then `include.bundle` writes it."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from include.bundle import Bundle, BundleError, write_bundle
from include.training.export import ExportResult, export_onnx

__all__ = ["build_bundle", "bundle_from_export"]


def bundle_from_export(
    model_dir: Path,
    export: ExportResult,
    out_dir: Path,
    *,
    labels: Sequence[str],
    model_version: str,
    base_model: str,
    manifest: dict[str, Any],
    metrics: dict[str, Any],
    extra: dict[str, Any] | None = None,
    flavour: str = "onnxruntime",
    int8_onnx_path: Path | None = None,
    int8: dict[str, Any] | None = None,
) -> Bundle:
    """Write the bundle for an export already made (and scored) from `model_dir`, with its int8 flavour
    and gate record when given (include/training/quantize.py)."""
    return write_bundle(
        out_dir,
        onnx_path=export.path,
        exporter_mode=export.mode,
        tokenizer_dir=model_dir,
        labels=labels,
        model_version=model_version,
        base_model=base_model,
        manifest=manifest,
        metrics=metrics,
        exporter={"max_abs_diff": export.max_abs_diff, "fallback_reason": export.fallback_reason},
        extra=extra,
        flavour=flavour,
        int8_onnx_path=int8_onnx_path,
        int8=int8,
    )


def build_bundle(
    model_dir: Path,
    out_dir: Path,
    *,
    labels: Sequence[str],
    model_version: str,
    base_model: str,
    manifest: dict[str, Any],
    metrics: dict[str, Any],
    extra: dict[str, Any] | None = None,
    flavour: str = "onnxruntime",
) -> Bundle:
    """Export `model_dir` to ONNX and write the bundle (its tokenizer from `model_dir`) at `out_dir`."""
    out_dir = Path(out_dir)
    if (out_dir / "onnx" / "VERSION.json").exists():
        raise BundleError(f"{out_dir}: already holds a bundle")
    with tempfile.TemporaryDirectory(prefix="onnx-export-") as tmp:
        return bundle_from_export(
            model_dir,
            export_onnx(model_dir, Path(tmp)),
            out_dir,
            labels=labels,
            model_version=model_version,
            base_model=base_model,
            manifest=manifest,
            metrics=metrics,
            extra=extra,
            flavour=flavour,
        )
