"""The int8 flavour of an exported model: ONNX Runtime dynamic quantization, and the gate that lets it serve.

int8 weights (per output channel, symmetric QInt8) with activations quantized per batch at run time (uint8,
dynamic): no calibration set, so the nightly run needs nothing beyond its export. On a CPU with AVX-512 VNNI
(or AVX2) ONNX Runtime runs the quantized MatMuls as integer dot products.

The gate: on the run's held-out split, int8 serves only when its entity F1 is within `F1_TOLERANCE` of
fp32's and its spans equal fp32's on at least `MIN_SPAN_AGREEMENT` of the records. Otherwise VERSION.json
says why and fp32 serves (include/adapters/ner/precision.py reads the verdict).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from include.core.spans import Span

log = logging.getLogger(__name__)

F1_TOLERANCE = 0.01
MIN_SPAN_AGREEMENT = 0.98


def quantization_settings() -> dict[str, Any]:
    """What `quantize_int8` does, as recorded in VERSION.json's `int8.quantization`."""
    import onnxruntime

    return {
        "method": "onnxruntime.quantization.quantize_dynamic",
        "weights": "QInt8, per channel",
        "activations": "QUInt8, dynamic (per batch at run time)",
        "reduce_range": False,
        "onnxruntime": onnxruntime.__version__,
    }


def quantize_int8(fp32_path: Path, out_path: Path) -> dict[str, Any]:
    """Write the int8 flavour of `fp32_path` to `out_path`; return the settings and how long it took."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    began = time.perf_counter()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    quantize_dynamic(
        Path(fp32_path),
        Path(out_path),
        per_channel=True,
        reduce_range=False,
        weight_type=QuantType.QInt8,
    )
    settings = quantization_settings()
    settings["seconds"] = round(time.perf_counter() - began, 2)
    settings["bytes"] = {"fp32": Path(fp32_path).stat().st_size, "int8": Path(out_path).stat().st_size}
    return settings


def _span_set(spans: Sequence[Span]) -> set[tuple[int, int, str]]:
    return {(s.start, s.end, s.label) for s in spans}


def span_agreement(a: Sequence[Sequence[Span]], b: Sequence[Sequence[Span]]) -> float:
    """Share of records whose spans (start, end, label) are the same in `a` and `b`; 1.0 for none."""
    if len(a) != len(b):
        raise ValueError(f"{len(a)} records against {len(b)}")
    if not a:
        return 1.0
    return sum(_span_set(x) == _span_set(y) for x, y in zip(a, b, strict=True)) / len(a)


@dataclass(frozen=True)
class Int8Gate:
    """The gate's verdict and the figures it rests on (VERSION.json `int8.gate`)."""

    passed: bool
    reason: str
    split: str | None = None
    records: int = 0
    f1_fp32: float | None = None
    f1_int8: float | None = None
    span_agreement: float | None = None
    f1_tolerance: float = F1_TOLERANCE
    min_span_agreement: float = MIN_SPAN_AGREEMENT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def int8_gate(
    f1_fp32: float,
    f1_int8: float,
    agreement: float,
    *,
    records: int,
    split: str | None = None,
    f1_tolerance: float = F1_TOLERANCE,
    min_agreement: float = MIN_SPAN_AGREEMENT,
) -> Int8Gate:
    """Pass when int8's F1 is within `f1_tolerance` of fp32's and spans agree on >= `min_agreement`."""
    if records == 0:
        passed, reason = False, "no held-out records to compare int8 with fp32"
    else:
        failures = []
        # A hair of float slack, so a drop of exactly the tolerance passes as the gate states it.
        if f1_fp32 - f1_int8 > f1_tolerance + 1e-12:
            failures.append(f"F1 {f1_int8:.4f} < fp32 {f1_fp32:.4f} - {f1_tolerance:.2f}")
        if agreement < min_agreement:
            failures.append(f"spans agree with fp32 on {agreement:.2%} of records < {min_agreement:.0%}")
        passed = not failures
        reason = "; ".join(failures) or (
            f"F1 {f1_int8:.4f} vs fp32 {f1_fp32:.4f} (within {f1_tolerance:.2f}); spans agree on "
            f"{agreement:.2%} of {records} records (>= {min_agreement:.0%})"
        )
    return Int8Gate(
        passed,
        reason,
        split=split,
        records=records,
        f1_fp32=f1_fp32,
        f1_int8=f1_int8,
        span_agreement=agreement,
        f1_tolerance=f1_tolerance,
        min_span_agreement=min_agreement,
    )


def failed_quantization(error: Exception) -> dict[str, Any]:
    """The `int8` record of a run whose quantization itself failed: no file, fp32 serves."""
    reason = f"quantization failed: {type(error).__name__}: {error}"
    return {"quantization": quantization_settings(), "gate": Int8Gate(False, reason).to_dict()}


def int8_flavour(
    fp32_path: Path,
    tokenizer_dir: Path,
    tags: Sequence[str],
    held_out: Sequence[Any],
    fp32_predicted: Sequence[Sequence[Span]],
    out_path: Path,
    split: str | None = None,
) -> tuple[Path | None, dict[str, Any]]:
    """Quantize the export, score int8 on the held-out split the way it would serve, and gate it.

    `held_out` are the LabeledText examples fp32 was scored on and `fp32_predicted` its spans on them.
    Returns the int8 file (None when quantization failed) and VERSION.json's `int8` record.
    """
    from include.workflows.training.evaluate import onnx_client, predict_spans, score_spans

    try:
        settings = quantize_int8(fp32_path, out_path)
    except Exception as error:  # a model ONNX Runtime cannot quantize still ships, in fp32
        log.warning("int8 quantization of %s failed; fp32 serves: %s", fp32_path, error)
        return None, failed_quantization(error)
    predicted = predict_spans(onnx_client(out_path, tokenizer_dir, tags), held_out) if held_out else []
    gold = [e.spans for e in held_out]
    f1_fp32 = score_spans(gold, fp32_predicted).f1 if held_out else 0.0
    f1_int8 = score_spans(gold, predicted).f1 if held_out else 0.0
    gate = int8_gate(
        f1_fp32, f1_int8, span_agreement(fp32_predicted, predicted), records=len(held_out), split=split
    )
    log.info("int8 flavour %s: %s", "passes" if gate.passed else "fails", gate.reason)
    return out_path, {"quantization": settings, "gate": gate.to_dict()}
