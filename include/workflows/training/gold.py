"""The gold set: latest human record versions, checked, split by document, with a hashed manifest.

A training run stores its gold once (`record_training_run`: training_runs row + training_manifest rows);
every later step of the run reads that same gold back by run id (`run_gold`), never selecting again.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

import psycopg2.extensions
import psycopg2.extras
from pydantic import ValidationError

from include.adapters.db import models
from include.adapters.db.models import GoldCandidate, latest_human_versions
from include.adapters.db.models import (
    finish_training_run as finish_training_run,  # the run's close, for its callers
)
from include.adapters.db.models import record_model_version as record_model_version
from include.core.spans import Span, span_problems
from include.workflows.training.dataset import LabeledText

Connection: TypeAlias = psycopg2.extensions.connection
Split = Literal["train", "dev", "test"]
SPLITS: tuple[Split, ...] = ("train", "dev", "test")
DEFAULT_RATIOS = (0.8, 0.1, 0.1)
DEV_MIN_SPANS = 500
"""A dev split only when the documents hashing into it hold at least this many gold spans; below, they train,
and the held-out test split alone compares models. A dev F1 on n spans is good to about ±0.5/√n (±0.022
here), while the epochs it picks between differ by 0.02–0.05: on fewer spans it picks by noise. The first
rule (a dev split from 400 gold texts) gave WNUT-17's 400-text run 42 dev tweets, 23 spans: three training
orders from the no-WNUT bootstrap reached 0.296 / 0.342 / 0.288 with it and 0.302 / 0.363 / 0.342 with
those texts training and the last epoch kept (docs/benchmarks.md)."""


@dataclass(frozen=True)
class GoldExample:
    """One gold record version: its text and checked spans, and the split its document belongs to."""

    record_version_id: int
    record_id: int
    document_sha256: str
    record_key: str
    text: str
    spans: tuple[Span, ...]
    split: Split

    def labeled_text(self) -> LabeledText:
        return LabeledText(self.text, self.spans, source=f"record_version={self.record_version_id}")


@dataclass
class GoldSet:
    """Gold examples, what was excluded and why, and the manifest (record version ids per split)."""

    examples: list[GoldExample]
    excluded: dict[str, int]
    problems: dict[int, list[str]] = field(default_factory=dict)

    def split(self, name: Split) -> list[LabeledText]:
        return [e.labeled_text() for e in self.examples if e.split == name]

    @property
    def manifest(self) -> dict[str, list[int]]:
        return {s: sorted(e.record_version_id for e in self.examples if e.split == s) for s in SPLITS}

    @property
    def manifest_sha256(self) -> str:
        return manifest_sha256(self.manifest)

    @property
    def counts(self) -> dict[str, int | dict[str, int]]:
        per_split = Counter(e.split for e in self.examples)
        return {
            "gold": len(self.examples),
            **{s: per_split.get(s, 0) for s in SPLITS},
            "documents": len({e.document_sha256 for e in self.examples}),
            "spans": sum(len(e.spans) for e in self.examples),
            "excluded": dict(self.excluded),
        }


def manifest_sha256(manifest: dict[str, list[int]]) -> str:
    """sha256 of the manifest's canonical JSON (sorted ids per split, sorted keys)."""
    canonical = {s: sorted(manifest.get(s, [])) for s in SPLITS}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def split_point(document_sha256: str) -> float:
    """Where a document falls in [0, 1), from a hash of its sha256 (stable from run to run)."""
    digest = hashlib.sha256(f"split:{document_sha256}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_for(document_sha256: str, ratios: Sequence[float] = DEFAULT_RATIOS) -> Split:
    """The split of a document, from a hash of its sha256: the same document always lands in one split."""
    if len(ratios) != 3 or any(r < 0 for r in ratios) or sum(ratios) <= 0:
        raise ValueError(f"ratios: expected three non-negative numbers (train, dev, test), got {ratios}")
    point = split_point(document_sha256) * sum(ratios)
    bound = 0.0
    for name, ratio in zip(SPLITS, ratios, strict=True):
        bound += ratio
        if point < bound:
            return name
    return "test"


def document_splits(
    documents: Mapping[str, int], ratios: Sequence[float] = DEFAULT_RATIOS, dev_min_spans: int = DEV_MIN_SPANS
) -> dict[str, Split]:
    """The split of each document (sha256 → gold spans in it), whole documents only.

    By hash (`split_for`); when the documents hashing into dev hold fewer than `dev_min_spans` gold spans,
    they train; when no document hashes into test and there are two or more, the one whose hash lies
    nearest the test range is held out, so small gold still has a held-out set to compare models on.
    """
    splits = {sha: split_for(sha, ratios) for sha in documents}
    if sum(n for sha, n in documents.items() if splits[sha] == "dev") < dev_min_spans:
        splits = {sha: "train" if split == "dev" else split for sha, split in splits.items()}
    if len(splits) >= 2 and "test" not in splits.values() and ratios[2] > 0:
        nearest = max(splits, key=split_point)
        splits[nearest] = "test"
    return splits


def check_spans(
    candidate: GoldCandidate, labels: Sequence[str] | None = None
) -> tuple[list[Span], list[str]]:
    """The candidate's spans parsed and re-checked against its text; problems say why they do not fit."""
    try:
        spans = [Span(**s) for s in candidate.spans]
    except (ValidationError, TypeError) as error:
        return [], [f"spans do not parse: {error}"]
    problems = span_problems(spans, candidate.text)
    ordered = sorted(spans, key=lambda s: (s.start, s.end))
    problems += [
        f"spans overlap: {a.start}:{a.end} {a.label} and {b.start}:{b.end} {b.label}"
        for a, b in itertools.pairwise(ordered)
        if b.start < a.end
    ]
    if labels is not None:
        problems += [f"unknown label {s.label!r}" for s in spans if s.label not in labels]
    return spans, problems


def select_gold(
    conn: Connection,
    ratios: Sequence[float] = DEFAULT_RATIOS,
    labels: Sequence[str] | None = None,
) -> GoldSet:
    """Gold = latest human version per record that is not skipped, flagged or holding spans that do not fit.

    Exclusions are counted by reason: skipped (cancelled in LS), flagged (spans_valid false when stored),
    invalid_spans (offsets/text do not match the record text, overlap, or a label outside `labels`).
    """
    excluded = {"skipped": 0, "flagged": 0, "invalid_spans": 0}
    examples: list[GoldExample] = []
    problems: dict[int, list[str]] = {}
    checked: list[tuple[GoldCandidate, list[Span]]] = []
    for candidate in latest_human_versions(conn):
        if candidate.was_cancelled:
            excluded["skipped"] += 1
            continue
        if not candidate.spans_valid:
            excluded["flagged"] += 1
            continue
        spans, found = check_spans(candidate, labels)
        if found:
            excluded["invalid_spans"] += 1
            problems[candidate.record_version_id] = found
            continue
        checked.append((candidate, spans))
    spans_per_document: Counter[str] = Counter()
    for candidate, spans in checked:
        spans_per_document[candidate.document_sha256] += len(spans)
    splits = document_splits(spans_per_document, ratios)
    for candidate, spans in checked:
        examples.append(
            GoldExample(
                record_version_id=candidate.record_version_id,
                record_id=candidate.record_id,
                document_sha256=candidate.document_sha256,
                record_key=candidate.record_key,
                text=candidate.text,
                spans=tuple(sorted(spans, key=lambda s: (s.start, s.end))),
                split=splits[candidate.document_sha256],
            )
        )
    return GoldSet(examples, excluded, problems)


# -- training runs -----------------------------------------------------------------------------


def record_training_run(
    conn: Connection,
    gold: GoldSet,
    *,
    status: Literal["running", "skipped"] = "running",
    detail: dict | None = None,
) -> int:
    """Insert a training_runs row and its training_manifest rows; returns the run id. Caller commits."""
    return models.insert_training_run(
        conn,
        status=status,
        manifest_sha256=gold.manifest_sha256,
        counts=gold.counts,
        detail=detail or {},
        manifest=[(e.record_version_id, e.split) for e in gold.examples],
    )


class TrainingRunError(ValueError):
    """A training run cannot be trained: unknown, already finished, or its manifest does not match."""


def start_training(conn: Connection, run_id: int) -> None:
    """Mark a run running again before training it (a retried task retrains a failed run on the same
    gold); a run that succeeded or was skipped is refused. Caller commits."""
    refused = models.restart_training_run(conn, run_id)
    if refused is not None:
        state = "does not exist" if refused == "missing" else f"is {refused}"
        raise TrainingRunError(f"training run {run_id} {state}: only a running or failed run is trained")


def run_gold(conn: Connection, run_id: int) -> GoldSet:
    """The gold a run stored when it started: its training_manifest rows with their record versions, in the
    splits stored then, checked against the run's manifest sha256."""
    run = models.stored_run(conn, run_id)
    if run is None:
        raise TrainingRunError(f"training run {run_id} does not exist")
    examples = [
        GoldExample(
            record_version_id=row["record_version_id"],
            record_id=row["record_id"],
            document_sha256=row["document_sha256"],
            record_key=row["record_key"],
            text=row["text"],
            spans=tuple(sorted((Span(**span) for span in row["spans"]), key=lambda s: (s.start, s.end))),
            split=row["split"],
        )
        for row in run.rows
    ]
    gold = GoldSet(examples, dict(run.counts.get("excluded", {})))
    if gold.manifest_sha256 != run.manifest_sha256:
        raise TrainingRunError(
            f"training run {run_id}: stored manifest hashes to {gold.manifest_sha256}, "
            f"the run recorded {run.manifest_sha256}"
        )
    return gold
