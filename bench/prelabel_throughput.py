"""End-to-end prelabel throughput vs the raw model: how much of the ONNX Runtime forward rate survives.

Usage: `make bench-prelabel` or
  PYTHONPATH=. HF_HUB_OFFLINE=1 .venv/bin/python bench/prelabel_throughput.py [--rows 20000] [--threads 2]

A CSV of `--rows` invoice rows is generated with Faker. End to end = parse the CSV → row text → tokenize
→ micro-batched inference → spans → LS task JSON. Raw = ONNX Runtime `session.run` alone on the same
rows, already tokenized, in the same micro-batches (length-sorted, batch 16), same threads, same run.
Goal: end-to-end ÷ raw >= 0.9. The model is the 6-layer MiniLM with an untrained head (speed only).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from faker import Faker
from tqdm import tqdm

from include.extract.router import extract_document
from include.label_studio.tasks import build_task
from include.ner.backends import OnnxRuntimeBackend
from include.ner.client import NerClient
from include.ner.tokenizer import BundleTokenizer, pad_rows
from include.ner.windows import batches
from tests.helpers.bundle import build_tiny_bundle


def make_csv(rows: int, seed: int = 7) -> bytes:
    fake = Faker("en_US")
    Faker.seed(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["invoice", "customer", "company", "city", "date", "amount", "email", "phone"])
    for i in tqdm(range(rows), desc="generate", unit="row"):
        writer.writerow(
            [
                f"INV-{i:06d}",
                fake.name(),
                fake.company(),
                fake.city(),
                fake.date(),
                f"${fake.pydecimal(left_digits=4, right_digits=2, positive=True)}",
                fake.email(),
                fake.phone_number(),
            ]
        )
    return out.getvalue().encode()


def end_to_end(data: bytes, ner: NerClient) -> tuple[float, int]:
    started = time.perf_counter()
    records = extract_document(data, "bench.csv")
    spans = ner.predict([r.text for r in records])
    tasks = [
        build_task(
            text=r.text,
            record_key=r.record_key,
            meta=r.meta,
            document_sha256="0" * 64,
            document_uri="file:///bench.csv",
            s3_key=None,
            doc_type="csv",
            spans=s,
            model_version=ner.model_version,
        )
        for r, s in zip(records, spans, strict=True)
    ]
    payload = json.dumps(tasks)
    return time.perf_counter() - started, len(payload)


def raw_forward(
    texts: list[str], tokenizer: BundleTokenizer, backend: OnnxRuntimeBackend, batch: int
) -> float:
    ids = [tokenizer.with_specials(e.ids) for e in tokenizer.encode(texts)]
    groups = batches([len(x) for x in ids], batch)
    padded = [pad_rows([ids[i] for i in g], tokenizer.pad_id) for g in groups]
    started = time.perf_counter()
    for input_ids, mask in padded:
        backend.infer(input_ids.astype(np.int64), mask.astype(np.int64))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    data = make_csv(args.rows)
    with tempfile.TemporaryDirectory(prefix="bench-prelabel-") as tmp:
        bundle = build_tiny_bundle(Path(tmp) / "bundle", "bench-0", seed=0, num_layers=6)
        backend = OnnxRuntimeBackend(bundle / "onnx" / "model.onnx", args.threads)
        ner = NerClient(bundle, backend, batch_size=args.batch, max_length=256, stride=32)
        texts = [r.text for r in extract_document(data, "bench.csv")]
        raw_s = raw_forward(texts, ner.tokenizer, backend, args.batch)
        e2e_s, payload_bytes = end_to_end(data, ner)
    raw_rate, e2e_rate = len(texts) / raw_s, len(texts) / e2e_s
    print(f"\nprelabel throughput: {len(texts)} CSV rows, batch {args.batch}, {args.threads} ORT threads")
    print(f"  raw ONNX Runtime forward  {raw_rate:8.1f} rows/s  ({raw_s:.1f} s)")
    print(
        f"  end to end (parse→tasks)  {e2e_rate:8.1f} rows/s  "
        f"({e2e_s:.1f} s, {payload_bytes / 1e6:.1f} MB of tasks)"
    )
    print(f"  ratio end-to-end / raw: {e2e_rate / raw_rate:.2f}  (goal >= 0.9)")


if __name__ == "__main__":
    main()
