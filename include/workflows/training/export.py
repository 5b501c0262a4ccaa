"""ONNX export of a trained model: optimum ("modern") first, torch.onnx ("legacy_fallback") if it fails."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper
from transformers import AutoModelForTokenClassification, AutoTokenizer

from include.adapters.ner.backends import OnnxRuntimeBackend

log = logging.getLogger(__name__)

ExporterMode = Literal["modern", "legacy_fallback"]
INPUTS = ("input_ids", "attention_mask")
OUTPUT = "logits"
LEGACY_OPSET = 17
PARITY_TOLERANCE = 1e-3
SAMPLE_TEXTS = (
    "Alice Smith paid $120.50 to Acme Corp on 2024-03-01.",
    "Call +1 415 555 0100 or write to ops@example.com",
    "nothing to see here",
)


class ExportError(RuntimeError):
    """Neither exporter produced a model that matches torch; the message carries both reasons."""


@dataclass(frozen=True)
class ExportResult:
    mode: ExporterMode
    path: Path
    max_abs_diff: float
    fallback_reason: str | None = None


def _run_optimum(model_dir: Path, work_dir: Path) -> Path:
    from optimum.exporters.onnx import main_export

    main_export(
        str(model_dir),
        output=work_dir,
        task="token-classification",
        device="cpu",
        local_files_only=True,
        do_validation=False,
        library_name="transformers",
    )
    return work_dir / "model.onnx"


def _two_inputs_only(model: onnx.ModelProto) -> onnx.ModelProto:
    """The serving side sends input_ids and attention_mask: token_type_ids becomes zeros inside the graph."""
    graph = model.graph
    extra = [i for i in graph.input if i.name not in INPUTS]
    for inp in extra:
        if inp.name != "token_type_ids":
            raise ExportError(f"exported model has an unexpected input {inp.name!r}")
        graph.input.remove(inp)
        graph.initializer.append(helper.make_tensor("token_type_ids_zero", TensorProto.INT64, [], [0]))
        graph.node.insert(
            0,
            helper.make_node(
                "Mul", ["input_ids", "token_type_ids_zero"], ["token_type_ids"], name="token_type_ids_zeros"
            ),
        )
    return model


def _modern(model_dir: Path, out_path: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="optimum-export-") as tmp:
        exported = _run_optimum(model_dir, Path(tmp))
        model = _two_inputs_only(onnx.load(str(exported)))
        onnx.save(model, str(out_path))


class _Logits(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def _legacy(model_dir: Path, out_path: Path) -> None:
    model = AutoModelForTokenClassification.from_pretrained(model_dir).eval()
    ids, mask = _samples(model_dir)
    axes = {0: "batch", 1: "sequence"}
    torch.onnx.export(
        _Logits(model),
        (torch.as_tensor(ids), torch.as_tensor(mask)),
        str(out_path),
        dynamo=False,
        opset_version=LEGACY_OPSET,
        input_names=list(INPUTS),
        output_names=[OUTPUT],
        dynamic_axes={"input_ids": axes, "attention_mask": axes, OUTPUT: axes},
    )


def _samples(model_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    enc = tokenizer(list(SAMPLE_TEXTS), padding=True, return_tensors="np")
    return enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)


def parity(model_dir: Path, onnx_path: Path) -> float:
    """Max |ONNX Runtime − torch| over the logits of sample inputs (padded batch of different lengths)."""
    model = AutoModelForTokenClassification.from_pretrained(model_dir).eval()
    ids, mask = _samples(model_dir)
    with torch.no_grad():
        expected = model(input_ids=torch.as_tensor(ids), attention_mask=torch.as_tensor(mask)).logits.numpy()
    got = OnnxRuntimeBackend(onnx_path).infer(ids, mask)
    if got.shape != expected.shape:
        raise ExportError(f"ONNX logits shape {got.shape} != torch {expected.shape}")
    return float(np.abs(got - expected).max())


def _check(model_dir: Path, path: Path, tolerance: float) -> float:
    model = onnx.load(str(path), load_external_data=False)
    names = [i.name for i in model.graph.input]
    if names != list(INPUTS):
        raise ExportError(f"ONNX inputs {names} != {list(INPUTS)}")
    if [o.name for o in model.graph.output][:1] != [OUTPUT]:
        raise ExportError(f"ONNX first output is not {OUTPUT!r}")
    diff = parity(model_dir, path)
    if diff > tolerance:
        raise ExportError(f"ONNX logits differ from torch by {diff:.2e} > {tolerance:.0e}")
    return diff


def export_onnx(model_dir: Path, out_dir: Path, tolerance: float = PARITY_TOLERANCE) -> ExportResult:
    """Write out_dir/model.onnx (inputs input_ids, attention_mask int64; output logits), parity-checked."""
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "model.onnx"
    try:
        _modern(model_dir, path)
        diff = _check(model_dir, path, tolerance)
        log.info("exported %s with optimum (modern), max |diff| vs torch %.2e", path, diff)
        return ExportResult("modern", path, diff)
    except Exception as exc:  # any failure of the modern path is a reason to try the legacy exporter
        modern_reason = f"{type(exc).__name__}: {exc}"
        log.warning("optimum export failed, falling back to torch.onnx (legacy): %s", modern_reason)
    path.unlink(missing_ok=True)
    try:
        _legacy(model_dir, path)
        diff = _check(model_dir, path, tolerance)
    except Exception as exc:
        path.unlink(missing_ok=True)
        raise ExportError(
            f"ONNX export failed both ways: modern: {modern_reason}; "
            f"legacy_fallback: {type(exc).__name__}: {exc}"
        ) from exc
    log.info("exported %s with torch.onnx (legacy_fallback), max |diff| vs torch %.2e", path, diff)
    return ExportResult("legacy_fallback", path, diff, modern_reason)
