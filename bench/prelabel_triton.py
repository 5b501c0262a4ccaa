"""Prelabel throughput side by side: in-process ONNX Runtime vs the real tritonserver, batch 1 vs 16, fp32 vs
int8, and the batches Triton's dynamic batcher actually formed.

Usage: PYTHONPATH=. HF_HUB_OFFLINE=1 .venv/bin/python bench/prelabel_triton.py [--rows 200] [--layers 6]
           [--precision fp32|int8|both] [--bundle BUNDLE_DIR] [--concurrency 4] [--protocol http|grpc]

The model is `--bundle` or the shipped MiniLM (``--layers`` of its 6) with an untrained, seeded
token-classification head: the numbers measure serving cost, not quality. Triton runs the same model.onnx
through the python backend (ONNX Runtime inside Triton, CPU), with the same thread count as the in-process
session; the int8 flavour is published as its own model, `ner_int8`. A bundle without an int8 flavour is
given one here (quantized as the nightly export does; its gate verdict a stand-in, since quality is
bench/prelabel_throughput.py's to measure).

Every configuration runs once per round, `--repeats` rounds, best round kept: load swings on the shared
machine fall on all configurations alike. Batches seen: around each Triton measurement the bench reads
Triton's metrics endpoint and reports, per model, requests, inferences (rows) and executions; rows ÷
executions is the batch size the model ran.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

from include.adapters.ner.backends import OnnxRuntimeBackend, triton_backend
from include.adapters.ner.client import NerClient
from include.adapters.ner.precision import Precision, triton_model_name
from include.adapters.serving.repository import publish_bundle
from include.adapters.serving.triton_metrics import BatchStats, batch_stats
from include.core.bundle.read import read_bundle
from tests.helpers.bundle import build_tiny_bundle, int8_bundle
from tests.helpers.triton import running_triton

NAMES = ["Ann Lee", "Ümit Çelik", "Acme Corp", "Globex GmbH", "Paris", "São Paulo", "Washington"]
VERBS = ["met", "paid", "called", "wrote to", "visited", "sued", "hired"]
TAILS = ["on 3 May 2021.", "for 1,200 USD.", "at +1 555 0100.", "about the invoice.", "yesterday.", "in Q1."]


def short_texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.choice(NAMES)} {rng.choice(VERBS)} {rng.choice(NAMES)} {rng.choice(TAILS)}" for _ in range(n)
    ]


def seconds_for(client: NerClient, texts: list[str]) -> float:
    began = time.perf_counter()
    client.predict(texts)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads, both sides")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", choices=("fp32", "int8", "both"), default="fp32")
    parser.add_argument("--bundle", type=Path, help="a bundle (default: untrained MiniLM, --layers)")
    parser.add_argument("--concurrency", type=int, default=4, help="Triton requests in flight")
    parser.add_argument("--protocol", choices=("http", "grpc"), default="http")
    args = parser.parse_args()
    precisions: list[Precision] = ["fp32", "int8"] if args.precision == "both" else [args.precision]
    texts = short_texts(args.rows)
    results: dict[str, float] = {}
    batches: dict[str, BatchStats] = {}
    with tempfile.TemporaryDirectory(prefix="nerloop-bench-") as tmp:
        scratch = Path(tmp)
        bundle = args.bundle or build_tiny_bundle(scratch / "tiny", "bench-0", seed=0, num_layers=args.layers)
        if "int8" in precisions and read_bundle(bundle).int8_path is None:
            bundle = int8_bundle(bundle, scratch / "bundle")
        read = read_bundle(bundle)
        clients: dict[str, tuple[NerClient, str | None]] = {}
        for precision in precisions:
            ort = OnnxRuntimeBackend(read.flavour_path(precision), args.threads)
            for batch in (1, 16):
                clients[f"ort {precision} b{batch}"] = (
                    NerClient(read, ort, batch_size=batch, warmup=False),
                    None,
                )
            publish_bundle(
                bundle,
                scratch / "repo",
                triton_model_name("ner", precision),
                "python",
                intra_op_threads=args.threads,
                precision=precision,
            )
        models = tuple(triton_model_name("ner", p) for p in precisions)
        with running_triton(scratch / "state", scratch / "repo", load_models=models) as server:
            metrics_url = f"{server.host}:{server.metrics_port}"
            url = server.grpc_url if args.protocol == "grpc" else server.url
            for precision in precisions:
                model = triton_model_name("ner", precision)
                for batch in (1, 16):
                    backend = triton_backend(args.protocol, url, model, concurrency=args.concurrency)
                    clients[f"triton {precision} b{batch}"] = (
                        NerClient(read, backend, batch_size=batch, warmup=False),
                        model,
                    )
            for client, _ in clients.values():
                client.predict(texts[:16])
            # Round after round, every configuration once per round (best round kept), so a change in
            # the shared machine's load falls on all of them alike.
            best: dict[str, float] = {}
            for _ in range(args.repeats):
                for name, (client, served) in clients.items():
                    before = batch_stats(metrics_url)[served] if served else None
                    rate = len(texts) / seconds_for(client, texts)
                    best[name] = max(best.get(name, 0.0), rate)
                    if served and before is not None:
                        seen = batch_stats(metrics_url)[served] - before
                        batches[name] = batches[name] + seen if name in batches else seen
            results.update(best)
            for client, _ in clients.values():
                client.close()
    setup = f"{args.threads} ORT thread(s), best of {args.repeats}, Triton over {args.protocol} with "
    setup += f"{args.concurrency} requests in flight"
    model_name = f"{args.bundle} ({read.model_version})" if args.bundle else f"MiniLM {args.layers} layer(s)"
    print(f"{args.rows} short texts, {model_name}, {setup}; load average {os.getloadavg()[0]:.2f}")
    for name, value in results.items():
        print(f"  {name:<18} {value:8.1f} rows/s")
    for precision in precisions:
        ort16, ort1 = results[f"ort {precision} b16"], results[f"ort {precision} b1"]
        tri16, tri1 = results[f"triton {precision} b16"], results[f"triton {precision} b1"]
        print(f"  {precision}: ORT b16/b1 {ort16 / ort1:.2f}x, Triton b16/b1 {tri16 / tri1:.2f}x, ", end="")
        print(f"Triton/ORT at b16 {tri16 / ort16:.2f}x, at b1 {tri1 / ort1:.2f}x")
    if len(precisions) == 2:
        for where in ("ort", "triton"):
            ratio = results[f"{where} int8 b16"] / results[f"{where} fp32 b16"]
            print(f"int8/fp32 rows/s ({where}, batch 16): {ratio:.2f}")
    print("batches Triton formed (from its metrics: inference count ÷ execution count):")
    for name, stats in batches.items():
        print(
            f"  {name:<18} {stats.requests:6.0f} requests of {stats.rows_per_request:5.2f} rows → "
            f"{stats.executions:6.0f} executions, mean batch {stats.mean_batch:5.2f}"
        )


if __name__ == "__main__":
    main()
