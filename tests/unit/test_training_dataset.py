"""Spans ↔ token labels for the fast tokenizer, the cased tokenizer, WNUT-17 reading and Faker gold."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer

from include.labels import DEFAULT_LABELS, bio_tags
from include.spans import Span
from include.training import casing
from include.training.dataset import (
    IGNORE,
    WNUT17_TO_PROJECT,
    LabeledText,
    alignment_problems,
    conll_to_labeled_text,
    encode,
    load_wnut17,
    read_conll,
)
from include.training.sources import base_model_dir, wnut17_dir
from include.training.synthetic import synthetic_gold

TAGS = bio_tags(DEFAULT_LABELS)
TAG_INDEX = {t: i for i, t in enumerate(TAGS)}
TEXT = "Alice Smithson paid $120.50 to Contoso Corp on 2024-03-01."


def span(text: str, part: str, label: str) -> Span:
    start = text.index(part)
    return Span(start=start, end=start + len(part), label=label, text=part)


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(base_model_dir())


@pytest.fixture(scope="module")
def cased(tokenizer):
    return casing.cased_tokenizer(tokenizer)


def example() -> LabeledText:
    spans = (
        span(TEXT, "Alice Smithson", "PERSON"),
        span(TEXT, "$120.50", "MONEY"),
        span(TEXT, "Contoso Corp", "ORG"),
        span(TEXT, "2024-03-01", "DATE"),
    )
    return LabeledText(TEXT, spans)


def test_first_subtoken_carries_the_tag_and_the_rest_are_ignored(tokenizer) -> None:
    out = encode(tokenizer, example(), TAG_INDEX, max_length=64)
    tokens = tokenizer.convert_ids_to_tokens(out.input_ids)
    labelled = {tok: TAGS[lab] for tok, lab in zip(tokens, out.labels, strict=True) if lab != IGNORE}
    assert labelled["alice"] == "B-PERSON"
    assert labelled["smith"] == "I-PERSON"
    assert "##son" in tokens and "##son" not in labelled
    assert labelled["$"] == "B-MONEY" and labelled["con"] == "B-ORG" and labelled["corp"] == "I-ORG"
    assert "##tos" in tokens and "##tos" not in labelled
    assert out.labels[0] == IGNORE and out.labels[-1] == IGNORE  # [CLS], [SEP]
    assert tokens.count("-") == 2 and labelled["paid"] == "O"
    assert out.problems == [] and out.lost_spans == 0


def test_every_word_has_exactly_one_labelled_token(tokenizer) -> None:
    out = encode(tokenizer, example(), TAG_INDEX, max_length=64)
    assert sum(label != IGNORE for label in out.labels) == len(out.words.ranges) == len(out.word_tags)
    for first, tag in zip(out.words.first_token, out.word_tags, strict=True):
        assert TAGS[out.labels[first]] == tag


def test_round_trip_gives_back_the_spans(tokenizer, cased) -> None:
    for tok in (tokenizer, cased):
        assert alignment_problems(tok, example(), DEFAULT_LABELS) == []


def test_span_edge_inside_a_word_is_reported(tokenizer) -> None:
    text = "Paid USD120 today"
    bad = LabeledText(text, (Span(start=8, end=11, label="MONEY", text="120"),))
    problems = alignment_problems(tokenizer, bad, DEFAULT_LABELS)
    assert len(problems) == 1 and "word edges" in problems[0]


def test_truncation_counts_lost_spans_and_keeps_the_sep(tokenizer) -> None:
    out = encode(tokenizer, example(), TAG_INDEX, max_length=8)
    assert len(out.input_ids) == len(out.labels) == 8
    assert out.input_ids[-1] == tokenizer.sep_token_id and out.labels[-1] == IGNORE
    assert out.lost_spans == 3  # only the person fits in 6 word pieces
    assert len(out.word_tags) == len(out.words.ranges) > out.visible_words


def test_unknown_label_is_an_error_naming_the_tag(tokenizer) -> None:
    bad = LabeledText("Ada went home", (Span(start=0, end=3, label="HERO", text="Ada"),), source="x#1")
    with pytest.raises(KeyError, match="B-HERO"):
        encode(tokenizer, bad, TAG_INDEX, max_length=32)


def test_cased_tokenizer_keeps_the_pieces_and_adds_shape(tokenizer, cased) -> None:
    size = len(tokenizer)
    assert len(cased) == casing.SHAPES * size
    lower = "alice paid acme corp in london"
    assert cased(lower)["input_ids"] == tokenizer(lower)["input_ids"]
    ids = cased("Alice paid ACME Corp in LONDON")["input_ids"]
    assert [i % size for i in ids] == tokenizer("alice paid acme corp in london")["input_ids"]
    shapes = [i // size for i in ids[1:-1]]
    assert shapes == [1, 0, 2, 2, 1, 0, 2]  # ACME is AC + ##ME


def test_cased_tokenizer_survives_save_and_load(cased, tmp_path: Path) -> None:
    cased.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    text = "Contact Bob at BOB@EXAMPLE.COM"
    assert again(text)["input_ids"] == cased(text)["input_ids"]
    assert (
        again(text, return_offsets_mapping=True)["offset_mapping"]
        == cased(text, return_offsets_mapping=True)["offset_mapping"]
    )


def test_conll_tags_become_spans_with_mapped_labels() -> None:
    sentence = [
        ("Saw", "O"),
        ("Taylor", "B-person"),
        ("Swift", "I-person"),
        ("at", "O"),
        ("Madison", "B-location"),
        ("Square", "I-location"),
        ("with", "O"),
        ("Google", "B-corporation"),
        ("and", "O"),
        ("the", "O"),
        ("Beatles", "B-group"),
        ("singing", "O"),
        ("Hey", "B-creative-work"),
        ("Jude", "I-creative-work"),
    ]
    out = conll_to_labeled_text(sentence, WNUT17_TO_PROJECT)
    assert out.text.startswith("Saw Taylor Swift at")
    assert [(s.text, s.label) for s in out.spans] == [
        ("Taylor Swift", "PERSON"),
        ("Madison Square", "LOCATION"),
        ("Google", "ORG"),
        ("Beatles", "ORG"),
    ]
    native = conll_to_labeled_text(sentence, None)
    assert native.spans[-1].label == "creative-work" and native.spans[-1].text == "Hey Jude"


def test_read_conll_treats_whitespace_lines_as_breaks(tmp_path: Path) -> None:
    path = tmp_path / "x.conll"
    path.write_text("a\tO\nb\tB-person\n\t\nc\tO\n\nd\tO\n")
    assert read_conll(path) == [[("a", "O"), ("b", "B-person")], [("c", "O")], [("d", "O")]]


def test_wnut17_slice_loads_with_spans_matching_text(tokenizer) -> None:
    texts = load_wnut17("train", limit=40)
    assert len(texts) == 40
    assert texts[0].spans[0].text == "Empire State Building" and texts[0].spans[0].label == "LOCATION"
    for t in texts:
        for s in t.spans:
            assert t.text[s.start : s.end] == s.text and s.label in DEFAULT_LABELS
        assert alignment_problems(tokenizer, t, DEFAULT_LABELS) == []


def test_synthetic_gold_is_deterministic_aligned_and_covers_the_new_labels(tokenizer) -> None:
    texts = synthetic_gold(120, seed=3)
    assert texts == synthetic_gold(120, seed=3)
    labels = {s.label for t in texts for s in t.spans}
    assert {"DATE", "MONEY", "EMAIL", "PHONE", "PERSON", "ORG", "LOCATION"} <= labels
    for t in texts:
        assert all(t.text[s.start : s.end] == s.text for s in t.spans)
        assert alignment_problems(tokenizer, t, DEFAULT_LABELS) == []
