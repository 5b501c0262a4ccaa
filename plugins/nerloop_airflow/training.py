"""Training-side task bodies for the DAGs, each a few lines around include/workflows/training and
include/workflows/release."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from include.core.settings import get_settings
from nerloop_airflow import hooks

log = logging.getLogger("airflow.task")


def gold_summary() -> dict[str, Any]:
    """Select gold as the next training run would, log counts and exclusions; returns them. Nothing is
    written: a training run selects and stores its own gold when it starts (`start_run`)."""
    from include.workflows.training.gold import select_gold

    with hooks.db() as conn:
        gold = select_gold(conn)
    log.info("gold: %s, excluded %s, manifest sha256 %s", gold.counts, gold.excluded, gold.manifest_sha256)
    return {
        "counts": gold.counts,
        "excluded": gold.excluded,
        "manifest_sha256": gold.manifest_sha256,
        "train": len(gold.split("train")),
    }


def start_training_run(params: dict[str, Any]) -> dict[str, Any]:
    """Select gold once and store it as a new run's manifest (or a skipped run); the run for XCom."""
    from include.workflows.training.nightly import start_run

    with hooks.db() as conn:
        started = start_run(conn, min_train=int(params["min_train"]))
    if started.status == "skipped":
        log.info("no training tonight: run %d skipped, %s", started.run_id, started.reason)
    else:
        log.info("training run %d: gold %s", started.run_id, started.counts)
    return {"run_id": started.run_id, "status": started.status, "reason": started.reason}


def train_and_gate(run_id: int, params: dict[str, Any]) -> dict[str, Any]:
    """Train run `run_id` on its stored gold → evaluate vs the model in service → gate → ONNX bundle."""
    from include.core.bundle.layout import BundleLayout
    from include.workflows.training.nightly import train_run
    from include.workflows.training.rehearsal import RehearsalPlan
    from include.workflows.training.train import TrainConfig

    config = TrainConfig(
        epochs=int(params["epochs"]),
        learning_rate=float(params.get("learning_rate") or TrainConfig.learning_rate),
        max_steps=params.get("max_steps") or None,
        num_layers=params.get("num_layers") or None,
        progress=False,
    )
    ratio, weight = params.get("rehearsal_ratio"), params.get("rehearsal_weight")
    rehearsal = RehearsalPlan(
        ratio=RehearsalPlan.ratio if ratio is None else float(ratio),
        weight=RehearsalPlan.weight if weight is None else float(weight),
    )
    layout = BundleLayout.from_state_dir()
    target = layout.new_run_dir()
    with hooks.db() as conn:
        outcome = train_run(
            conn,
            run_id,
            target,
            current_bundle=layout.current(),
            config=config,
            tolerance=float(params["tolerance"]),
            rehearsal=rehearsal,
        )
    log.info(
        "training run %d: %s, promoted=%s (%s)",
        outcome.run_id,
        outcome.status,
        outcome.promoted,
        outcome.reason,
    )
    return {
        "run_id": outcome.run_id,
        "status": outcome.status,
        "promoted": outcome.promoted,
        "reason": outcome.reason,
        "model_version": outcome.model_version,
        "bundle_dir": str(target) if outcome.bundle else None,
    }


def publish_and_reload(outcome: dict[str, Any]) -> dict[str, Any]:
    """Publish the promoted bundle, reload Triton (when NER_BACKEND=triton) with verify + rollback."""
    from include.core.bundle.layout import BundleLayout
    from include.workflows.release import release_bundle

    s = get_settings()
    with hooks.db() as conn:
        release = release_bundle(
            conn,
            Path(outcome["bundle_dir"]),
            model_repository=s.model_repository_root,
            bundles_root=BundleLayout.from_state_dir(s.paths.state_dir).root,
            model=s.ner.triton_model_name,
            flavour=s.serving.triton_flavour,
            keep=s.serving.model_repository_keep,
            triton_url=s.ner.triton_url if s.ner.ner_backend == "triton" else None,
            intra_op_threads=s.serving.triton_intra_op_threads,
        )
    log.info(
        "released %s as Triton version %d, served by %s",
        release.model_version,
        release.triton_version,
        release.served_by,
    )
    return {
        "model_version": release.model_version,
        "triton_version": release.triton_version,
        "served_by": release.served_by,
    }
