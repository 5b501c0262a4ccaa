"""A bundle from a trained model folder: export to ONNX (parity-checked), quantize and gate the int8 flavour,
then `include.core.bundle.write` writes it."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from include.core.bundle.format import Bundle, BundleError
from include.core.bundle.write import ExportedModel, VersionRecord, write_bundle
from include.core.labels import bio_tags
from include.workflows.training.dataset import LabeledText
from include.workflows.training.evaluate import onnx_client, predict_spans
from include.workflows.training.export import ExportResult, export_onnx
from include.workflows.training.quantize import int8_flavour

if TYPE_CHECKING:
    from include.core.bundle.config import Flavour

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
    flavour: Flavour = "onnxruntime",
    int8_onnx_path: Path | None = None,
    int8: dict[str, Any] | None = None,
) -> Bundle:
    """Write the bundle for an export already made (and scored) from `model_dir`, with its int8 flavour
    and gate record when given (include/workflows/training/quantize.py)."""
    model = ExportedModel(
        onnx_path=export.path,
        exporter_mode=export.mode,
        tokenizer_dir=model_dir,
        weights_dir=model_dir,
        exporter={"max_abs_diff": export.max_abs_diff, "fallback_reason": export.fallback_reason},
        int8_onnx_path=int8_onnx_path,
        int8=int8,
    )
    record = VersionRecord(
        labels=labels,
        model_version=model_version,
        base_model=base_model,
        manifest=manifest,
        metrics=metrics,
        extra=extra or {},
    )
    return write_bundle(out_dir, model, record, flavour=flavour)


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
    flavour: Flavour = "onnxruntime",
    held_out: Sequence[LabeledText] = (),
    held_out_name: str | None = None,
) -> Bundle:
    """Export `model_dir` to ONNX and write the bundle (its tokenizer from `model_dir`) at `out_dir`.

    With `held_out` examples the bundle also carries the int8 flavour, gated on them against the fp32
    export (include/workflows/training/quantize.py), as a nightly run's bundle does.
    """
    out_dir = Path(out_dir)
    if (out_dir / "onnx" / "VERSION.json").exists():
        raise BundleError(f"{out_dir}: already holds a bundle")
    with tempfile.TemporaryDirectory(prefix="onnx-export-") as tmp:
        export = export_onnx(model_dir, Path(tmp) / "fp32")
        int8_path, int8 = None, None
        if held_out:
            tags = bio_tags(tuple(labels))
            fp32_predicted = predict_spans(onnx_client(export.path, model_dir, tags), held_out)
            int8_out = Path(tmp) / "int8" / "model.int8.onnx"
            int8_path, int8 = int8_flavour(
                export.path, model_dir, tags, held_out, fp32_predicted, int8_out, held_out_name
            )
        return bundle_from_export(
            model_dir,
            export,
            out_dir,
            labels=labels,
            model_version=model_version,
            base_model=base_model,
            manifest=manifest,
            metrics=metrics,
            extra=extra,
            flavour=flavour,
            int8_onnx_path=int8_path,
            int8=int8,
        )
