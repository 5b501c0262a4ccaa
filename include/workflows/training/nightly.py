"""One nightly training run, one training_runs row: `start_run` selects gold once and stores it as the run's
manifest (or records the run as skipped when train is too small); `train_run` reads that manifest back by
run id → continue training the model in service (its bundle's weights) on the gold plus a rehearsal of
what it learned from → evaluate against the model in service → gate → bundle.

The gate scores the candidate and the model in service on the same SME held-out gold, and per label on
the bootstrap's held-out set (include/workflows/training/unseen.py): a label with no SME gold may not drop
more than `FORGET_TOLERANCE` there, so what the SMEs have not touched yet is not forgotten."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from include.adapters.db.connection import transaction
from include.core.bundle.format import Bundle, new_model_version
from include.core.bundle.read import read_bundle
from include.core.labels import DEFAULT_LABELS, bio_tags
from include.workflows.training.blend import choose_blend, guarded_labels
from include.workflows.training.dataset import LabeledText
from include.workflows.training.evaluate import (
    Metrics,
    load_client,
    onnx_client,
    predict_spans,
    promotion_gate,
    regression_probability,
    score_client,
    score_spans,
)
from include.workflows.training.export import export_onnx
from include.workflows.training.export_bundle import bundle_from_export
from include.workflows.training.gold import (
    Connection,
    finish_training_run,
    record_model_version,
    record_training_run,
    run_gold,
    select_gold,
    start_training,
)
from include.workflows.training.quantize import int8_flavour
from include.workflows.training.rehearsal import (
    RehearsalPlan,
    rehearsal_examples,
    shield_untouched,
    untouched_ranges,
)
from include.workflows.training.sources import BASE_MODEL_NAME
from include.workflows.training.train import TrainConfig, train
from include.workflows.training.unseen import UNSEEN_COUNT, UNSEEN_SEED, unseen_gold

log = logging.getLogger(__name__)

FORGET_TOLERANCE = 0.02
"""How far a label with no SME gold may drop on the bootstrap's held-out set before the gate refuses."""


@dataclass
class NightlyOutcome:
    """What the run did: its id, status, the gate's verdict and (when promoted) the new bundle."""

    run_id: int
    status: str
    reason: str
    promoted: bool = False
    model_version: str | None = None
    bundle: Bundle | None = None
    metrics: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RunStart:
    """A run as `start_run` left it: running (gold stored, ready to train) or skipped, and why."""

    run_id: int
    status: Literal["running", "skipped"]
    reason: str
    counts: dict


def forgetting_gate(
    candidate: Metrics,
    in_service: Metrics,
    sme_labels: set[str],
    tolerance: float = FORGET_TOLERANCE,
) -> tuple[bool, str]:
    """Refuse a candidate that lost a label the SMEs have not corrected: per label on the bootstrap's
    held-out set, candidate F1 >= in-service F1 - tolerance for every label with no SME gold."""
    lost = []
    for label, served in sorted(in_service.per_label.items()):
        if label in sme_labels or not served.support:
            continue
        new = candidate.per_label.get(label)
        new_f1 = new.f1 if new else 0.0
        if new_f1 < served.f1 - tolerance:
            lost.append(f"{label} {served.f1:.4f} -> {new_f1:.4f}")
    if lost:
        return (
            False,
            f"forgot labels with no SME gold (bootstrap held-out F1, tolerance {tolerance}): "
            + ", ".join(lost),
        )
    return True, "no label without SME gold dropped more than " + f"{tolerance} on the bootstrap held-out set"


def served_bundle(current_bundle: Path | None, labels: Sequence[str]) -> Bundle | None:
    """The model in service as a bundle whose weights training can continue from (same labels), else None."""
    if current_bundle is None:
        return None
    bundle = read_bundle(current_bundle)
    if list(bundle.labels) != list(labels):
        log.warning(
            "model in service has labels %s, not %s: training starts from the base encoder",
            bundle.labels,
            labels,
        )
        return None
    return bundle


def start_run(conn: Connection, *, labels: Sequence[str] = DEFAULT_LABELS, min_train: int = 20) -> RunStart:
    """Select gold once and store it as a new training run's manifest; with fewer than `min_train` gold
    texts in train the run is stored as skipped (the one place that rule lives)."""
    gold = select_gold(conn, labels=labels)
    train_size = len(gold.split("train"))
    if train_size < min_train:
        reason = f"{train_size} gold texts in train < min_train {min_train}"
        with transaction(conn):
            run_id = record_training_run(conn, gold, status="skipped", detail={"reason": reason})
        log.info("training run %d skipped: %s", run_id, reason)
        return RunStart(run_id, "skipped", reason, gold.counts)
    with transaction(conn):
        run_id = record_training_run(conn, gold)
    log.info("training run %d: gold %s, manifest %s", run_id, gold.counts, gold.manifest_sha256)
    return RunStart(run_id, "running", f"{train_size} gold texts in train", gold.counts)


