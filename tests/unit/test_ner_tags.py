"""tags_to_spans: BIO decoding over sub-word tokens into exact character spans; task_score ordering."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from include.adapters.ner.tags import tags_to_spans
from include.core.labels import bio_tags
from include.core.spans import Span, task_score
from tests.helpers.bundle import base_encoder_dir

TAGS = bio_tags(["PERSON", "ORG", "LOCATION"])
OUT, B_PER, I_PER, B_ORG, I_ORG, B_LOC, I_LOC = range(7)


def one_hot(tag_ids: list[int], p: float = 0.9) -> np.ndarray:
    probs = np.full((len(tag_ids), len(TAGS)), (1 - p) / (len(TAGS) - 1), dtype=np.float32)
    probs[np.arange(len(tag_ids)), tag_ids] = p
    return probs


def decode(text: str, offsets: list[tuple[int, int]], tag_ids: list[int], **kwargs) -> list[tuple]:
    spans = tags_to_spans(text, offsets, tag_ids, one_hot(tag_ids), TAGS, **kwargs)
    for span in spans:
        assert text[span.start : span.end] == span.text
    return [(s.text, s.label) for s in spans]


@functools.cache
def tokenizer():
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(base_encoder_dir() / "tokenizer.json"))


def encode(text: str) -> tuple[list[tuple[int, int]], list[int | None]]:
    """Offsets and word ids with [CLS]/[SEP], as the model sees them."""
    enc = tokenizer().encode(text)
    return enc.offsets, enc.word_ids


def test_b_then_i_merge_into_one_span():
    text = "John Smith works at Acme Corp."
    offsets = [(0, 0), (0, 4), (5, 10), (11, 16), (17, 19), (20, 24), (25, 29), (29, 30), (0, 0)]
    tags = [OUT, B_PER, I_PER, OUT, OUT, B_ORG, I_ORG, OUT, OUT]
    assert decode(text, offsets, tags) == [("John Smith", "PERSON"), ("Acme Corp", "ORG")]


def test_continuation_pieces_join_their_word_entity():
    text = "Washingtonians met"
    offsets, word_ids = encode(text)
    assert len(offsets) > 4, "the word should split into sub-word pieces"
    tags = [OUT, B_LOC] + [OUT] * (len(offsets) - 4) + [OUT, OUT]
    assert decode(text, offsets, tags, word_ids=word_ids) == [("Washingtonians", "LOCATION")]
    assert decode(text, offsets, tags) == [("Washingtonians", "LOCATION")], "word ids inferred from offsets"


def test_continuation_piece_tag_does_not_split_a_word():
    text = "Washingtonians"
    offsets, word_ids = encode(text)
    tags = [OUT, B_LOC] + [B_ORG] * (len(offsets) - 3) + [OUT]
    assert decode(text, offsets, tags, word_ids=word_ids) == [("Washingtonians", "LOCATION")]


def test_i_without_b_starts_an_entity():
    text = "met Acme Corp today"
    offsets = [(0, 3), (4, 8), (9, 13), (14, 19)]
    assert decode(text, offsets, [OUT, I_ORG, I_ORG, OUT]) == [("Acme Corp", "ORG")]


def test_i_of_another_label_starts_a_new_entity():
    text = "Acme Paris"
    assert decode(text, [(0, 4), (5, 10)], [B_ORG, I_LOC]) == [("Acme", "ORG"), ("Paris", "LOCATION")]


def test_b_after_b_starts_a_new_entity():
    text = "Ann Bob"
    assert decode(text, [(0, 3), (4, 7)], [B_PER, B_PER]) == [("Ann", "PERSON"), ("Bob", "PERSON")]


def test_special_tokens_are_ignored_even_when_tagged():
    text = "Ann"
    assert decode(text, [(0, 0), (0, 3), (0, 0), (0, 0)], [B_ORG, B_PER, I_PER, B_LOC]) == [("Ann", "PERSON")]


def test_surrounding_whitespace_is_stripped():
    text = "  Ann \n Lee  "
    offsets = [(0, 5), (5, 12)]
    spans = tags_to_spans(text, offsets, [B_PER, I_PER], one_hot([B_PER, I_PER]), TAGS, word_ids=[0, 1])
    assert [(s.start, s.end, s.text) for s in spans] == [(2, 11, "Ann \n Lee")]


def test_whitespace_only_entity_gives_no_span():
    assert decode("a   b", [(1, 4)], [B_PER], word_ids=[0]) == []


def test_unicode_and_emoji_offsets_are_exact():
    text = "Zoë 🎉 met Ümit Çelik at Café Noir 🚀 in São Paulo"
    offsets, word_ids = encode(text)
    tags = [B_PER if i % 3 == 0 else I_PER for i in range(len(offsets))]
    spans = tags_to_spans(text, offsets, tags, one_hot(tags), TAGS, word_ids=word_ids)
    assert spans
    assert "".join(s.text for s in spans).replace(" ", "") == text.replace(" ", "")
    for s in spans:
        assert text[s.start : s.end] == s.text


def test_score_is_mean_of_chosen_tag_probabilities():
    probs = np.array([[0.1, 0.8, 0.1, 0, 0, 0, 0], [0.3, 0.0, 0.6, 0, 0, 0, 0.1]], dtype=np.float32)
    (span,) = tags_to_spans("Ann Lee", [(0, 3), (4, 7)], [B_PER, I_PER], probs, TAGS)
    assert span.score == pytest.approx(0.7)


def test_task_score_is_the_least_confident_span_and_one_without_spans():
    spans = [
        Span(start=0, end=1, label="X", text="a", score=0.9),
        Span(start=2, end=3, label="X", text="b", score=0.4),
    ]
    assert task_score(spans) == pytest.approx(0.4)
    assert task_score([]) == 1.0


PIECES = [*"abcXYZ019 .,-@\n\téüß漢字🎉", "👍🏽", "\u00a0", "\u200b", "e\u0301", "Washington", "  "]
texts = st.lists(st.sampled_from(PIECES), max_size=25).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, seed=st.integers(0, 2**16), infer_words=st.booleans())
def test_every_span_is_an_exact_trimmed_slice_of_the_text(text: str, seed: int, infer_words: bool):
    offsets, word_ids = encode(text)
    rng = np.random.default_rng(seed)
    tag_ids = rng.integers(0, len(TAGS), size=len(offsets))
    probs = rng.dirichlet(np.ones(len(TAGS)), size=len(offsets)).astype(np.float32)
    spans = tags_to_spans(text, offsets, tag_ids, probs, TAGS, word_ids=None if infer_words else word_ids)
    previous_end = 0
    for span in spans:
        assert text[span.start : span.end] == span.text
        assert span.text == span.text.strip()
        assert span.start >= previous_end, "spans are ordered and never overlap"
        assert 0.0 <= span.score <= 1.0
        previous_end = span.end


def test_constrained_decode_never_opens_with_i_and_keeps_valid_argmax() -> None:
    from include.adapters.ner.tags import constrained_tag_ids

    # Words: Ann | Lee | paid. Argmax says O I-PER I-PER (invalid); B-PER is close on the first word.
    probs = np.array(
        [
            [0.50, 0.45, 0.01, 0.01, 0.01, 0.01, 0.01],
            [0.05, 0.05, 0.80, 0.05, 0.03, 0.01, 0.01],
            [0.90, 0.02, 0.02, 0.02, 0.02, 0.01, 0.01],
        ],
        dtype=np.float32,
    )
    assert list(constrained_tag_ids(probs, [0, 1, 2], TAGS)) == [B_PER, I_PER, OUT]
    valid = one_hot([B_ORG, I_ORG, OUT, B_LOC])
    assert list(constrained_tag_ids(valid, [0, 1, 2, 3], TAGS)) == [B_ORG, I_ORG, OUT, B_LOC]


def test_constrained_decode_chooses_per_word_and_leaves_inner_pieces() -> None:
    from include.adapters.ner.tags import constrained_tag_ids

    # Tokens: [Wash, ##ington] [Post]; the inner piece's own argmax does not matter.
    tag_ids = constrained_tag_ids(one_hot([I_ORG, B_PER, I_ORG]), [0, 0, 1], TAGS)
    assert tag_ids[0] in (B_ORG, OUT) and tag_ids[0] != I_ORG and tag_ids[1] == B_PER
    assert list(constrained_tag_ids(one_hot([]).reshape(0, len(TAGS)), [], TAGS)) == []
