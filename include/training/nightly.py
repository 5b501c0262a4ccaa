"""One nightly training run, one training_runs row: `start_run` selects gold once and stores it as the run's
manifest (or records the run as skipped when train is too small); `train_run` reads that manifest back by
run id → train → evaluate against the model in service → gate → bundle."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from include.bundle import Bundle, new_model_version
from include.db.connection import transaction
from include.labels import DEFAULT_LABELS, bio_tags
from include.training.bundle import bundle_from_export
from include.training.dataset import LabeledText
from include.training.evaluate import evaluate, onnx_client, predict_spans, promotion_gate, score_spans
from include.training.export import export_onnx
from include.training.gold import (
    Connection,
    finish_training_run,
    record_model_version,
    record_training_run,
    run_gold,
    select_gold,
    start_training,
)
from include.training.quantize import int8_flavour
from include.training.sources import BASE_MODEL_NAME
from include.training.train import TrainConfig, train

log = logging.getLogger(__name__)


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
) -> NightlyOutcome:
    """Train on the gold the run stored when it started; write a bundle to bundle_dir only when the gate
    passes.

    The new model and the one in service (current_bundle) are scored on the same held-out split (test,
    or dev when test is empty), so the gate compares like with like. The export's int8 flavour is scored
    there too and gated against the new model's fp32 (include/training/quantize.py); the bundle carries
    it with the verdict. Every step lands in training_runs.
    """
    with transaction(conn):
        start_training(conn, run_id)
        gold = run_gold(conn, run_id)
    train_set = gold.split("train")
    log.info("training run %d: %s", run_id, gold.counts)
    dev, test = gold.split("dev"), gold.split("test")
    held_out, held_out_name = (test, "test") if test else (dev, "dev")
    try:
        with tempfile.TemporaryDirectory(prefix=f"training-run-{run_id}-") as tmp:
            result = train(
                [*train_set, *extra_train],
                Path(tmp) / "model",
                labels,
                config,
                dev_examples=dev or None,
                init_model_dir=init_model_dir,
            )
            # The gate: the candidate's and the served model's exported ONNX, scored by the serving client
            # on the same held-out gold.
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
            current = evaluate(current_bundle, held_out) if current_bundle and held_out else None
            new_f1 = new.f1 if new else 0.0
            promoted, reason = promotion_gate(new_f1, current.f1 if current else None, tolerance)
            if not held_out and current_bundle:
                promoted, reason = False, "no held-out gold to compare with the model in service"
            metrics = {
                "split": held_out_name,
                "scored_by": candidate.backend.name,
                "new": new.to_dict() if new else None,
                "current": current.to_dict() if current else None,
                "gate": reason,
                "int8": int8["gate"],
                "training": {
                    "steps": result.steps,
                    "seconds": result.seconds,
                    "best_dev_f1": result.best_dev_f1,
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
                    base_model=str(init_model_dir) if init_model_dir else BASE_MODEL_NAME,
                    manifest={
                        "sha256": gold.manifest_sha256,
                        "counts": gold.counts,
                        "training_run_id": run_id,
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
                detail={"promoted": promoted, "gate": reason},
            )
    except Exception as error:
        with transaction(conn):
            finish_training_run(conn, run_id, "failed", detail={"error": f"{type(error).__name__}: {error}"})
        raise
    log.info("training run %d: %s (%s)", run_id, "promoted" if promoted else "not promoted", reason)
    return NightlyOutcome(run_id, "succeeded", reason, promoted, model_version, bundle, metrics)


def nightly_training(
    conn: Connection,
    bundle_dir: Path,
    *,
    current_bundle: Path | None = None,
    labels: Sequence[str] = DEFAULT_LABELS,
    config: TrainConfig | None = None,
    min_train: int = 20,
    tolerance: float = 0.0,
    extra_train: Sequence[LabeledText] = (),
    init_model_dir: Path | None = None,
) -> NightlyOutcome:
    """`start_run` then, unless skipped, `train_run` on it: the whole nightly run in one call."""
    started = start_run(conn, labels=labels, min_train=min_train)
    if started.status == "skipped":
        return NightlyOutcome(started.run_id, "skipped", started.reason)
    return train_run(
        conn,
        started.run_id,
        bundle_dir,
        current_bundle=current_bundle,
        labels=labels,
        config=config,
        tolerance=tolerance,
        extra_train=extra_train,
        init_model_dir=init_model_dir,
    )
