"""Entity-level scoring per label (exact span match, checked against seqeval's conlleval mode), the gate."""

from __future__ import annotations

import random

import pytest
from seqeval.metrics import classification_report

from include.core.spans import Span
from include.workflows.training.dataset import conll_to_labeled_text
from include.workflows.training.evaluate import promotion_gate, regression_probability, score_spans


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


def test_a_lower_f1_on_a_handful_of_texts_is_noise_on_hundreds_a_regression() -> None:
    def case(texts: int, candidate_misses: int, served_misses: int) -> float:
        gold = [[s(0, 4, "PERSON")] for _ in range(texts)]
        candidate = [[] if i < candidate_misses else g for i, g in enumerate(gold)]
        served = [[] if i >= texts - served_misses else g for i, g in enumerate(gold)]
        return regression_probability(gold, candidate, served, tolerance=0.01)

    few = case(9, 3, 2)  # 0.80 vs 0.857 on 9 texts
    many = case(900, 300, 200)  # the same rates on 900
    assert few < 0.9 < many
    ok, reason = promotion_gate(0.80, 0.857, 0.01, regression_p=few)
    assert ok and "within the held-out set's noise" in reason
    ok, reason = promotion_gate(0.80, 0.857, 0.01, regression_p=many)
    assert not ok and "paired resamples" in reason
    assert regression_probability([], [], []) == 0.0
    same = [[s(0, 4, "PERSON")], [s(2, 5, "ORG")]]
    assert regression_probability(same, same, same) == 0.0, "equal models never regress"


def s(start: int, end: int, label: str) -> Span:
    return Span(start=start, end=end, label=label, text="x" * (end - start))


def test_scores_are_exact_span_matches_per_label() -> None:
    gold = [[s(0, 10, "PERSON"), s(15, 19, "ORG")], [s(0, 4, "DATE")]]
    predicted = [[s(0, 5, "PERSON"), s(15, 19, "ORG")], [s(0, 4, "DATE"), s(6, 8, "MONEY")]]
    metrics = score_spans(gold, predicted)
    assert metrics.entities == 3 and metrics.examples == 2
    assert metrics.precision == pytest.approx(2 / 4) and metrics.recall == pytest.approx(2 / 3)
    assert metrics.per_label["PERSON"].f1 == 0.0 and metrics.per_label["MONEY"].support == 0
    assert metrics.per_label["ORG"].f1 == 1.0 and metrics.per_label["DATE"].support == 1


def test_span_scores_equal_seqeval_conlleval_on_corpus_tokens() -> None:
    rng = random.Random(5)
    tags = ["O", "B-person", "I-person", "B-location", "I-location", "I-group"]
    gold_tags, pred_tags, gold_spans, pred_spans = [], [], [], []
    for _ in range(300):
        n = rng.randint(1, 12)
        tokens = [f"w{i}" for i in range(n)]
        g = [rng.choice(tags) for _ in tokens]
        p = [t if rng.random() < 0.6 else rng.choice(tags) for t in g]
        gold_tags.append(g)
        pred_tags.append(p)
        gold_spans.append(conll_to_labeled_text(list(zip(tokens, g, strict=True)), None).spans)
        pred_spans.append(conll_to_labeled_text(list(zip(tokens, p, strict=True)), None).spans)
    ours = score_spans(gold_spans, pred_spans)
    report = classification_report(gold_tags, pred_tags, output_dict=True, zero_division=0)
    assert ours.f1 == pytest.approx(report["micro avg"]["f1-score"])
    assert ours.precision == pytest.approx(report["micro avg"]["precision"])
    for label in ("person", "location", "group"):
        assert ours.per_label[label].f1 == pytest.approx(report[label]["f1-score"])
        assert ours.per_label[label].support == report[label]["support"]
