"""Training quality on WNUT-17: entity F1 on emerging.test.annotated, wall time, and a learning curve.

    PYTHONPATH=. HF_HUB_OFFLINE=1 .venv/bin/python bench/train_quality.py [--fractions 0.25 0.5 1]
        [--compare-case] [--epochs 3] [--lr 1e-4] [--threads 2] [--freeze-embeddings]

Trains on wnut17train.conll (dev = emerging.dev.conll for early stopping) with the corpus's own six labels,
so the numbers compare with published ones (BERTweet 0.565; the best 2017 system about 0.42).
--compare-case adds a full-data run without the word-shape embeddings, side by side in the same run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import torch

from include.workflows.training.dataset import WNUT17_LABELS, load_wnut17
from include.workflows.training.evaluate import load_client, score_client
from include.workflows.training.train import TrainConfig, train


def run(fraction: float, case: bool, args: argparse.Namespace, work: Path) -> dict:
    train_set = load_wnut17("train", label_map=None)
    if fraction < 1:
        train_set = random.Random(0).sample(train_set, int(len(train_set) * fraction))
    dev = load_wnut17("dev", label_map=None)
    test = load_wnut17("test", label_map=None)
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        max_length=128,
        patience=args.patience,
        case_features=case,
        freeze_word_embeddings=args.freeze_embeddings,
        o_weight=args.o_weight,
        max_seconds=args.max_seconds,
        log_every=50,
    )
    began = time.monotonic()
    result = train(train_set, work / f"m-{fraction}-{case}", WNUT17_LABELS, config, dev_examples=dev)
    train_s = time.monotonic() - began
    client = load_client(result.model_dir)
    metrics = score_client(client, test)
    client.constrained = False
    argmax = score_client(client, test)
    if args.keep:
        shutil.copytree(result.model_dir, args.keep / result.model_dir.name, dirs_exist_ok=True)
    return {
        "fraction": fraction,
        "train_texts": len(train_set),
        "case_features": case,
        "frozen_word_embeddings": args.freeze_embeddings,
        "lr": args.lr,
        "o_weight": args.o_weight,
        "test_f1": round(metrics.f1, 4),
        "test_precision": round(metrics.precision, 4),
        "test_recall": round(metrics.recall, 4),
        "test_f1_argmax_decode": round(argmax.f1, 4),
        "per_label_f1": {k: round(v.f1, 3) for k, v in metrics.per_label.items()},
        "best_dev_f1": result.best_dev_f1 and round(result.best_dev_f1, 4),
        "epochs_run": result.epochs_run,
        "stopped": result.stopped_because,
        "train_seconds": round(train_s, 1),
        "wall_seconds": round(time.monotonic() - began, 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    parser.add_argument("--compare-case", action="store_true")
    parser.add_argument("--no-case", action="store_true", help="learning curve without word shape")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--patience", type=int, default=2)
    parser.add_argument("--max-seconds", type=float, default=None, help="training budget per run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--freeze-embeddings", action=argparse.BooleanOptionalAction, default=False, help="freeze word rows"
    )
    parser.add_argument("--o-weight", type=float, default=1.0, help="loss weight of the O tag")
    parser.add_argument("--keep", type=Path, default=None, help="copy the trained models into this folder")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory(prefix="train-quality-") as tmp:
        plan = [(f, not args.no_case) for f in sorted(args.fractions, reverse=True)]
        if args.compare_case:
            plan.append((1.0, args.no_case))
        for fraction, case in plan:
            rows.append(run(fraction, case, args, Path(tmp)))
            print(json.dumps(rows[-1]), flush=True)
    columns = ("fraction", "train_texts", "case_features", "test_f1", "test_precision", "test_recall")
    columns += ("test_f1_argmax_decode",)
    columns += ("epochs_run", "train_seconds")
    print("\n" + " ".join(f"{c:>14}" for c in columns))
    for r in rows:
        print(" ".join(f"{r[c]!s:>14}" for c in columns))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
