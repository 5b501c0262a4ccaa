"""Version 0 before any SME gold: WNUT-17 (mapped) + Faker gold → train → evaluate → export → bundle.

python -m include.workflows.training.bootstrap --out DIR [--epochs 2] [--max-steps 800] [--synthetic 3000]
[--no-wnut17]

The generated gold is half prose, half row records shaped like the extractor's (include/workflows/training/
synthetic.py): what SMEs see first are the demo's tables and notes, where WNUT-17's tweets teach
nothing about column names, amounts or invoice numbers. bench/bootstrap_quality.py measures the
result on held-out documents of the demo's kinds and on the held-out writers of
include/workflows/training/unseen.py. Training stops on a step budget, never a time budget, so version 0 is
the same model on any machine. `--no-wnut17` leaves WNUT-17 out (bench/sme_loop.py then uses it as a
domain the model never saw).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from include.core.bundle.format import Bundle, BundleError
from include.core.labels import DEFAULT_LABELS
from include.core.logs import setup_logging
from include.workflows.training.dataset import WNUT17_FILES, WNUT17_TO_PROJECT, load_wnut17
from include.workflows.training.evaluate import evaluate
from include.workflows.training.export_bundle import build_bundle
from include.workflows.training.sources import BASE_MODEL_NAME, wnut17_dir
from include.workflows.training.synthetic import ROW_SHARE, synthetic_gold
from include.workflows.training.train import TrainConfig, train
from include.workflows.training.unseen import UNSEEN_COUNT, UNSEEN_SEED, unseen_gold

log = logging.getLogger(__name__)

BOOTSTRAP_VERSION = "bootstrap-0"
BOOTSTRAP_STEPS = 800
"""The step budget: two epochs of WNUT-17 train + 3,000 generated texts at batch 16."""


@dataclass(frozen=True)
class BootstrapPlan:
    """What version 0 learns from and how long it may take."""

    synthetic_train: int = 3000
    synthetic_test: int = 300
    row_share: float = ROW_SHARE
    wnut_limit: int | None = None
    wnut17: bool = True
    seed: int = 0
    config: TrainConfig = field(
        default_factory=lambda: TrainConfig(epochs=2, max_steps=BOOTSTRAP_STEPS, progress=True)
    )


def _manifest(plan: BootstrapPlan, counts: dict[str, int]) -> dict:
    directory = wnut17_dir()
    files = {
        name: hashlib.sha256((directory / name).read_bytes()).hexdigest()
        for name in (WNUT17_FILES["train"], WNUT17_FILES["dev"])
    }
    wnut = {"files": files, "limit": plan.wnut_limit, "label_map": dict(WNUT17_TO_PROJECT)}
    sources = {
        **({"wnut17": wnut} if plan.wnut17 else {}),
        "synthetic": {
            "train": plan.synthetic_train,
            "test": plan.synthetic_test,
            "seed": plan.seed,
            "row_share": plan.row_share,
        },
    }
    digest = hashlib.sha256(json.dumps(sources, sort_keys=True).encode()).hexdigest()
    heldout = {"writer": "include.workflows.training.unseen", "seed": UNSEEN_SEED, "count": UNSEEN_COUNT}
    return {"sha256": digest, "counts": counts, "sources": sources, "heldout": heldout}


def build_bootstrap(out_dir: Path, plan: BootstrapPlan | None = None) -> Bundle:
    """Train version 0 and write its bundle to out_dir (which must not hold a bundle yet)."""
    plan = plan or BootstrapPlan()
    if (Path(out_dir) / "onnx" / "VERSION.json").exists():
        raise BundleError(f"{out_dir}: already holds a bundle")
    began = time.monotonic()
    wnut_train = load_wnut17("train", limit=plan.wnut_limit) if plan.wnut17 else []
    wnut_dev = (
        load_wnut17("dev", limit=plan.wnut_limit and max(plan.wnut_limit // 4, 8)) if plan.wnut17 else []
    )
    synthetic_train = synthetic_gold(plan.synthetic_train, seed=plan.seed, row_share=plan.row_share)
    synthetic_test = synthetic_gold(plan.synthetic_test, seed=plan.seed + 1, row_share=plan.row_share)
    examples = wnut_train + synthetic_train
    log.info(
        "bootstrap: %d WNUT-17 + %d synthetic texts; evaluating on %d WNUT-17 dev + %d synthetic",
        len(wnut_train),
        len(synthetic_train),
        len(wnut_dev),
        len(synthetic_test),
    )
    with tempfile.TemporaryDirectory(prefix="bootstrap-model-") as tmp:
        result = train(examples, Path(tmp) / "model", DEFAULT_LABELS, plan.config)
        metrics: dict[str, Any] = {
            "wnut17_dev": evaluate(result.model_dir, wnut_dev, plan.config.max_length).to_dict()
            if wnut_dev
            else None,
            "synthetic_test": evaluate(result.model_dir, synthetic_test, plan.config.max_length).to_dict(),
            "bootstrap_heldout": evaluate(result.model_dir, unseen_gold(), plan.config.max_length).to_dict(),
            "training": {
                "steps": result.steps,
                "epochs": result.epochs_run,
                "seconds": result.seconds,
                "first_loss": result.first_loss,
                "last_loss": result.last_loss,
                "stopped_because": result.stopped_because,
            },
        }
        counts = {
            "train": len(examples),
            "wnut17_train": len(wnut_train),
            "synthetic_train": len(synthetic_train),
        }
        counts |= {"wnut17_dev": len(wnut_dev), "synthetic_test": len(synthetic_test)}
        info = build_bundle(
            result.model_dir,
            out_dir,
            labels=list(DEFAULT_LABELS),
            model_version=BOOTSTRAP_VERSION,
            base_model=BASE_MODEL_NAME,
            manifest=_manifest(plan, counts),
            metrics=metrics,
            held_out=synthetic_test,
            held_out_name="synthetic_test",
        )
    log.info(
        "bootstrap bundle %s in %.0fs: WNUT-17 dev F1 %s, synthetic test F1 %.3f, held-out writers F1 %.3f, "
        "exporter %s",
        info.root,
        time.monotonic() - began,
        f"{metrics['wnut17_dev']['f1']:.3f}" if metrics["wnut17_dev"] else "n/a",
        metrics["synthetic_test"]["f1"],
        metrics["bootstrap_heldout"]["f1"],
        info.exporter_mode,
    )
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the version-0 bundle (bootstrap-0).")
    parser.add_argument("--out", type=Path, required=True, help="bundle folder to create (must be empty)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--synthetic", type=int, default=BootstrapPlan.synthetic_train, help="generated training texts"
    )
    parser.add_argument(
        "--row-share", type=float, default=ROW_SHARE, help="part of generated texts that are rows"
    )
    parser.add_argument("--max-steps", type=int, default=BOOTSTRAP_STEPS, help="training step budget")
    parser.add_argument("--no-wnut17", action="store_true", help="leave WNUT-17 out (synthetic gold only)")
    parser.add_argument("--wnut-limit", type=int, default=None, help="use only the first N WNUT-17 sentences")
    parser.add_argument("--layers", type=int, default=None, help="keep only the first N encoder layers")
    parser.add_argument("--max-length", type=int, default=128, help="tokens per text")
    parser.add_argument("--synthetic-test", type=int, default=300, help="generated test texts")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    setup_logging("%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    config = TrainConfig(
        epochs=args.epochs,
        max_steps=args.max_steps,
        num_layers=args.layers,
        max_length=args.max_length,
        progress=True,
    )
    plan = BootstrapPlan(
        synthetic_train=args.synthetic,
        synthetic_test=args.synthetic_test,
        row_share=args.row_share,
        wnut_limit=args.wnut_limit,
        wnut17=not args.no_wnut17,
        config=config,
    )
    try:
        info = build_bootstrap(args.out, plan)
    except (FileNotFoundError, ValueError) as error:
        print(f"bootstrap failed: {error}", file=sys.stderr)
        return 1
    print(f"bundle {info.model_version} written to {info.root.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
