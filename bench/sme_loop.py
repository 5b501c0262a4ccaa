"""SMEs simulated on a domain the model never saw: gold enters through the shim's applier, the nightly
DAG's own task functions train, gate and publish, and the model in service is scored after each step.

    PYTHONPATH=. python bench/sme_loop.py --corpus DIR --label-map PER=PERSON,ORG=ORG,LOC=LOCATION \\
        [--steps 50 100 200 400 800] [--order random|uncertain] [--test-sample N] [--work DIR]

DIR holds CoNLL-format `train.txt` and `test.txt` (token first, tag last, any tag set; UTF-8 or Latin-1;
IOB1, IOB2, BIOES, BILOU, BMES or bare IO tags; `-DOCSTART-` lines group sentences into documents, else
each sentence is one).
Tags the label map does not name become O. The bootstrap it starts from is built without WNUT-17
(`--with-wnut17` adds it back for a corpus that is not WNUT-17), so it has never seen the corpus; it is
cached in the work folder.

Per step, the new gold texts go in as Label Studio ANNOTATION_CREATED payloads through `parse_event` +
`apply_event` (what the shim runs) into Postgres (DATABASE_URL, or an embedded server in the work
folder); then `start_training_run` → `train_and_gate` → `publish_and_reload` of the nightly DAG run as
they do in Airflow; then the model in service is scored on test.txt: all of it, or `--test-sample N`
sentences drawn with a fixed seed, so every `--seed` (an order of the gold) is scored on the same
sentences and orders differ only in what they learned. Each step prints
one JSON line: gold, the candidate's F1 on the SME held-out gold, in-service F1 on the test sample before
and after, promoted, the gate's reason, per-label F1 and training seconds, and `gain_resampled`: the gain
over the bootstrap on 2,000 paired resamples of the test sentences (its 95 % interval, and the share of
resamples at or over each bar). `--order uncertain` feeds the texts the model in service is least sure of
first (scored again at each step). The last line, `{"bars": ...}`, says which of issue 22's bars the run
met: every step from 100 gold on promoted and rising, +0.10 over the bootstrap at 100 gold, +0.15 at 400,
and the 400-gold nightly run under 5 minutes; a bar's gain carries its interval and `p_at_least_bar`, so
a bar met or missed by less than the test sample's noise reads as such.

The model in service is scored on the labels the corpus annotates (the label map's targets): a
prediction of another project label (an EMAIL or DATE in a tweet of WNUT-17, which never marks either) is
neither right nor wrong there, since the corpus's annotators were never asked. The F1 over every
predicted label is printed beside it (`in_service_f1_all_labels`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(PROJECT_ROOT), str(PROJECT_ROOT / "plugins")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

from include.core.spans import Span  # noqa: E402
from include.workflows.training.dataset import LabeledText, conll_to_labeled_text, read_conll_documents  # noqa: E402
from include.workflows.training.evaluate import (  # noqa: E402
    Metrics,
    paired_f1_resamples,
    predict_spans,
    score_spans,
)

PROJECT = {"id": 1, "title": "sme-loop"}
TEST_SAMPLE_SEED = 0
"""The seed of `--test-sample`: one sample for every order, so orders are compared on the same sentences."""


def parse_label_map(text: str) -> dict[str, str]:
    """`PER=PERSON,ORG=ORG` → {"PER": "PERSON", "ORG": "ORG"}."""
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if any(len(p) != 2 or not p[0].strip() or not p[1].strip() for p in pairs):
        raise SystemExit(f"--label-map: expected TAG=LABEL,TAG=LABEL, got {text!r}")
    return {a.strip(): b.strip() for a, b in pairs}


Documents = list[list[list[tuple[str, str]]]]
"""A CoNLL file as `read_conll_documents` gives it: documents of sentences of (token, tag)."""


def tag_types(documents: Documents) -> Counter[str]:
    """Entity types a CoNLL file tags, with how many tokens carry each (`B-PER`, `I-PER` → PER)."""
    return Counter(
        tag.partition("-")[2]
        for document in documents
        for sentence in document
        for _, tag in sentence
        if tag.partition("-")[2]
    )


def check_label_map(
    label_map: dict[str, str], corpus_types: Counter[str], model_labels: Sequence[str]
) -> None:
    """Refuse a map that would silently teach nothing: a tag the corpus never uses (a typo, or `B-PER` for
    `PER`) leaves its entities O, and a label the model does not have makes the gold invalid (the run
    drops every text holding one)."""
    problems = []
    missing = sorted(tag for tag in label_map if tag not in corpus_types)
    if missing:
        problems.append(f"tags the corpus never uses: {', '.join(missing)}")
    unknown = sorted({label for label in label_map.values() if label not in model_labels})
    if unknown:
        problems.append(f"labels the model does not have: {', '.join(unknown)}")
    if problems:
        found = ", ".join(f"{t} ({n})" for t, n in corpus_types.most_common())
        tagged = f"The corpus tags (tokens each) {found}" if found else "Every tag of the corpus is O"
        raise SystemExit(
            f"--label-map: {'; '.join(problems)}. {tagged}; the model's labels are"
            f" {', '.join(model_labels)}; a tag left out becomes O."
        )


def corpus_files(folder: Path) -> tuple[Path, Path]:
    """The corpus's train.txt and test.txt; a folder without them is refused, naming what it holds."""
    paths = (folder / "train.txt", folder / "test.txt")
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        held = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        where = "no such folder" if not folder.is_dir() else f"it holds {', '.join(held) or 'nothing'}"
        raise SystemExit(
            f"--corpus {folder}: no {' or '.join(missing)} ({where}); "
            "name the CoNLL files train.txt and test.txt"
        )
    return paths


