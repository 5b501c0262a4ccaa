"""End-to-end prelabel throughput vs the raw model: how much of the ONNX Runtime forward rate survives,
and the int8 flavour against fp32 side by side.

Usage: `make bench-prelabel` or
  PYTHONPATH=. HF_HUB_OFFLINE=1 .venv/bin/python bench/prelabel_throughput.py [--rows 20000] [--threads 2]
      [--precision fp32|int8|both] [--bundle BUNDLE_DIR]

A CSV of `--rows` invoice rows is generated with Faker. End to end = parse the CSV → row text → tokenize
→ micro-batched inference → spans → LS task JSON. Raw = ONNX Runtime `session.run` alone on the same
rows, already tokenized, in the same micro-batches (length-sorted, batch 16), same threads, same run.
Goal: end-to-end ÷ raw >= 0.9. The model is `--bundle` (a trained bundle, e.g. .state/bundles/current
after `make bench-bootstrap`) or else the 6-layer MiniLM with an untrained head (speed only).

`--precision both` runs fp32 and the int8 flavour in one run (the bundle's model.int8.onnx, or the
bundle's model quantized here exactly as the nightly export does), phases interleaved (raw fp32, raw int8,
end to end fp32, end to end int8) with the 1-minute load average noted beside each, then scores both on
held-out splits (the bootstrap run's generated test split, WNUT-17 dev) and applies the int8 gate
(include/workflows/training/quantize.py) on the first.
It prints `int8/fp32 rows/s: <ratio>` (end to end). Goal: >= 1.8 on 2 cores.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from faker import Faker
from tqdm import tqdm

from include.adapters.extract.router import extract_document
from include.adapters.label_studio.tasks import build_task
from include.adapters.ner.backends import InferenceBackend, OnnxRuntimeBackend
from include.adapters.ner.client import NerClient
from include.adapters.ner.tokenizer import BundleTokenizer, pad_rows
from include.adapters.ner.windows import batches
from include.core.bundle.read import read_bundle
from include.workflows.training.dataset import LabeledText, load_wnut17
from include.workflows.training.evaluate import predict_spans, score_spans
from include.workflows.training.quantize import int8_gate, quantize_int8, span_agreement
from include.workflows.training.synthetic import synthetic_gold
from tests.helpers.bundle import build_tiny_bundle

HEADER = ["invoice", "customer", "company", "city", "date", "amount", "email", "phone"]


def to_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode()


def make_csv(rows: int, seed: int = 7) -> bytes:
    return to_csv(make_rows(rows, seed))


def make_rows(rows: int, seed: int = 7) -> list[list[str]]:
    fake = Faker("en_US")
    Faker.seed(seed)
    return [
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
        for i in tqdm(range(rows), desc="generate", unit="row")
    ]


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


def raw_forward(texts: list[str], tokenizer: BundleTokenizer, backend: InferenceBackend, batch: int) -> float:
    ids = [tokenizer.with_specials(e.ids) for e in tokenizer.encode(texts)]
    groups = batches([len(x) for x in ids], batch)
    padded = [pad_rows([ids[i] for i in g], tokenizer.pad_id) for g in groups]
    started = time.perf_counter()
    for input_ids, mask in padded:
        backend.infer(input_ids.astype(np.int64), mask.astype(np.int64))
    return time.perf_counter() - started


GATE_SPLIT = "synthetic test"


def held_out_splits() -> dict[str, list[LabeledText]]:
    """The bootstrap run's held-out split (300 generated texts, seed 1: what its gate scored) and the
    WNUT-17 dev tweets (real text, scored on the corpus's own tokens)."""
    return {GATE_SPLIT: synthetic_gold(300, seed=1), "wnut17 dev": load_wnut17("dev")}


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def load() -> float:
    """The 1-minute load average (other work on the machine shares its cores)."""
    return os.getloadavg()[0]


def flavours(bundle_dir: Path, precision: str, scratch: Path) -> dict[str, Path]:
    """The model file of each precision to run; int8 is quantized here when the bundle has none."""
    bundle = read_bundle(bundle_dir)
    paths: dict[str, Path] = {}
    if precision in ("fp32", "both"):
        paths["fp32"] = bundle.model_path
    if precision in ("int8", "both"):
        if bundle.int8_path is None:
            settings = quantize_int8(bundle.model_path, scratch / "model.int8.onnx")
            print(f"quantized {bundle.model_path} in {settings['seconds']} s: {settings['bytes']}")
        paths["int8"] = bundle.int8_path or scratch / "model.int8.onnx"
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--precision", choices=("fp32", "int8", "both"), default="fp32")
    parser.add_argument("--bundle", type=Path, help="a trained bundle (default: untrained 6-layer MiniLM)")
    parser.add_argument("--chunks", type=int, default=10, help="CSVs the rows are cut into, run in turn")
    args = parser.parse_args()
    print(f"start: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    rows = make_rows(args.rows)
    size = -(-len(rows) // args.chunks)
    chunks = [to_csv(rows[i : i + size]) for i in range(0, len(rows), size)]
    seconds: dict[str, dict[str, float]] = {}
    loads: dict[str, dict[str, list[float]]] = {}
    payload_bytes = 0
    held: dict[str, dict[str, list]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-prelabel-") as tmp:
        bundle = args.bundle or build_tiny_bundle(Path(tmp) / "bundle", "bench-0", seed=0, num_layers=6)
        model = f"{args.bundle} ({read_bundle(bundle).model_version})" if args.bundle else "untrained head"
        clients = {
            precision: NerClient(
                bundle,
                OnnxRuntimeBackend(path, args.threads),
                batch_size=args.batch,
                max_length=256,
                stride=32,
                precision=precision,  # type: ignore[arg-type]
            )
            for precision, path in flavours(bundle, args.precision, Path(tmp)).items()
        }
        chunk_texts = [[r.text for r in extract_document(data, "bench.csv")] for data in chunks]
        texts = [text for part in chunk_texts for text in part]
        for ner in clients.values():  # ONNX Runtime's first calls at new shapes are slow: not measured
            raw_forward(texts[:512], ner.tokenizer, ner.backend, args.batch)
        # Chunk by chunk, each phase of each flavour in turn (the order flipped every other chunk), so a
        # change in the machine's load falls on both flavours alike.
        for i, (data, part) in enumerate(tqdm(list(zip(chunks, chunk_texts, strict=True)), desc="chunks")):
            order = list(clients.items()) if i % 2 == 0 else list(clients.items())[::-1]
            for phase in ("raw", "e2e"):
                for precision, ner in order:
                    loads.setdefault(precision, {}).setdefault(phase, []).append(load())
                    if phase == "raw":
                        took = raw_forward(part, ner.tokenizer, ner.backend, args.batch)
                    else:
                        took, size_bytes = end_to_end(data, ner)
                        payload_bytes += size_bytes if precision == order[0][0] else 0
                    seconds.setdefault(precision, {}).setdefault(phase, 0.0)
                    seconds[precision][phase] += took
        rates = {
            p: {phase: len(texts) / s for phase, s in by_phase.items()} for p, by_phase in seconds.items()
        }
        for precision, by_phase in seconds.items():
            for phase, took in by_phase.items():
                busy = f"{took:.1f} s, mean load {mean(loads[precision][phase]):.2f}"
                print(f"  {precision} {phase}: {rates[precision][phase]:.1f} rows/s ({busy})")
        splits = held_out_splits()
        for precision, ner in clients.items():
            held[precision] = {name: predict_spans(ner, split) for name, split in splits.items()}
    setup = f"batch {args.batch}, {args.threads} ORT threads, {model}, {len(chunks)} chunks"
    print(f"\n{payload_bytes / 1e6:.1f} MB of LS task JSON per flavour")
    print(f"\nprelabel throughput: {len(texts)} CSV rows, {setup}")
    header = f"{'raw rows/s':>10} {'e2e rows/s':>10} {'e2e/raw':>8} {'F1 held-out':>11}"
    print(f"  {'precision':<9} {header}  load 1m raw/e2e")
    gold = {name: [e.spans for e in split] for name, split in splits.items()}
    f1 = {
        p: {n: score_spans(gold[n], spans).f1 for n, spans in by_split.items()}
        for p, by_split in held.items()
    }
    for precision, rate in rates.items():
        busy = f"{mean(loads[precision]['raw']):.2f}/{mean(loads[precision]['e2e']):.2f}"
        print(
            f"  {precision:<9} {rate['raw']:10.1f} {rate['e2e']:10.1f} {rate['e2e'] / rate['raw']:8.2f} "
            f"{f1[precision][GATE_SPLIT]:11.4f}  {busy}"
        )
    for precision, rate in rates.items():
        print(f"  ratio end-to-end / raw ({precision}): {rate['e2e'] / rate['raw']:.2f}  (goal >= 0.9)")
    if {"fp32", "int8"} <= set(rates):
        print(
            f"int8/fp32 rows/s: {rates['int8']['e2e'] / rates['fp32']['e2e']:.2f}  (end to end; goal >= 1.8)"
        )
        print(f"int8/fp32 raw forward rows/s: {rates['int8']['raw'] / rates['fp32']['raw']:.2f}")
        for name in splits:
            agreement = span_agreement(held["fp32"][name], held["int8"][name])
            scores = f"fp32 {f1['fp32'][name]:.4f}, int8 {f1['int8'][name]:.4f}"
            print(f"F1 {name} ({len(gold[name])} texts): {scores}, spans agree on {agreement:.2%}")
        agreement = span_agreement(held["fp32"][GATE_SPLIT], held["int8"][GATE_SPLIT])
        n = len(gold[GATE_SPLIT])
        gate = int8_gate(
            f1["fp32"][GATE_SPLIT], f1["int8"][GATE_SPLIT], agreement, records=n, split=GATE_SPLIT
        )
        print(f"int8 gate on {GATE_SPLIT}: {'passed' if gate.passed else 'failed'}: {gate.reason}")
    print(f"end: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
