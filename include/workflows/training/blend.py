"""Blend a nightly run's weights back toward the model in service until no label is forgotten.

Continued training moves every weight, not only those the SME gold needs: measured on the demo's 47
gold texts (the bootstrap's own predictions, no edits at all), 57 steps from the served weights cost
PERSON 0.026 F1 on the bootstrap's held-out set, and at 100 WNUT-17 texts a lower learning rate (3e-5)
still lost DATE 0.027 while learning less. Weight-space interpolation between the fine-tuned model and
the one it started from (WiSE-FT, Wortsman et al. 2022) keeps most of what was learned and restores
what drifted. A run scores its trained weights on the bootstrap's held-out set per label, and when a
guarded label fell more than the tolerance below the model in service it tries
`served + alpha * (trained - served)` for smaller alphas, keeping the largest alpha that loses no guarded
label.

Guarded are the labels the SMEs have not re-taught (`guarded_labels`). A label is re-taught when the SME
gold disagrees with the model in service on it (the served model's F1 on that label over all the run's
gold below `RETAUGHT_BELOW`); a label with no SME gold, or gold that mostly confirms the model (the demo's
SMEs keep most predictions and edit a few), stays guarded. A label the SMEs did re-teach (WNUT-17's
PERSON in tweets against the bootstrap's PERSON in invoices) may move on the bootstrap's set: counting
its drop there blended away what the SMEs taught (alpha 0.5 at 200 WNUT-17 texts: 0.195 F1 instead of
0.269).

When no alpha of the list keeps every guarded label, the interval between the smallest and the served weights
(alpha 0, which lose nothing) is halved the same way: at 100 WNUT-17 texts (bench seed 1) every alpha down to
0.25 lost EMAIL and 0.125 kept it. When none of those does either, the largest alpha that keeps the labels
without SME gold (the ones the gate refuses for) is taken, and when none does either the trained weights stay
as they are and the gate decides. Keeping the unblended weights at once (as the first version did) lost MONEY
at 400 WNUT-17 texts while alpha 0.25 came within 0.001 of keeping every guarded label.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from include.workflows.training.evaluate import Metrics

log = logging.getLogger(__name__)

ALPHAS = (1.0, 0.75, 0.5, 0.25)
"""Blend weights tried, largest first (1.0: the trained weights as they are)."""

REFINE_STEPS = 2
"""Halvings between the largest alpha that lost a label and the next one tried that lost none: at 100
WNUT-17 texts 0.75 lost DATE by 0.021 and 0.5 kept it with 0.009 to spare; 0.625 keeps more of the run."""

RETAUGHT_BELOW = 0.9
"""A label whose in-service F1 on the SME held-out gold is at least this is one the SMEs mostly confirm."""

WEIGHTS_FILE = "model.safetensors"


@dataclass(frozen=True)
class BlendChoice:
    """The alpha kept, and each tried alpha's largest per-label drop below the model in service."""

    alpha: float
    drops: dict[float, float] = field(default_factory=dict)
    guarded: tuple[str, ...] | None = None
    required_drops: dict[float, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "alpha": self.alpha,
            "largest_drop": {str(a): round(d, 4) for a, d in self.drops.items()},
            "guarded": list(self.guarded) if self.guarded is not None else None,
            "largest_drop_without_sme_gold": {str(a): round(d, 4) for a, d in self.required_drops.items()},
        }


def guarded_labels(labels: Iterable[str], sme_labels: set[str], served_on_gold: Metrics | None) -> set[str]:
    """The labels a blend must keep: all but the re-taught ones, labels with SME gold that the model in
    service reads differently (its F1 on the SME gold below `RETAUGHT_BELOW`); every label when the
    served model was not scored on the gold."""
    if served_on_gold is None:
        return set(labels)

    def retaught(label: str) -> bool:
        score = served_on_gold.per_label.get(label)
        return label in sme_labels and score is not None and score.support > 0 and score.f1 < RETAUGHT_BELOW

    return {label for label in labels if not retaught(label)}