def model_labels(bootstrap: Path | None) -> list[str]:
    """The labels of the model the run starts from: the given bundle's, else a built bootstrap's."""
    if bootstrap is None:
        from include.core.labels import DEFAULT_LABELS

        return list(DEFAULT_LABELS)
    from include.core.bundle.read import read_bundle

    return list(read_bundle(bootstrap).version["labels"])


def load_corpus(name: str, documents: Documents, label_map: dict[str, str]) -> list[list[LabeledText]]:
    """Documents of labelled sentences, labels mapped (unmapped → O)."""
    mapping: dict[str, str | None] = dict(label_map)  # a tag it does not name gets None: O
    return [
        [conll_to_labeled_text(s, mapping, source=f"{name}#{d}.{i}") for i, s in enumerate(document)]
        for d, document in enumerate(documents)
    ]


BARS = {100: 0.10, 400: 0.15}
"""Issue 22's bars: the model in service this far above the bootstrap at this many gold texts."""
RUN_SECONDS_BAR = 300.0
"""A nightly run on 400 gold texts takes less than this (on 2 cores)."""
BARS_FROM = 100
"""From this many gold texts on, every step must be promoted and raise the in-service F1."""


def bars(bootstrap_f1: float, steps: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Whether a run met the bars: each step from `BARS_FROM` gold on promoted and above the step before,
    and the gain over the bootstrap at each of `BARS`' gold counts (None where the run has no such step)."""
    scored = [s for s in steps if s["gold"] >= BARS_FROM]
    failing = [s["gold"] for s in scored if not s["promoted"]]
    flat = [s["gold"] for s in scored if s["in_service_f1_after"] <= s["in_service_f1_before"]]
    gains = {}
    for gold, bar in BARS.items():
        step = next((s for s in steps if s["gold"] == gold), None)
        gain = None if step is None else round(step["in_service_f1_after"] - bootstrap_f1, 4)
        gains[str(gold)] = {"gain": gain, "bar": bar, "met": None if gain is None else gain >= bar}
        if step is not None and "gain_resampled" in step:
            interval = step["gain_resampled"]
            gains[str(gold)] |= {
                "ci95": interval["ci95"],
                "p_at_least_bar": interval["p_at_least"].get(str(bar)),
            }
    at_400 = next((s for s in steps if s["gold"] == 400), None)
    run_400 = None if at_400 is None else at_400["run_seconds"]
    fast = None if run_400 is None else run_400 < RUN_SECONDS_BAR
    return {
        "bootstrap_f1": round(bootstrap_f1, 4),
        "promoted_from_100": not failing,
        "refused_at": failing,
        "rising_from_100": not flat,
        "not_rising_at": flat,
        "gain_over_bootstrap": gains,
        "run_seconds_at_400": run_400,
        "run_at_400_under_5_min": fast,
        # a bar the run has no step for (None) is not met
        "all_met": bool(scored)
        and not failing
        and not flat
        and all(g["met"] is True for g in gains.values())
        and fast is True,
    }


def on_corpus(predicted: Sequence[Sequence[Span]], corpus_labels: set[str]) -> list[list[Span]]:
    """The predictions of the corpus's labels; the others are neither right nor wrong there."""
    return [[s for s in spans if s.label in corpus_labels] for spans in predicted]


def corpus_scores(
    gold: Sequence[Sequence[Span]], predicted: Sequence[Sequence[Span]], corpus_labels: set[str]
) -> tuple[Metrics, Metrics]:
    """Scores over the corpus's labels (predictions of other labels left out), and over every label."""
    return score_spans(gold, on_corpus(predicted, corpus_labels)), score_spans(gold, predicted)


def score_in_service(
    client: Any, test_sample: Sequence[LabeledText], corpus_labels: set[str]
) -> tuple[Metrics, Metrics, list[list[Span]]]:
    """The model in service on the test sample: `corpus_scores` of its predictions, and the predictions."""
    predicted = predict_spans(client, test_sample)
    return (*corpus_scores([e.spans for e in test_sample], predicted, corpus_labels), predicted)


def resampled_gain(
    gold: Sequence[Sequence[Span]],
    before: Sequence[Sequence[Span]],
    after: Sequence[Sequence[Span]],
    corpus_labels: set[str],
    thresholds: Sequence[float] = tuple(BARS.values()),
) -> dict[str, Any]:
    """The gain `after` − `before` (corpus labels) on bootstrap resamples of the test sentences: its 95 %
    interval, and the share of resamples where it is at least each threshold. A bar missed or met by less
    than the interval's half-width is a draw of the test sample, not a difference between the models."""
    new, old = paired_f1_resamples(gold, on_corpus(after, corpus_labels), on_corpus(before, corpus_labels))
    gain = new - old
    low, high = np.percentile(gain, [2.5, 97.5])
    return {
        "ci95": [round(float(low), 4), round(float(high), 4)],
        "p_at_least": {str(t): round(float(np.mean(gain >= t)), 3) for t in thresholds},
    }


def runnable_steps(steps: Sequence[int], available: int) -> list[int]:
    """The steps a corpus of `available` training sentences can feed: a step past it is cut to all of them
    (once), and the ones after it dropped; a later step would otherwise retrain on the same gold."""
    kept: list[int] = []
    for step in sorted(set(steps)):
        kept.append(min(step, available))
        if step >= available:
            break
    return kept


def document_sha256(index: int, texts: Sequence[str]) -> str:
    """A stand-in for the document's file hash, from its place in train.txt and its sentences: the gold's
    held-out split hangs on it, so it must not depend on where the corpus lies (it held the folder's path,
    and one corpus in two folders gave two splits and two sets of figures)."""
    return hashlib.sha256(f"train.txt#{index}\n{chr(10).join(texts)}".encode()).hexdigest()


def annotation_payload(task_id: int, sha256: str, record_key: str, example: LabeledText) -> dict[str, Any]:
    """An ANNOTATION_CREATED event as Label Studio 1.23 sends it, for one corrected text."""
    result = [
        {
            "id": f"r{n}",
            "from_name": "label",
            "to_name": "text",
            "type": "labels",
            "origin": "manual",
            "value": {"start": s.start, "end": s.end, "text": s.text, "labels": [s.label]},
        }
        for n, s in enumerate(example.spans)
    ]
    task = {
        "id": task_id,
        "data": {"text": example.text, "document_sha256": sha256, "record_key": record_key},
        "project": PROJECT["id"],
        "is_labeled": True,
    }
    annotation = {
        "id": task_id,
        "task": task_id,
        "project": PROJECT["id"],
        "result": result,
        "completed_by": 1,
        "lead_time": 10.0,
        "was_cancelled": False,
        "ground_truth": False,
        "result_count": len(result),
    }
    return {"action": "ANNOTATION_CREATED", "annotation": annotation, "task": task, "project": PROJECT}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", type=Path, required=True, help="folder with CoNLL train.txt and test.txt")
    parser.add_argument(
        "--label-map", required=True, help="corpus tag → project label, e.g. PER=PERSON,LOC=LOCATION"
    )
    parser.add_argument(
        "--steps", type=int, nargs="+", default=[50, 100, 200, 400, 800], help="gold texts per step"
    )
    parser.add_argument("--order", choices=("random", "uncertain"), default="random")
    parser.add_argument(
        "--test-sample", type=int, default=0, help="test sentences scored at every step (0: all of test.txt)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / ".state" / "sme-loop")
    parser.add_argument("--bootstrap", type=Path, default=None, help="a bootstrap bundle to start from")
    parser.add_argument("--with-wnut17", action="store_true", help="bootstrap with WNUT-17 (not for WNUT-17)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=None, help="the DAG's learning_rate param")
    parser.add_argument("--rehearsal-ratio", type=float, default=None, help="DAG param rehearsal_ratio")
    parser.add_argument("--rehearsal-weight", type=float, default=None, help="DAG param rehearsal_weight")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--pool", type=int, default=1500, help="texts scored per step for --order uncertain")
    args = parser.parse_args(argv)
    return run(args)


def run(args: argparse.Namespace) -> int:
    import logging

    import torch

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    label_map = parse_label_map(args.label_map)
    train_path, test_path = corpus_files(args.corpus)
    train_raw = read_conll_documents(train_path)
    corpus_types = tag_types(train_raw)
    check_label_map(label_map, corpus_types, model_labels(args.bootstrap))
    unmapped = sorted(t for t in corpus_types if t not in label_map)
    if unmapped:
        print(f"tags left out (→ O): {', '.join(unmapped)}", file=sys.stderr)
    train_docs = load_corpus("train.txt", train_raw, label_map)
    available = sum(len(d) for d in train_docs)
    steps = runnable_steps(args.steps, available)
    if steps != sorted(set(args.steps)):
        print(f"train.txt holds {available} sentences: steps {' '.join(map(str, steps))}", file=sys.stderr)
    args.steps = steps
    test_docs = load_corpus("test.txt", read_conll_documents(test_path), label_map)
    test_all = [s for d in test_docs for s in d]
    test_sample = fixed_test_sample(test_all, args.test_sample)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    state = work / f"state-{uuid.uuid4().hex[:8]}"
    bootstrap = args.bootstrap or build_bootstrap(work, args.with_wnut17, args.corpus)
    database_url, stop_db = database(work)
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "AIRFLOW_CONN_NERLOOP_DB": database_url,
            "STATE_DIR": str(state),
            "MODEL_REPOSITORY": str(state / "model_repository"),
            "NER_BACKEND": "onnxruntime",
        }
    )
    from include.core.settings import get_settings

    get_settings.cache_clear()  # the task functions read STATE_DIR and DATABASE_URL through the settings
    try:
        return loop(args, train_docs, test_sample, bootstrap, state, database_url)
    finally:
        stop_db()


def fixed_test_sample(test_all: list[LabeledText], size: int) -> list[LabeledText]:
    """All test sentences (size 0 or ≥ their number), or `size` of them drawn with a seed no order changes."""
    if size <= 0 or size >= len(test_all):
        return list(test_all)
    return random.Random(TEST_SAMPLE_SEED).sample(test_all, size)


def build_bootstrap(work: Path, with_wnut17: bool, corpus: Path) -> Path:
    from include.workflows.training.bootstrap import BootstrapPlan
    from include.workflows.training.bootstrap import build_bootstrap as build
    from include.workflows.training.sources import wnut17_dir

    if with_wnut17:
        shipped = hashlib.sha256((wnut17_dir() / "wnut17train.conll").read_bytes()).hexdigest()
        if hashlib.sha256((corpus / "train.txt").read_bytes()).hexdigest() == shipped:
            raise SystemExit("--with-wnut17 on WNUT-17: the bootstrap would have seen the corpus")
    target = work / ("bootstrap-wnut17" if with_wnut17 else "bootstrap-no-wnut17")
    if not (target / "onnx" / "VERSION.json").is_file():
        shutil.rmtree(target, ignore_errors=True)
        print(
            f"building the bootstrap ({'with' if with_wnut17 else 'without'} WNUT-17) in {target}",
            file=sys.stderr,
        )
        build(target, BootstrapPlan(wnut17=with_wnut17))
    return target


def database(work: Path) -> tuple[str, Any]:
    """A fresh database with the schema: on DATABASE_URL's server, else an embedded one in `work`."""
    from include.adapters.db.connection import connect
    from include.adapters.db.migrate import apply_migrations
    from include.adapters.db.server import create_database, drop_database

    server = os.environ.get("DATABASE_URL")
    pg = None
    if not server:
        import socket

        from devstack.services.embedded_postgres import EmbeddedPostgres

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        pg = EmbeddedPostgres(root=work / f"postgres-{uuid.uuid4().hex[:8]}", port=port)
        pg.start()
        server = pg.url()
    name = f"sme_loop_{uuid.uuid4().hex[:8]}"
    create_database(server, name)
    url = server.rsplit("/", 1)[0] + "/" + name
    conn = connect(url, statement_timeout_ms=0)
    apply_migrations(conn)
    conn.close()

    def stop() -> None:
        drop_database(server, name)
        if pg is not None:
            pg.stop()
            shutil.rmtree(pg.root, ignore_errors=True)

    return url, stop


def loop(
    args: argparse.Namespace,
    train_docs: list[list[LabeledText]],
    test_sample: list[LabeledText],
    bootstrap: Path,
    state: Path,
    database_url: str,
) -> int:
    import logging

    from nerloop_airflow.training import publish_and_reload, start_training_run, train_and_gate

    from include.adapters.db import repository as repo
    from include.adapters.db.connection import connect, transaction
    from include.core.bundle.layout import BundleLayout
    from include.core.bundle.read import read_bundle
    from include.core.spans import task_score
    from include.workflows.annotations import ApplyConfig, apply_event, parse_event
    from include.workflows.release import release_bundle
    from include.workflows.training.evaluate import load_client
    from include.workflows.training.gold import record_model_version

    logging.getLogger().setLevel(logging.WARNING)  # ONNX Runtime's quantizer logs every tensor at INFO
    logging.getLogger("include").setLevel(logging.INFO)
    layout = BundleLayout(state / "bundles")
    if BundleLayout.from_state_dir().root != layout.root:
        raise RuntimeError(
            f"the task functions would use {BundleLayout.from_state_dir().root}, not {layout.root}"
        )
    version0 = layout.named("bootstrap-0")
    shutil.copytree(bootstrap, version0)
    conn = connect(database_url, statement_timeout_ms=0)
    with transaction(conn):
        record_model_version(conn, read_bundle(version0).version)
    release_bundle(
        conn,
        version0,
        model_repository=str(state / "model_repository"),
        bundles_root=layout.root,
        flavour=None,
    )
    apply_config = ApplyConfig(field_map={})
    documents = list(enumerate(train_docs))
    random.Random(args.seed).shuffle(documents)
    pool = [(d, i, s) for d, doc in documents for i, s in enumerate(doc)]
    fed: list[tuple[int, int, LabeledText]] = []
    known_docs: dict[int, tuple[int, str]] = {}
    params = {
        "min_train": 20,
        "epochs": args.epochs,
        "max_steps": 2000,
        "num_layers": None,
        "tolerance": 0.01,
        "rehearsal_ratio": args.rehearsal_ratio,
        "learning_rate": args.learning_rate,
        "rehearsal_weight": args.rehearsal_weight,
    }
    corpus_labels = set(parse_label_map(args.label_map).values())
    served_before, served_before_all, bootstrap_predicted = score_in_service(
        load_client(layout.current_link), test_sample, corpus_labels
    )
    test_gold = [e.spans for e in test_sample]
    bootstrap_f1 = served_before.f1
    records: list[dict[str, Any]] = []
    print(
        json.dumps(
            {
                "gold": 0,
                "in_service_f1": round(served_before.f1, 4),
                "in_service_f1_all_labels": round(served_before_all.f1, 4),
                "labels": sorted(corpus_labels),
                "model": "bootstrap-0",
            }
        ),
        flush=True,
    )
    for target in args.steps:
        need = target - len(fed)
        if need <= 0:
            continue
        if args.order == "uncertain":
            candidates = pool[: args.pool]
            spans = predict_spans(load_client(layout.current_link), [s for _, _, s in candidates])
            ranked = sorted(range(len(candidates)), key=lambda k: task_score(spans[k]))
            chosen = [candidates[k] for k in ranked[:need]]
            chosen_ids = {id(c) for c in chosen}
            pool = [p for p in pool if id(p) not in chosen_ids]
        else:
            chosen, pool = pool[:need], pool[need:]
        with transaction(conn):
            for d, i, sentence in chosen:
                if d not in known_docs:
                    texts = [s.text for s in train_docs[d]]
                    sha = document_sha256(d, texts)
                    doc = repo.add_document(
                        conn,
                        sha256=sha,
                        uri=f"file://{args.corpus.resolve()}/train.txt#{d}",
                        doc_type="text",
                        size_bytes=1,
                    )
                    known_docs[d] = (doc.id, sha)
                doc_id, sha = known_docs[d]
                (record,) = repo.add_records(
                    conn, doc_id, [repo.NewRecord(record_key=f"sentence={i}", text=sentence.text)]
                )
                payload = annotation_payload(record.id, sha, record.record_key, sentence)
                outcome = apply_event(conn, parse_event(payload), payload, apply_config)
                if outcome.versions_written != 1:
                    raise RuntimeError(f"gold text {d}.{i} not stored: {outcome.as_json()}")
        fed += chosen
        started = time.monotonic()
        run = start_training_run(params)
        outcome = train_and_gate(run["run_id"], params) if run["status"] == "running" else None
        released = publish_and_reload(outcome) if outcome and outcome["promoted"] else None
        seconds = time.monotonic() - started
        after, after_all, predicted = score_in_service(
            load_client(layout.current_link), test_sample, corpus_labels
        )
        with conn.cursor() as cur:
            cur.execute("SELECT detail FROM training_runs WHERE id = %s", (run["run_id"],))
            (detail,) = cur.fetchone()
        conn.commit()
        metrics = _metrics(conn, outcome["model_version"]) if outcome else {}
        record = {
            "gold": len(fed),
            "order": args.order,
            "candidate_f1": (metrics.get("new") or {}).get("f1"),
            "sme_heldout_in_service_f1": (metrics.get("current") or {}).get("f1"),
            "in_service_f1_before": round(served_before.f1, 4),
            "in_service_f1_after": round(after.f1, 4),
            "in_service_f1_all_labels": round(after_all.f1, 4),
            "gain_resampled": resampled_gain(test_gold, bootstrap_predicted, predicted, corpus_labels),
            "promoted": bool(outcome and outcome["promoted"]),
            "gate": outcome["reason"] if outcome else run["reason"],
            "per_label": {k: round(v.f1, 4) for k, v in after.per_label.items() if k in corpus_labels},
            "forgetting": detail.get("scores", {}).get("bootstrap_heldout"),
            "training_seconds": (metrics.get("training") or {}).get("seconds"),
            "blend": (metrics.get("training") or {}).get("blend"),
            "run_seconds": round(seconds, 1),
            "served": released["model_version"] if released else None,
            "load": [round(x, 2) for x in os.getloadavg()],
        }
        records.append(record)
        print(json.dumps(record), flush=True)
        served_before = after
    conn.close()
    print(json.dumps({"bars": bars(bootstrap_f1, records)}), flush=True)
    return 0


def _metrics(conn: Any, model_version: str) -> dict[str, Any]:
    with conn.cursor() as cur:
        cur.execute("SELECT metrics FROM model_versions WHERE version = %s", (model_version,))
        row = cur.fetchone()
    conn.commit()
    return dict(row[0]) if row and row[0] else {}


if __name__ == "__main__":
    sys.exit(main())
