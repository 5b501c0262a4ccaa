"""Which flavour of a bundle serves: fp32 or int8, from the bundle's gate, NER_PRECISION and the device.

auto: int8 on CPU when the bundle's int8 flavour passed its gate, fp32 on GPU (where int8 dynamic
quantization brings nothing) and whenever the gate failed. int8: int8 wherever the gate passed; a bundle
whose gate failed serves fp32 all the same (logged), since the gate is the one judge of int8's quality.
fp32: always fp32.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from include.core.bundle.format import Bundle

log = logging.getLogger(__name__)

Precision = Literal["fp32", "int8"]
PrecisionSetting = Literal["auto", "int8", "fp32"]
Device = Literal["cpu", "gpu"]
INT8_SUFFIX = "_int8"


@dataclass(frozen=True)
class Choice:
    precision: Precision
    reason: str


def choose_precision(bundle: Bundle, setting: PrecisionSetting = "auto", device: Device = "cpu") -> Choice:
    """The flavour to serve and why (the why goes to the log and the bench output)."""
    if setting == "fp32":
        return Choice("fp32", "NER_PRECISION=fp32")
    if bundle.int8 is None:
        return Choice("fp32", "the bundle has no int8 flavour")
    gate = bundle.int8["gate"]
    if not bundle.int8_gate_passed:
        choice = Choice("fp32", f"the int8 flavour failed its gate: {gate.get('reason')}")
        if setting == "int8":
            log.warning("NER_PRECISION=int8 but %s: %s serves fp32", choice.reason, bundle.model_version)
        return choice
    if setting == "int8":
        return Choice("int8", "NER_PRECISION=int8 and the gate passed")
    if device == "gpu":
        return Choice("fp32", "NER_PRECISION=auto on GPU")
    return Choice("int8", f"NER_PRECISION=auto on CPU and the gate passed: {gate.get('reason')}")


def triton_model_name(model: str, precision: Precision) -> str:
    """The Triton model serving `precision`: `ner` for fp32, `ner_int8` for int8."""
    return model if precision == "fp32" else f"{model}{INT8_SUFFIX}"
