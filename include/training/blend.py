"""Blend a nightly run's weights back toward the model in service until no label is forgotten.

Continued training moves every weight, not only those the SME gold needs: measured on the demo's 47
gold texts (the bootstrap's own predictions, no edits at all), 57 steps from the served weights cost
PERSON 0.026 F1 on the bootstrap's held-out set, and at 100 WNUT-17 texts a lower learning rate (3e-5)
still lost DATE 0.027 while learning less. Weight-space interpolation between the fine-tuned model and
the one it started from (WiSE-FT, Wortsman et al. 2022) keeps most of what was learned and restores
what drifted. A run scores its trained weights on the bootstrap's held-out set per label, and when some
label fell more than the tolerance below the model in service it tries
`served + alpha * (trained - served)` for smaller alphas, keeping the largest alpha that loses no label.
When none does, the trained weights stay as they are and the gate decides.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from include.training.evaluate import Metrics

log = logging.getLogger(__name__)

ALPHAS = (1.0, 0.75, 0.5)
"""Blend weights tried, largest first (1.0: the trained weights as they are)."""

WEIGHTS_FILE = "model.safetensors"


@dataclass(frozen=True)
class BlendChoice:
    """The alpha kept, and each tried alpha's largest per-label drop below the model in service."""

    alpha: float
    drops: dict[float, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"alpha": self.alpha, "largest_drop": {str(a): round(d, 4) for a, d in self.drops.items()}}


def largest_drop(candidate: Metrics, in_service: Metrics) -> float:
    """The largest per-label F1 fall of the candidate below the model in service (0 when none fell)."""
    drops = [
        served.f1 - (candidate.per_label[label].f1 if label in candidate.per_label else 0.0)
        for label, served in in_service.per_label.items()
        if served.support
    ]
    return max([0.0, *drops])


def interpolate(
    served: dict[str, torch.Tensor], trained: dict[str, torch.Tensor], alpha: float
) -> dict[str, torch.Tensor]:
    """served + alpha * (trained - served), tensor by tensor; both must hold the same names and shapes."""
    if served.keys() != trained.keys():
        raise ValueError(f"weights differ in names: {sorted(served.keys() ^ trained.keys())[:5]}")
    blended = {}
    for name, new in trained.items():
        old = served[name]
        if old.shape != new.shape:
            raise ValueError(f"{name}: shape {tuple(old.shape)} in service, {tuple(new.shape)} trained")
        blended[name] = (old + alpha * (new - old)).to(new.dtype) if new.is_floating_point() else new
    return blended


def choose_blend(
    trained_dir: Path,
    served_dir: Path,
    score: Callable[[Path], Metrics],
    in_service: Metrics,
    tolerance: float,
    alphas: Sequence[float] = ALPHAS,
) -> BlendChoice:
    """Keep the largest alpha whose blend loses no label (per `score` of a model folder, against
    `in_service`), writing that blend's weights into `trained_dir`; alpha 1.0 (unchanged) when none does.

    `trained_dir` and `served_dir` are transformers folders with the same architecture and labels.
    """
    trained = load_file(trained_dir / WEIGHTS_FILE)
    served = load_file(served_dir / WEIGHTS_FILE)
    drops: dict[float, float] = {}
    scratch = trained_dir.parent / f"{trained_dir.name}.blend"
    try:
        for alpha in alphas:
            if alpha == 1.0:
                folder = trained_dir
            else:
                shutil.rmtree(scratch, ignore_errors=True)
                shutil.copytree(trained_dir, scratch)
                save_file(
                    interpolate(served, trained, alpha), scratch / WEIGHTS_FILE, metadata={"format": "pt"}
                )
                folder = scratch
            drops[alpha] = largest_drop(score(folder), in_service)
            log.info(
                "blend alpha %.2f: largest per-label drop %.4f (tolerance %.2f)",
                alpha,
                drops[alpha],
                tolerance,
            )
            if drops[alpha] <= tolerance:
                if folder is not trained_dir:
                    shutil.copyfile(scratch / WEIGHTS_FILE, trained_dir / WEIGHTS_FILE)
                return BlendChoice(alpha, drops)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return BlendChoice(1.0, drops)
