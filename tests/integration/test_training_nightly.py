"""A nightly run on a real database, through the two steps the DAG's tasks call (`start_run`, then
`train_run` on its id): skipped without enough gold; trained, gated and bundled with it; its train step
reads the gold stored when the run started, whatever arrived since.

The encoder is cut to one layer and trained for a few steps at max_length 32, uncased, to stay fast.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
import torch

from include.adapters.db import repository as repo
from include.adapters.db.connection import transaction
from include.core.bundle.read import read_bundle
from include.workflows.training.gold import TrainingRunError, run_gold, select_gold
from include.workflows.training.nightly import start_run, train_run
from include.workflows.training.synthetic import synthetic_gold
from include.workflows.training.train import TrainConfig

TINY = TrainConfig(
    epochs=2, batch_size=8, learning_rate=5e-4, max_length=32, num_layers=1, case_features=False, patience=5
)


def seed_gold(db, count: int, seed: int = 5, first: int = 0) -> None:
    """`count` annotated records, two per document; `first` numbers them after gold seeded before."""
    with transaction(db):
        for i, text in enumerate(synthetic_gold(count, seed=seed), start=first):
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


def test_too_little_gold_is_a_skipped_run(db) -> None:
    seed_gold(db, 4)
    started = start_run(db, min_train=20)
    assert started.status == "skipped" and "min_train" in started.reason
    assert run_rows(db) == [(started.run_id, "skipped", None, None)]


def test_first_model_is_bundled_and_a_worse_one_is_rejected(db, tmp_path) -> None:
    torch.set_num_threads(1)
    seed_gold(db, 80)
    first = train_run(db, start_run(db, min_train=20).run_id, tmp_path / "b1", config=replace(TINY, epochs=8))
    assert first.promoted and "first model" in first.reason
    info = read_bundle(tmp_path / "b1")
    assert info.model_version == first.model_version and first.model_version.startswith("ner-")
    assert info.version["manifest"]["training_run_id"] == first.run_id
    assert first.metrics["new"]["examples"] > 0
    # The int8 flavour rides along, hashed, with the gate's verdict on the same held-out split.
    assert info.int8 is not None and info.int8_path is not None and info.int8_path.is_file()
    assert "onnx/model.int8.onnx" in info.version["files"]
    assert info.int8["gate"] == first.metrics["int8"]
    assert info.int8["gate"]["records"] == first.metrics["new"]["examples"]
    assert info.int8["quantization"]["weights"] == "QInt8, per channel"

    # A really worse candidate, gated with the default tolerance: one step from the base encoder (an
    # untrained head) against the model in service.
    from include.workflows.training.sources import base_model_dir

    second = train_run(
        db,
        start_run(db).run_id,
        tmp_path / "b2",
        current_bundle=info.root,
        config=replace(TINY, max_steps=1),
        init_model_dir=base_model_dir(),
    )
    assert first.metrics["new"]["f1"] > second.metrics["new"]["f1"], second.metrics["new"]
    assert not second.promoted and second.bundle is None and not (tmp_path / "b2").exists()
    # Like with like: both scored through their exported ONNX by the serving client, so the model in
    # service scores tonight exactly what it scored as last night's candidate.
    assert first.metrics["scored_by"] == second.metrics["scored_by"] == "onnxruntime"
    assert second.metrics["current"] == first.metrics["new"]
    with db.cursor() as cur:
        cur.execute("SELECT version, status, bundle_uri IS NOT NULL FROM model_versions ORDER BY id")
        versions = cur.fetchall()
    assert versions[0] == (first.model_version, "candidate", True)
    assert versions[1][1:] == ("rejected", False)
    assert [r[1:] for r in run_rows(db)] == [
        ("succeeded", first.model_version, "true"),
        ("succeeded", second.model_version, "false"),
    ]


def stored_manifest(db, run_id: int) -> tuple[str, list[tuple[int, str]]]:
    with db.cursor() as cur:
        cur.execute("SELECT manifest_sha256 FROM training_runs WHERE id = %s", (run_id,))
        (sha,) = cur.fetchone()
        cur.execute(
            """SELECT record_version_id, split FROM training_manifest WHERE training_run_id = %s
               ORDER BY record_version_id""",
            (run_id,),
        )
        return sha, cur.fetchall()


def test_the_train_step_reads_the_manifest_stored_at_start_even_when_gold_arrives(db, tmp_path) -> None:
    torch.set_num_threads(1)
    seed_gold(db, 40)
    started = start_run(db, min_train=8)
    assert started.status == "running"
    sha, rows = stored_manifest(db, started.run_id)
    seed_gold(db, 30, seed=6, first=40)
    assert select_gold(db).counts["gold"] == 70 and select_gold(db).manifest_sha256 != sha

    outcome = train_run(db, started.run_id, tmp_path / "b", config=replace(TINY, max_steps=2))

    assert outcome.run_id == started.run_id and outcome.promoted
    manifest = read_bundle(tmp_path / "b").manifest
    assert (manifest["sha256"], manifest["training_run_id"]) == (sha, started.run_id)
    assert manifest["counts"]["gold"] == len(rows) == 40
    assert stored_manifest(db, started.run_id) == (sha, rows)
    assert run_rows(db) == [(started.run_id, "succeeded", outcome.model_version, "true")]
    with pytest.raises(TrainingRunError, match=f"training run {started.run_id} is succeeded"):
        train_run(db, started.run_id, tmp_path / "again", config=TINY)


def test_a_skipped_run_is_not_trained_and_a_changed_manifest_is_caught(db, tmp_path) -> None:
    seed_gold(db, 10)
    skipped = start_run(db, min_train=20)
    assert skipped.status == "skipped" and "< min_train 20" in skipped.reason
    with pytest.raises(TrainingRunError, match=f"training run {skipped.run_id} is skipped"):
        train_run(db, skipped.run_id, tmp_path / "b", config=TINY)
    started = start_run(db, min_train=1)
    assert len(run_gold(db, started.run_id).examples) == 10
    with transaction(db), db.cursor() as cur:
        cur.execute(
            """DELETE FROM training_manifest WHERE training_run_id = %s
               AND record_version_id = (SELECT min(record_version_id) FROM training_manifest
                                        WHERE training_run_id = %s)""",
            (started.run_id, started.run_id),
        )
    with pytest.raises(TrainingRunError, match="stored manifest hashes to"):
        run_gold(db, started.run_id)


def test_a_run_continues_from_the_weights_of_the_model_in_service(db, tmp_path) -> None:
    from safetensors.torch import load_file

    from include.workflows.training.sources import base_model_dir

    torch.set_num_threads(1)
    seed_gold(db, 60)
    first = train_run(db, start_run(db, min_train=20).run_id, tmp_path / "b1", config=TINY)
    served = read_bundle(tmp_path / "b1")
    seed_gold(db, 10, seed=9, first=60)
    # At learning rate 0 the candidate keeps exactly the weights it started from.
    second = train_run(
        db,
        start_run(db, min_train=20).run_id,
        tmp_path / "b2",
        current_bundle=served.root,
        config=replace(TINY, learning_rate=0.0),
    )
    assert second.promoted, second.reason
    assert second.metrics["training"]["continued_from"] == first.model_version
    assert read_bundle(tmp_path / "b2").manifest["continued_from"] == first.model_version
    start = load_file(served.weights_dir / "model.safetensors")
    after = load_file(tmp_path / "b2" / "model" / "model.safetensors")
    assert start.keys() == after.keys() and all(torch.equal(start[k], after[k]) for k in start)
    # Unchanged weights lose no label, so no blend toward the served model is needed.
    assert second.metrics["training"]["blend"]["alpha"] == 1.0
    assert list(second.metrics["training"]["blend"]["largest_drop"]) == ["1.0"]
    base = load_file(base_model_dir() / "model.safetensors")
    name = next(k for k in start if k.endswith("encoder.layer.0.attention.self.query.weight"))
    assert not torch.equal(start[name], base[name.removeprefix("bert.")]), "the served model was trained"
    # Both held-out sets are scored for both models, per label, and stored with the run.
    with db.cursor() as cur:
        cur.execute("SELECT detail -> 'scores' FROM training_runs WHERE id = %s", (second.run_id,))
        (scores,) = cur.fetchone()
    db.commit()
    assert set(scores) == {"sme_heldout", "bootstrap_heldout"}
    assert scores["bootstrap_heldout"] and all(
        set(cell) == {"candidate", "in_service"} for cell in scores["bootstrap_heldout"].values()
    )


def test_a_served_bundle_without_weights_fails_the_run_with_the_reason(db, tmp_path) -> None:
    from tests.helpers.bundle import placeholder_bundle

    seed_gold(db, 30)
    old = placeholder_bundle(tmp_path / "old", "old-0")
    (old / "model" / "model.safetensors").unlink()  # as a bundle written before bundles carried weights
    started = start_run(db, min_train=8)
    with pytest.raises(Exception, match=r"model\.safetensors: missing"):
        train_run(db, started.run_id, tmp_path / "b", current_bundle=old, config=TINY)
    assert run_rows(db) == [(started.run_id, "failed", None, None)]
