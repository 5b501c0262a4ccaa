"""bench/sme_loop.py scores the model in service on the labels the corpus annotates."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.sme_loop import (
    bars,
    check_label_map,
    corpus_files,
    corpus_scores,
    document_sha256,
    fixed_test_sample,
    parse_label_map,
    resampled_gain,
    runnable_steps,
    tag_types,
)
from include.core.spans import Span
from include.workflows.training.dataset import LabeledText, read_conll_documents


def _span(start: int, end: int, label: str) -> Span:
    return Span(start=start, end=end, label=label, text="x" * (end - start))


def test_predictions_of_labels_the_corpus_lacks_are_left_out_of_its_score() -> None:
    gold = [[_span(0, 4, "PERSON")], [_span(3, 9, "LOCATION")]]
    predicted = [[_span(0, 4, "PERSON"), _span(10, 20, "EMAIL")], [_span(3, 9, "ORG"), _span(12, 14, "DATE")]]
    labels = set(parse_label_map("person=PERSON,location=LOCATION,corporation=ORG").values())

    on_corpus, on_all = corpus_scores(gold, predicted, labels)

    assert (on_corpus.precision, on_corpus.recall) == (0.5, 0.5)  # ORG is a corpus label: a real miss
    assert (on_all.precision, on_all.recall) == (0.25, 0.5)
    assert set(on_corpus.per_label) == {"PERSON", "LOCATION", "ORG"}
    assert "EMAIL" in on_all.per_label


def test_a_label_map_that_would_teach_nothing_is_refused_before_any_training(tmp_path) -> None:
    corpus = tmp_path / "train.txt"
    corpus.write_text("-DOCSTART- -X- O O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\nJohn NNP B-NP B-PER\n")
    types = tag_types(read_conll_documents(corpus))
    assert types == {"ORG": 1, "PER": 1}
    labels = ["PERSON", "ORG", "LOCATION"]

    check_label_map(parse_label_map("PER=PERSON,ORG=ORG"), types, labels)  # fits: no error
    with pytest.raises(
        SystemExit, match=r"never uses: B-PER.*The corpus tags \(tokens each\) ORG \(1\), PER \(1\)"
    ):
        check_label_map(parse_label_map("B-PER=PERSON"), types, labels)
    with pytest.raises(SystemExit, match="labels the model does not have: MISC"):
        check_label_map(parse_label_map("PER=PERSON,ORG=MISC"), types, labels)
    with pytest.raises(SystemExit, match="Every tag of the corpus is O"):  # an IO-scheme file
        check_label_map(parse_label_map("PER=PERSON"), Counter(), labels)


def test_a_corpus_folder_without_train_and_test_files_is_refused_naming_what_it_holds(tmp_path) -> None:
    for name in ("eng.train", "eng.testb", "train.txt"):
        (tmp_path / name).write_text("EU B-ORG\n")
    with pytest.raises(SystemExit, match=r"no test.txt \(it holds eng.testb, eng.train, train.txt\)"):
        corpus_files(tmp_path)
    with pytest.raises(SystemExit, match=r"no train.txt or test.txt \(no such folder"):
        corpus_files(tmp_path / "absent")
    (tmp_path / "test.txt").write_text("EU B-ORG\n")
    assert corpus_files(tmp_path) == (tmp_path / "train.txt", tmp_path / "test.txt")


def test_a_documents_stand_in_hash_tells_documents_apart_by_place_and_text() -> None:
    texts = ["EU rejects German call", "Peter Blackburn"]
    assert document_sha256(3, texts) == document_sha256(3, list(texts))
    assert document_sha256(3, texts) != document_sha256(4, texts)
    assert document_sha256(3, texts) != document_sha256(3, texts[:1])


def test_steps_past_a_small_corpus_are_cut_to_all_of_it_once() -> None:
    assert runnable_steps([50, 100, 200, 400, 800], 5000) == [50, 100, 200, 400, 800]
    assert runnable_steps([50, 100, 200, 400, 800], 350) == [50, 100, 200, 350]
    assert runnable_steps([400, 100, 100], 400) == [100, 400]
    assert runnable_steps([50, 100], 30) == [30]


def _step(gold: int, before: float, after: float, promoted: bool = True, seconds: float = 60.0) -> dict:
    return {
        "gold": gold,
        "in_service_f1_before": before,
        "in_service_f1_after": after,
        "promoted": promoted,
        "run_seconds": seconds,
    }


def test_the_bars_summary_names_each_bar_a_run_missed() -> None:
    run = [_step(50, 0.20, 0.25), _step(100, 0.25, 0.31), _step(200, 0.31, 0.33), _step(400, 0.33, 0.36)]
    met = bars(0.20, run)
    assert met["all_met"] is True
    assert met["gain_over_bootstrap"]["100"] == {"gain": 0.11, "bar": 0.10, "met": True}

    dip = [*run[:2], _step(200, 0.31, 0.30), _step(400, 0.30, 0.34, seconds=320.0)]
    missed = bars(0.20, dip)
    assert missed["all_met"] is False
    assert missed["not_rising_at"] == [200]
    assert missed["gain_over_bootstrap"]["400"]["met"] is False  # +0.14
    assert missed["run_at_400_under_5_min"] is False

    refused = [run[0], _step(100, 0.25, 0.25, promoted=False), *run[2:]]
    assert bars(0.20, refused)["refused_at"] == [100]
    assert bars(0.20, run[:2])["all_met"] is False  # no 400-gold step: that bar is not shown met


def test_the_resampled_gain_brackets_the_gain_and_says_how_sure_the_sample_is_of_a_bar() -> None:
    gold = [[_span(0, 4, "PERSON")] for _ in range(200)]
    before: list[list[Span]] = [[] for _ in range(200)]
    # the model after finds 30 of the 200 entities (F1 0.261 over 0), and tags one text EMAIL (not scored)
    after = [[_span(0, 4, "PERSON")] if i < 30 else [] for i in range(200)]
    after[199] = [_span(5, 9, "EMAIL")]
    gain = 2 * 30 / (30 + 200)

    resampled = resampled_gain(gold, before, after, {"PERSON"}, thresholds=(0.10, gain, 0.40))

    low, high = resampled["ci95"]
    assert low < gain < high and high - low < 0.15
    assert resampled["p_at_least"]["0.1"] == 1.0 and resampled["p_at_least"]["0.4"] == 0.0
    assert 0.3 < resampled["p_at_least"][str(gain)] < 0.7  # a bar at the gain itself: a coin toss
    assert resampled_gain(gold, after, after, {"PERSON"})["ci95"] == [0.0, 0.0]


def test_the_bars_summary_carries_the_resampled_interval_of_a_bar_step() -> None:
    run = [_step(100, 0.25, 0.31), _step(400, 0.31, 0.36)]
    run[0]["gain_resampled"] = {"ci95": [0.07, 0.15], "p_at_least": {"0.1": 0.62, "0.15": 0.03}}
    summary = bars(0.20, run)["gain_over_bootstrap"]
    assert summary["100"] == {
        "gain": 0.11,
        "bar": 0.10,
        "met": True,
        "ci95": [0.07, 0.15],
        "p_at_least_bar": 0.62,
    }
    assert "ci95" not in summary["400"]


def test_every_order_is_scored_on_the_same_test_sentences() -> None:
    sentences = [LabeledText(text=f"tweet {i}", spans=()) for i in range(50)]

    assert fixed_test_sample(sentences, 0) == sentences
    assert fixed_test_sample(sentences, 80) == sentences
    drawn = fixed_test_sample(sentences, 20)
    assert len(drawn) == len({s.text for s in drawn}) == 20
    assert fixed_test_sample(sentences, 20) == drawn  # no --seed reaches the draw
