"""A nightly run on a real database: skipped without enough gold; trained, gated and bundled with it.

The encoder is cut to one layer and trained for a few steps at max_length 32, uncased, to stay fast.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
import torch

from include.db import repository as repo
from include.db.connection import transaction
from include.bundle import read_bundle
from include.training.nightly import nightly_training
from include.training.synthetic import synthetic_gold
from include.training.train import TrainConfig

TINY = TrainConfig(
    epochs=2, batch_size=8, learning_rate=5e-4, max_length=32, num_layers=1, case_features=False, patience=5
)


def seed_gold(db, count: int) -> None:
    with transaction(db):
        for i, text in enumerate(synthetic_gold(count, seed=5)):
            data = f"doc-{i // 2}".encode()
            doc = repo.add_document(
                db,
                sha256=hashlib.sha256(data).hexdigest(),
                uri=f"file:///{i // 2}",
                doc_type="text",
                size_bytes=1,
            )
            (record,) = repo.add_records(db, doc.id, [repo.NewRecord(record_key=f"para={i}", text=text.text)])
            repo.append_record_version(
                db,
                record.id,
                repo.NewRecordVersion(source="annotation", spans=list(text.spans), ls_annotation_id=i + 1),
            )


def run_rows(db) -> list[tuple]:
    with db.cursor() as cur:
        cur.execute("SELECT id, status, model_version, detail->>'promoted' FROM training_runs ORDER BY id")
        return cur.fetchall()


def test_too_little_gold_is_a_skipped_run(db, tmp_path) -> None:
    seed_gold(db, 4)
    outcome = nightly_training(db, tmp_path / "bundle", config=TINY, min_train=20)
    assert outcome.status == "skipped" and "min_train" in outcome.reason
    assert run_rows(db) == [(outcome.run_id, "skipped", None, None)]
    assert not (tmp_path / "bundle").exists()


def test_first_model_is_bundled_and_a_worse_one_is_rejected(db, tmp_path) -> None:
    torch.set_num_threads(1)
    seed_gold(db, 80)
    first = nightly_training(db, tmp_path / "b1", config=TINY, min_train=20)
    assert first.promoted and "first model" in first.reason
    info = read_bundle(tmp_path / "b1")
    assert info.model_version == first.model_version and first.model_version.startswith("ner-")
    assert info.version["manifest"]["training_run_id"] == first.run_id
    assert first.metrics["new"]["examples"] > 0

    second = nightly_training(
        db, tmp_path / "b2", current_bundle=info.root, config=replace(TINY, max_steps=1), tolerance=-1.0
    )
    assert not second.promoted and second.bundle is None and not (tmp_path / "b2").exists()
    assert second.metrics["current"]["f1"] == pytest.approx(first.metrics["new"]["f1"], abs=1e-6)
    with db.cursor() as cur:
        cur.execute("SELECT version, status, bundle_uri IS NOT NULL FROM model_versions ORDER BY id")
        versions = cur.fetchall()
    assert versions[0] == (first.model_version, "candidate", True)
    assert versions[1][1:] == ("rejected", False)
    assert [r[1:] for r in run_rows(db)] == [
        ("succeeded", first.model_version, "true"),
        ("succeeded", second.model_version, "false"),
    ]
