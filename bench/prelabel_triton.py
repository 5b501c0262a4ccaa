"""Prelabel throughput side by side: in-process ONNX Runtime vs the real tritonserver, batch 1 vs 16.

Usage: PYTHONPATH=. HF_HUB_OFFLINE=1 .venv/bin/python bench/prelabel_triton.py [--rows 200] [--layers 6]

The model is the shipped MiniLM (``--layers`` of its 6) with an untrained, seeded token-classification head:
the numbers measure serving cost, not quality. Triton runs the same model.onnx through the python backend
(ONNX Runtime inside Triton, CPU), with the same thread count as the in-process session.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from include.ner.backends import OnnxRuntimeBackend, TritonHttpBackend
from include.ner.client import NerClient
from include.serving.repository import publish_bundle
from tests.helpers.bundle import build_tiny_bundle
from tests.helpers.triton import running_triton

NAMES = ["Ann Lee", "Ümit Çelik", "Acme Corp", "Globex GmbH", "Paris", "São Paulo", "Washington"]
VERBS = ["met", "paid", "called", "wrote to", "visited", "sued", "hired"]
TAILS = ["on 3 May 2021.", "for 1,200 USD.", "at +1 555 0100.", "about the invoice.", "yesterday.", "in Q1."]


def short_texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.choice(NAMES)} {rng.choice(VERBS)} {rng.choice(NAMES)} {rng.choice(TAILS)}" for _ in range(n)
    ]


def rows_per_s(client: NerClient, texts: list[str], repeats: int) -> float:
    client.predict(texts[:16])
    best = 0.0
    for _ in range(repeats):
        began = time.perf_counter()
        client.predict(texts)
        best = max(best, len(texts) / (time.perf_counter() - began))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads, both sides")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    texts = short_texts(args.rows)
    with tempfile.TemporaryDirectory(prefix="nerloop-bench-") as tmp:
        scratch = Path(tmp)
        bundle = build_tiny_bundle(scratch / "bundle", "bench-0", seed=0, num_layers=args.layers)
        results: dict[str, float] = {}
        ort = OnnxRuntimeBackend(bundle / "onnx" / "model.onnx", args.threads)
        for batch in (1, 16):
            results[f"ort b{batch}"] = rows_per_s(
                NerClient(bundle, ort, batch_size=batch), texts, args.repeats
            )
        publish_bundle(bundle, scratch / "repo", "ner", "python", intra_op_threads=args.threads)
        with running_triton(scratch / "state", scratch / "repo", load_models=("ner",)) as server:
            for batch in (1, 16):
                backend = TritonHttpBackend(server.url, "ner")
                client = NerClient(bundle, backend, batch_size=batch)
                results[f"triton b{batch}"] = rows_per_s(client, texts, args.repeats)
                backend.close()
    setup = f"MiniLM {args.layers} layer(s), {args.threads} ORT thread(s), best of {args.repeats}"
    print(f"{args.rows} short texts, {setup}")
    for name, value in results.items():
        print(f"  {name:<10} {value:8.1f} rows/s")
    print(f"  ORT    batch 16 / batch 1 : {results['ort b16'] / results['ort b1']:.2f}x")
    print(f"  Triton batch 16 / batch 1 : {results['triton b16'] / results['triton b1']:.2f}x")
    print(f"  Triton / ORT at batch 16  : {results['triton b16'] / results['ort b16']:.2f}x")
    print(f"  Triton / ORT at batch 1   : {results['triton b1'] / results['ort b1']:.2f}x")


if __name__ == "__main__":
    main()
