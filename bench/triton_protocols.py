"""Triton over HTTP vs gRPC, side by side on one real tritonserver: batch 1/8/16 × concurrency 1/4.

Usage: PYTHONPATH=. HF_HUB_OFFLINE=1 .venv/bin/python bench/triton_protocols.py [--rows 400] [--layers 6]

Concurrency is the number of micro-batches the client keeps in flight (`TRITON_CONCURRENCY`). The model is
the shipped MiniLM (``--layers`` of its 6) with an untrained, seeded head, served by the python backend
(ONNX Runtime inside Triton, CPU, one model instance with dynamic batching): the figures measure serving
cost, not quality.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from pathlib import Path

from tqdm import tqdm

from bench.prelabel_triton import rows_per_s, short_texts
from include.adapters.ner.backends import triton_backend
from include.adapters.ner.client import NerClient
from include.adapters.serving.repository import publish_bundle
from tests.helpers.bundle import build_tiny_bundle
from tests.helpers.triton import running_triton


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads in Triton's model")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    texts = short_texts(args.rows)
    grid = list(itertools.product((1, 8, 16), (1, 4), ("http", "grpc")))
    results: dict[tuple[int, int, str], float] = {}
    with tempfile.TemporaryDirectory(prefix="nerloop-bench-") as tmp:
        scratch = Path(tmp)
        bundle = build_tiny_bundle(scratch / "bundle", "bench-0", seed=0, num_layers=args.layers)
        publish_bundle(bundle, scratch / "repo", "ner", "python", intra_op_threads=args.threads)
        with running_triton(scratch / "state", scratch / "repo", load_models=("ner",)) as server:
            for batch, concurrency, protocol in tqdm(grid, desc="bench", unit="config"):
                url = server.grpc_url if protocol == "grpc" else server.url
                backend = triton_backend(protocol, url, "ner", concurrency=concurrency)
                client = NerClient(bundle, backend, batch_size=batch, warmup=False)
                results[(batch, concurrency, protocol)] = rows_per_s(client, texts, args.repeats)
                client.close()
    setup = f"MiniLM {args.layers} layer(s), {args.threads} ORT thread(s) in Triton"
    print(f"{args.rows} short texts, {setup}, best of {args.repeats}")
    print(f"  {'batch':>5} {'conc':>4} {'http rows/s':>12} {'grpc rows/s':>12} {'grpc/http':>9}")
    for batch, concurrency in itertools.product((1, 8, 16), (1, 4)):
        http, grpc = results[(batch, concurrency, "http")], results[(batch, concurrency, "grpc")]
        print(f"  {batch:>5} {concurrency:>4} {http:12.1f} {grpc:12.1f} {grpc / http:9.2f}")


if __name__ == "__main__":
    main()