def largest_drop(candidate: Metrics, in_service: Metrics, labels: Collection[str] | None = None) -> float:
    """The largest per-label F1 fall of the candidate below the model in service (0 when none fell),
    over `labels` (all when None)."""
    drops = [
        served.f1 - (candidate.per_label[label].f1 if label in candidate.per_label else 0.0)
        for label, served in in_service.per_label.items()
        if served.support and (labels is None or label in labels)
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
    guarded: Collection[str] | None = None,
    required: Collection[str] = (),
    refine: int = REFINE_STEPS,
) -> BlendChoice:
    """Keep the largest alpha whose blend loses no label of `guarded` (all when None; per `score` of a
    model folder, against `in_service`); when none does, the largest that loses none of `required` (the
    labels the gate itself guards); else alpha 1.0 (unchanged). Below a failed alpha the interval to the
    next passing one is halved `refine` times, and when no alpha of the list passes, the interval between
    the smallest and 0 (the served weights, which lose nothing). The kept blend's weights are written into
    `trained_dir`.

    `trained_dir` and `served_dir` are transformers folders with the same architecture and labels.
    """
    trained = load_file(trained_dir / WEIGHTS_FILE)
    served = load_file(served_dir / WEIGHTS_FILE)
    drops: dict[float, float] = {}
    required_drops: dict[float, float] = {}
    kept = tuple(sorted(guarded)) if guarded is not None else None
    scratch = trained_dir.parent / f"{trained_dir.name}.blend"
    best = trained_dir.parent / f"{trained_dir.name}.best"
    fallback = trained_dir.parent / f"{trained_dir.name}.required"
    fallback_alpha: float | None = None

    def try_alpha(alpha: float) -> Path:
        if alpha == 1.0:
            folder = trained_dir
        else:
            shutil.rmtree(scratch, ignore_errors=True)
            shutil.copytree(trained_dir, scratch)
            save_file(interpolate(served, trained, alpha), scratch / WEIGHTS_FILE, metadata={"format": "pt"})
            folder = scratch
        scored = score(folder)
        drops[alpha] = largest_drop(scored, in_service, guarded)
        required_drops[alpha] = largest_drop(scored, in_service, required) if required else 0.0
        log.info(
            "blend alpha %.4f: largest drop %.4f over guarded labels, %.4f over labels without SME "
            "gold (tolerance %.2f)",
            alpha,
            drops[alpha],
            required_drops[alpha],
            tolerance,
        )
        return folder

    def halve(passing: float | None, failed: float) -> float | None:
        """Halve the interval from `passing` (None: the served weights, alpha 0) up to `failed` `refine`
        times; the largest alpha that kept every guarded label (its weights copied to `best`)."""
        for _ in range(refine):
            middle = ((passing or 0.0) + failed) / 2
            folder = try_alpha(middle)
            if drops[middle] <= tolerance:
                passing = middle
                shutil.copyfile(folder / WEIGHTS_FILE, best)
            else:
                failed = middle
        return passing

    try:
        failed: float | None = None
        for alpha in alphas:
            folder = try_alpha(alpha)
            if drops[alpha] <= tolerance:
                if folder is trained_dir:
                    return BlendChoice(alpha, drops, kept, required_drops)
                shutil.copyfile(folder / WEIGHTS_FILE, best)
                if failed is not None:  # up to the largest alpha that lost a label
                    alpha = halve(alpha, failed) or alpha
                shutil.copyfile(best, trained_dir / WEIGHTS_FILE)
                return BlendChoice(alpha, drops, kept, required_drops)
            failed = alpha
            if fallback_alpha is None and required_drops[alpha] <= tolerance:
                fallback_alpha = alpha
                if folder is not trained_dir:
                    shutil.copyfile(folder / WEIGHTS_FILE, fallback)
        # No alpha of the list kept every guarded label: the served weights themselves (alpha 0) lose
        # none, so the interval below the smallest alpha tried is halved the same way.
        kept_alpha = halve(None, failed) if failed is not None else None
        if kept_alpha is not None:
            shutil.copyfile(best, trained_dir / WEIGHTS_FILE)
            return BlendChoice(kept_alpha, drops, kept, required_drops)
        if fallback_alpha is not None and fallback_alpha != 1.0:
            shutil.copyfile(fallback, trained_dir / WEIGHTS_FILE)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        best.unlink(missing_ok=True)
        fallback.unlink(missing_ok=True)
    return BlendChoice(fallback_alpha or 1.0, drops, kept, required_drops)
