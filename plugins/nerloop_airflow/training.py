"""Training-side task bodies for the DAGs, each a few lines around include/training and include/release."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nerloop_airflow import hooks

log = logging.getLogger("airflow.task")


def bundles_root() -> Path:
    from include.settings import get_settings

    root = get_settings().state_dir / "bundles"
    root.mkdir(parents=True, exist_ok=True)
    return root


def current_bundle() -> Path | None:
    link = bundles_root() / "current"
    return link if (link / "onnx" / "VERSION.json").exists() else None


def gold_manifest(out_dir: Path | None = None) -> dict[str, Any]:
    """Select gold, log counts and exclusions, write the manifest JSON; returns the counts."""
    from include.training.gold import select_gold

    conn = hooks.db_connection()
    try:
        gold = select_gold(conn)
    finally:
        conn.close()
    out_dir = out_dir or bundles_root().parent / "gold"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"manifest-{datetime.now(UTC):%Y%m%dT%H%M%S}-{gold.manifest_sha256[:8]}.json"
    path.write_text(
        json.dumps(
            {
                "sha256": gold.manifest_sha256,
                "manifest": gold.manifest,
                "counts": gold.counts,
                "excluded": gold.excluded,
            },
            indent=2,
        )
    )
    log.info("gold: %s, excluded %s, manifest %s", gold.counts, gold.excluded, path)
    return {
        "counts": gold.counts,
        "excluded": gold.excluded,
        "manifest_path": str(path),
        "train": len(gold.split("train")),
    }


def train_and_gate(params: dict[str, Any]) -> dict[str, Any]:
    """One training run (gold → train → evaluate vs the model in service → gate → ONNX bundle)."""
    from include.training.nightly import nightly_training
    from include.training.train import TrainConfig

    config = TrainConfig(
        epochs=int(params["epochs"]),
        max_steps=params.get("max_steps") or None,
        max_seconds=float(params["max_seconds"]),
        num_layers=params.get("num_layers") or None,
        progress=False,
    )
    target = bundles_root() / f"run-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    conn = hooks.db_connection()
    try:
        outcome = nightly_training(
            conn,
            target,
            current_bundle=current_bundle(),
            config=config,
            min_train=int(params["min_train"]),
            tolerance=float(params["tolerance"]),
        )
    finally:
        conn.close()
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
    from include.ner.settings import NerSettings
    from include.release import release_bundle
    from include.serving.settings import ServingSettings

    serving, ner = ServingSettings(), NerSettings()
    conn = hooks.db_connection()
    try:
        release = release_bundle(
            conn,
            Path(outcome["bundle_dir"]),
            model_repository=serving.repository,
            bundles_root=bundles_root(),
            model=serving.triton_model_name,
            flavour=serving.triton_flavour,
            keep=serving.model_repository_keep,
            triton_url=ner.triton_url if ner.ner_backend == "triton" else None,
        )
    finally:
        conn.close()
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
