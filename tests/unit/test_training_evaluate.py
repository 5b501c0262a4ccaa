"""Entity-level scoring per label, and the promotion gate."""

from __future__ import annotations

import pytest

from include.training.evaluate import promotion_gate, score


def test_first_model_always_passes() -> None:
    ok, reason = promotion_gate(0.01, None)
    assert ok and "first model" in reason


@pytest.mark.parametrize(
    ("new", "current", "tolerance", "expected"),
    [(0.80, 0.80, 0.0, True), (0.81, 0.80, 0.0, True), (0.79, 0.80, 0.0, False), (0.79, 0.80, 0.02, True)],
)
def test_gate_compares_with_the_model_in_service(new, current, tolerance, expected) -> None:
    ok, reason = promotion_gate(new, current, tolerance)
    assert ok is expected
    assert f"{new:.4f}" in reason and f"{current:.4f}" in reason


def test_scores_are_entity_level_and_per_label() -> None:
    gold = [["B-PERSON", "I-PERSON", "O", "B-ORG"], ["B-DATE", "O"]]
    predicted = [["B-PERSON", "O", "O", "B-ORG"], ["B-DATE", "O"]]
    metrics = score(gold, predicted)
    assert metrics.entities == 3 and metrics.examples == 2
    assert metrics.precision == pytest.approx(2 / 3) and metrics.recall == pytest.approx(2 / 3)
    assert metrics.per_label["PERSON"].f1 == 0.0
    assert metrics.per_label["ORG"].f1 == 1.0 and metrics.per_label["DATE"].support == 1
