"""The quality views on a seeded database: drift per label, learning curve, timeline, uncertain queue."""

from __future__ import annotations

import pytest

from include.adapters.db import quality
from include.adapters.db.connection import transaction
from tests.helpers.quality_seed import MODEL, seed_quality


def test_drift_per_label_counts_each_kind_of_edit(db) -> None:
    seed_quality(db, "drift")
    with transaction(db):
        rows = {r.label: r for r in quality.drift(db) if r.model_version == MODEL}
    person, org, location = rows["PERSON"], rows["ORG"], rows["LOCATION"]
    assert (person.predicted, person.annotated, person.exact, person.rebounded) == (2, 2, 1, 1)
    assert person.f1 == pytest.approx(0.5) and person.overlap_f1 == pytest.approx(1.0)
    assert (org.precision, org.recall) == (pytest.approx(1.0), pytest.approx(0.5))
    assert org.f1 == pytest.approx(2 / 3)
    assert (location.exact, location.added, location.removed, location.relabelled) == (0, 1, 1, 1)
    assert location.f1 == pytest.approx(0.0)
    assert person.tasks == 2


def test_learning_curve_timeline_and_uncertain_queue(db) -> None:
    seeded = seed_quality(db, "curve")
    with transaction(db):
        curve = [p for p in quality.learning_curve(db) if (p.model_version or "").startswith("ner-curve-")]
        runs = {c.training_run_id for c in curve}
        labels = [p for p in quality.label_curve(db) if p.training_run_id in runs]
        timeline = {t.model_version: t for t in quality.model_timeline(db)}
        queue = quality.uncertain_queue(db)
    assert [p.gold for p in curve] == [40, 140]
    assert curve[1].f1_per_100_gold == pytest.approx(0.2) and curve[0].f1_per_100_gold is None
    assert curve[1].in_service_f1 == pytest.approx(0.6)
    assert [p.f1_per_100_gold for p in labels if p.label == "PERSON"][1] == pytest.approx(0.2)
    assert timeline["ner-curve-2"].status == "serving" and timeline["ner-curve-2"].f1 == pytest.approx(0.7)
    mine = [q for q in queue if q.record_id == seeded.uncertain_record_id]
    assert mine and mine[0].score == pytest.approx(0.41)
    annotated = {r.id for r in seeded.records[:2]}
    assert not annotated & {q.record_id for q in queue}, "annotated records leave the queue"
