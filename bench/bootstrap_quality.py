"""A bundle's entity P/R/F1 on generated held-out documents of the demo's kinds, on the serving path.

    PYTHONPATH=. python bench/bootstrap_quality.py --bundle .state/bundles/current [--threads 1]

Held-out documents (CSV, XLSX, PDF table, text; seeds of devstack/heldout.py: the demo's writers with
other seeds, which share headers and templates with the training generators) go through the real
extractor, the records through NerClient on in-process ONNX Runtime; predictions are scored against
the generator's gold by exact span match (start, end, label), per label and micro-averaged, also per
document kind. It also counts predicted spans that touch a column name of a row record, and shows
the most frequent misses and false alarms. Then the same bundle on the held-out writers of
include/workflows/training/unseen.py (other headers, templates, value formats and Faker locales): the set the
nightly gate guards per label.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from devstack.heldout import HELDOUT_INVOICES, HELDOUT_SEEDS, GoldRecord, column_name_ranges, heldout_gold
from include.adapters.ner.backends import OnnxRuntimeBackend
from include.adapters.ner.client import NerClient
from include.core.bundle.read import read_bundle
from include.core.spans import Span
from include.workflows.training.evaluate import Metrics, score_spans
from include.workflows.training.unseen import unseen_gold


def column_name_hits(gold: Sequence[GoldRecord], predicted: Sequence[Sequence[Span]]) -> list[Span]:
    """Predicted spans that overlap a column name of their row record."""
    hits = []
    for record, spans in zip(gold, predicted, strict=True):
        names = column_name_ranges(record.record)
        hits += [s for s in spans if any(s.start < end and start < s.end for start, end in names)]
    return hits


def shape(text: str) -> str:
    """A span's text with letters as X/x and digits as 9, runs collapsed: "INV-2024001" → "X-9"."""
    classes = ["X" if c.isupper() else "x" if c.isalpha() else "9" if c.isdigit() else c for c in text]
    return "".join(c for i, c in enumerate(classes) if i == 0 or c != classes[i - 1])


def errors(
    gold: Sequence[GoldRecord], predicted: Sequence[Sequence[Span]]
) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]], dict[tuple[str, str], str]]:
    """(missed gold, false alarms) counted by (label, shape), and one example text of each."""
    missed: Counter[tuple[str, str]] = Counter()
    false: Counter[tuple[str, str]] = Counter()
    example: dict[tuple[str, str], str] = {}
    for record, spans in zip(gold, predicted, strict=True):
        g = {(s.start, s.end, s.label) for s in record.spans}
        p = {(s.start, s.end, s.label) for s in spans}
        for counts, mine, other in ((missed, record.spans, p), (false, spans, g)):
            for s in mine:
                if (s.start, s.end, s.label) not in other:
                    key = (s.label, shape(s.text))
                    counts[key] += 1
                    example.setdefault(key, s.text)
    return missed, false, example


def table(title: str, metrics: Metrics) -> str:
    lines = [f"{title}", f"| {'label':<9} | precision | recall |   F1  | support |", "|---|---|---|---|---|"]
    for label, s in sorted(metrics.per_label.items()):
        lines.append(f"| {label:<9} | {s.precision:9.3f} | {s.recall:6.3f} | {s.f1:.3f} | {s.support:7d} |")
    lines.append(
        f"| {'micro':<9} | {metrics.precision:9.3f} | {metrics.recall:6.3f} | {metrics.f1:.3f} |"
        f" {metrics.entities:7d} |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--bundle", type=Path, required=True, help="bundle folder (onnx/, tokenizer/)")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(HELDOUT_SEEDS))
    parser.add_argument("--invoices", type=int, default=HELDOUT_INVOICES, help="invoices per document set")
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads")
    parser.add_argument("--show", type=int, default=12, help="most frequent errors to list")
    args = parser.parse_args(argv)

    began = time.perf_counter()
    gold = heldout_gold(args.seeds, args.invoices)
    extracted = time.perf_counter() - began
    bundle = read_bundle(args.bundle)
    client = NerClient(args.bundle, OnnxRuntimeBackend(bundle.model_path, args.threads))
    began = time.perf_counter()
    predicted = client.predict([g.record.text for g in gold])
    inferred = time.perf_counter() - began

    documents = len({g.document for g in gold})
    print(
        f"bundle {bundle.model_version} ({args.bundle}); seeds {args.seeds}, {args.invoices} invoices each: "
        f"{documents} documents, {len(gold)} records, {sum(len(g.spans) for g in gold)} gold spans "
        f"(extraction {extracted:.1f} s, inference {inferred:.1f} s)"
    )
    print(table("\nall documents", score_spans([g.spans for g in gold], predicted)))
    kinds: dict[str, list[int]] = {}
    for i, g in enumerate(gold):
        kinds.setdefault(g.kind, []).append(i)
    print("\nmicro F1 per document kind")
    for kind, rows in sorted(kinds.items()):
        m = score_spans([gold[i].spans for i in rows], [predicted[i] for i in rows])
        print(f"  {kind:<5} P {m.precision:.3f}  R {m.recall:.3f}  F1 {m.f1:.3f}  ({m.entities} spans)")
    unseen = unseen_gold()
    unseen_predicted = client.predict([u.text for u in unseen])
    print(
        table(
            f"\nheld-out writers the training generators do not share (include/workflows/training/unseen.py, "
            f"{len(unseen)} texts)",
            score_spans([u.spans for u in unseen], unseen_predicted),
        )
    )
    hits = column_name_hits(gold, predicted)
    rows_checked = sum(1 for g in gold if g.record.meta.get("columns"))
    print(f"\nfalse-positive spans on column names: {len(hits)} (in {rows_checked} row records)")
    for (label, text), n in Counter((s.label, s.text) for s in hits).most_common(args.show):
        print(f"  {n:4d} x {label:<9} {text!r}")
    missed, false, example = errors(gold, predicted)
    for title, counts in (("missed gold", missed), ("false alarms", false)):
        print(f"\n{title} by label and shape: {sum(counts.values())}")
        for key, n in counts.most_common(args.show):
            print(f"  {n:4d} x {key[0]:<9} {key[1]:<16} e.g. {example[key]!r}")
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