def train_run(
    conn: Connection,
    run_id: int,
    bundle_dir: Path,
    *,
    current_bundle: Path | None = None,
    labels: Sequence[str] = DEFAULT_LABELS,
    config: TrainConfig | None = None,
    tolerance: float = 0.0,
    extra_train: Sequence[LabeledText] = (),
    init_model_dir: Path | None = None,
    rehearsal: RehearsalPlan | None = None,
    forget_tolerance: float = FORGET_TOLERANCE,
    unseen_count: int = UNSEEN_COUNT,
) -> NightlyOutcome:
    """Train on the gold the run stored when it started; write a bundle to bundle_dir only when the gate
    passes.

    Training continues from the weights of the model in service (`current_bundle`'s model/ folder; the
    base encoder when nothing serves, or `init_model_dir` when given) and rehearses a sample of the data
    that model learned from (its manifest's `sources`). The new model and the one in service are scored
    on the same held-out split (test, or dev when test is empty) and per label on the bootstrap's
    held-out set; the export's int8 flavour is scored and gated against the new model's fp32
    (include/workflows/training/quantize.py). Every step lands in training_runs.
    """
    rehearsal = rehearsal or RehearsalPlan()
    with transaction(conn):
        start_training(conn, run_id)
        gold = run_gold(conn, run_id)
    train_set = gold.split("train")
    log.info("training run %d: %s", run_id, gold.counts)
    dev, test = gold.split("dev"), gold.split("test")
    held_out, held_out_name = (test, "test") if test else (dev, "dev")
    try:  # a served bundle the strict reader refuses (e.g. one written before bundles carried weights)
        served = served_bundle(current_bundle, labels)
        # One client for the model in service: it shields untouched labels, and the gate scores it twice.
        served_client = load_client(served or current_bundle) if current_bundle else None
        start_from = init_model_dir or (served.weights_dir if served else None)
        sources = served.manifest.get("sources") if served else None
        replay = rehearsal_examples(
            sources, rehearsal.size(len(train_set)), rehearsal, (e.text for e in gold.examples)
        )
        sme_labels = {s.label for e in gold.examples for s in e.spans}
        untouched = set(labels) - sme_labels
        if served is not None and served_client is not None and untouched and train_set:
            plausible = untouched_ranges(served_client, train_set, untouched)
            train_set = shield_untouched(train_set, plausible)
            log.info(
                "training run %d: %d gold texts hold stretches the served model reads as labels no SME "
                "gold has (%s): left open there (O or one of those labels)",
                run_id,
                sum(1 for e in train_set if e.unlabelled),
                ", ".join(sorted(untouched)),
            )
    except Exception as error:
        with transaction(conn):
            finish_training_run(conn, run_id, "failed", detail={"error": f"{type(error).__name__}: {error}"})
        raise
    log.info(
        "training run %d: continuing from %s; %d gold texts + %d rehearsal texts (weight %.2f)",
        run_id,
        start_from or "the base encoder",
        len(train_set),
        len(replay),
        rehearsal.weight,
    )
    try:
        with tempfile.TemporaryDirectory(prefix=f"training-run-{run_id}-") as tmp:
            result = train(
                [*train_set, *extra_train, *replay],
                Path(tmp) / "model",
                labels,
                config,
                dev_examples=dev or None,
                init_model_dir=start_from,
                open_labels=untouched if served is not None else (),
            )
            unseen = unseen_gold(unseen_count)
            held_spans = [e.spans for e in held_out]
            served_predicted = predict_spans(served_client, held_out) if served_client and held_out else None
            current = score_spans(held_spans, served_predicted) if served_predicted is not None else None
            unseen_current = score_client(served_client, unseen) if served_client else None
            blend = None
            if (
                served is not None
                and served_client is not None
                and unseen_current is not None
                and not init_model_dir
            ):
                all_gold = [*gold.split("train"), *dev, *test]
                served_on_gold = score_client(served_client, all_gold) if all_gold else None
                blend = choose_blend(
                    result.model_dir,
                    served.weights_dir,
                    lambda folder: score_client(load_client(folder), unseen),
                    unseen_current,
                    forget_tolerance,
                    guarded=guarded_labels(labels, sme_labels, served_on_gold),
                    required=untouched,
                )
            # The gate: the candidate's and the served model's exported ONNX, scored by the serving client
            # on the same held-out gold, and per label on the bootstrap's held-out set.
            export = export_onnx(result.model_dir, Path(tmp) / "onnx")
            tags = bio_tags(tuple(labels))
            candidate = onnx_client(export.path, result.model_dir, tags)
            predicted = predict_spans(candidate, held_out) if held_out else []
            new = score_spans([e.spans for e in held_out], predicted) if held_out else None
            int8_path, int8 = int8_flavour(
                export.path,
                result.model_dir,
                tags,
                held_out,
                predicted,
                Path(tmp) / "int8" / "model.int8.onnx",
                held_out_name if held_out else None,
            )
            regression_p = (
                regression_probability(held_spans, predicted, served_predicted, tolerance)
                if served_predicted is not None
                else None
            )
            new_f1 = new.f1 if new else 0.0
            promoted, reason = promotion_gate(
                new_f1, current.f1 if current else None, tolerance, regression_p=regression_p
            )
            if not held_out and current_bundle:
                promoted, reason = False, "no held-out gold to compare with the model in service"
            unseen_new = score_client(candidate, unseen)
            if unseen_current is not None:
                kept, forgetting = forgetting_gate(unseen_new, unseen_current, sme_labels, forget_tolerance)
                if promoted and not kept:
                    promoted, reason = False, forgetting
                elif promoted:
                    reason = f"{reason}; {forgetting}"
            metrics = {
                "split": held_out_name,
                "scored_by": candidate.backend.name,
                "new": new.to_dict() if new else None,
                "current": current.to_dict() if current else None,
                "regression_p": regression_p,
                "bootstrap_heldout": {
                    "set": f"unseen#{UNSEEN_SEED}/{unseen_count}",
                    "new": unseen_new.to_dict(),
                    "current": unseen_current.to_dict() if unseen_current else None,
                    "sme_labels": sorted(sme_labels),
                },
                "gate": reason,
                "int8": int8["gate"],
                "training": {
                    "steps": result.steps,
                    "seconds": result.seconds,
                    "best_dev_f1": result.best_dev_f1,
                    "continued_from": served.model_version if served and not init_model_dir else None,
                    "gold_texts": len(train_set),
                    "rehearsal_texts": len(replay),
                    "blend": blend.to_dict() if blend else None,
                },
            }
            model_version = new_model_version(gold.manifest_sha256)
            bundle = None
            if promoted:
                bundle = bundle_from_export(
                    result.model_dir,
                    export,
                    bundle_dir,
                    labels=list(labels),
                    model_version=model_version,
                    base_model=(
                        str(init_model_dir)
                        if init_model_dir
                        else served.model_version
                        if served
                        else BASE_MODEL_NAME
                    ),
                    manifest={
                        "sha256": gold.manifest_sha256,
                        "counts": gold.counts,
                        "training_run_id": run_id,
                        "continued_from": served.model_version if served else None,
                        "rehearsal": {"texts": len(replay), "weight": rehearsal.weight},
                        **({"sources": sources} if sources else {}),
                    },
                    metrics=metrics,
                    int8_onnx_path=int8_path,
                    int8=int8,
                )
        version = bundle.version if bundle else {"model_version": model_version, "metrics": metrics}
        with transaction(conn):
            record_model_version(
                conn,
                version,
                status="candidate" if promoted else "rejected",
                bundle_uri=str(Path(bundle_dir).resolve()) if bundle else None,
            )
            finish_training_run(
                conn,
                run_id,
                "succeeded",
                model_version=model_version,
                detail={"promoted": promoted, "gate": reason, "scores": run_scores(metrics)},
            )
    except Exception as error:
        with transaction(conn):
            finish_training_run(conn, run_id, "failed", detail={"error": f"{type(error).__name__}: {error}"})
        raise
    log.info("training run %d: %s (%s)", run_id, "promoted" if promoted else "not promoted", reason)
    return NightlyOutcome(run_id, "succeeded", reason, promoted, model_version, bundle, metrics)


def run_scores(metrics: dict) -> dict[str, dict[str, dict[str, float | None]]]:
    """Per held-out set and label, the candidate's and the in-service model's F1 (for training_runs)."""
    sets = {
        "sme_heldout": (metrics.get("new"), metrics.get("current")),
        "bootstrap_heldout": (metrics["bootstrap_heldout"]["new"], metrics["bootstrap_heldout"]["current"]),
    }
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for name, (new, current) in sets.items():
        labels = sorted({*((new or {}).get("per_label") or {}), *((current or {}).get("per_label") or {})})
        out[name] = {
            label: {
                "candidate": ((new or {}).get("per_label") or {}).get(label, {}).get("f1"),
                "in_service": ((current or {}).get("per_label") or {}).get(label, {}).get("f1")
                if current
                else None,
            }
            for label in labels
        }
    return out
