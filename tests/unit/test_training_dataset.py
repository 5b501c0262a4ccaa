"""Spans ↔ unit labels for the fast tokenizer, the cased tokenizer, WNUT-17 reading and Faker gold."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer

from include.core.labels import DEFAULT_LABELS, bio_tags
from include.core.spans import Span
from include.workflows.training import casing
from include.workflows.training.dataset import (
    IGNORE,
    WNUT17_TO_PROJECT,
    LabeledText,
    alignment_problems,
    conll_to_labeled_text,
    encode,
    load_wnut17,
    read_conll,
    read_conll_documents,
)
from include.workflows.training.sources import base_model_dir, wnut17_dir
from include.workflows.training.synthetic import synthetic_gold

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


def test_span_edge_inside_a_unit_splits_it_and_is_counted(tokenizer) -> None:
    text = "Paid USD120 today"
    gold = LabeledText(text, (Span(start=8, end=11, label="MONEY", text="120"),))
    out = encode(tokenizer, gold, TAG_INDEX, max_length=32)
    assert out.problems == [] and out.forced_splits == 1
    assert [text[a:b] for a, b in out.words.ranges] == ["Paid", "USD", "120", "today"]
    assert out.word_tags == ["O", "O", "B-MONEY", "O"]


def test_a_span_on_characters_the_tokenizer_drops_is_reported(tokenizer) -> None:
    text = "Paid \u200b today"
    bad = LabeledText(text, (Span(start=5, end=6, label="MONEY", text="\u200b"),))
    problems = alignment_problems(tokenizer, bad, DEFAULT_LABELS)
    assert len(problems) == 1 and "unit edges" in problems[0]


def test_truncation_counts_lost_spans_and_keeps_the_sep(tokenizer) -> None:
    out = encode(tokenizer, example(), TAG_INDEX, max_length=8)
    assert len(out.input_ids) == len(out.labels) == 8
    assert out.input_ids[-1] == tokenizer.sep_token_id and out.labels[-1] == IGNORE
    assert out.lost_spans == 2  # 6 pieces: Alice Smith ##son paid $ 120 — the amount's unit starts in view
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


@pytest.mark.parametrize(
    ("scheme", "tags"),
    [
        ("IOB2", ["B-PER", "I-PER", "O", "B-LOC", "B-LOC"]),
        ("IOB1", ["I-PER", "I-PER", "O", "I-LOC", "B-LOC"]),
        ("BIOES", ["B-PER", "E-PER", "O", "S-LOC", "S-LOC"]),
        ("IO", ["PER", "PER", "O", "LOC", "LOC"]),
        ("BILOU", ["B-PER", "L-PER", "O", "U-LOC", "U-LOC"]),
    ],
)
def test_every_tag_scheme_gives_the_same_spans(tmp_path: Path, scheme: str, tags: list[str]) -> None:
    path = tmp_path / f"{scheme}.txt"
    tokens = ["Ada", "Lovelace", "in", "Paris", "London"]
    rows = [f"{token} NNP B-NP {tag}" for token, tag in zip(tokens, tags, strict=True)]
    path.write_text("-DOCSTART- -X- -X- O\n\n" + "\n".join(rows) + "\n\n-DOCSTART- -X- -X- O\n\nhi UH O O\n")
    documents = read_conll_documents(path)
    assert [len(d) for d in documents] == [1, 1]
    spans = [
        (s.text, s.label)
        for s in conll_to_labeled_text(documents[0][0], {"PER": "PERSON", "LOC": "LOCATION"}).spans
    ]
    # IO cannot tell two adjacent names of one type apart: they are one span there
    expected = [("Ada Lovelace", "PERSON"), ("Paris", "LOCATION"), ("London", "LOCATION")]
    assert spans == (
        [("Ada Lovelace", "PERSON"), ("Paris London", "LOCATION")] if scheme == "IO" else expected
    )


def test_bmes_middles_and_dashed_bare_tags_keep_their_whole_span(tmp_path: Path) -> None:
    path = tmp_path / "bmes.txt"
    path.write_text("New B-LOC\nSouth M-LOC\nWales E-LOC\nsang O\nHey creative-work\nJude creative-work\n")
    (sentence,) = (s for d in read_conll_documents(path) for s in d)
    spans = [(s.text, s.label) for s in conll_to_labeled_text(sentence, None).spans]
    assert spans == [("New South Wales", "LOC"), ("Hey Jude", "creative-work")]


def test_a_latin1_file_and_a_byte_order_mark_read_as_text(tmp_path: Path) -> None:
    latin = tmp_path / "esp.train"
    latin.write_bytes("-DOCSTART- O\n\nS\u00e3o B-LOC\nPaulo I-LOC\n".encode("latin-1"))
    bom = tmp_path / "bom.txt"
    text = "-DOCSTART- O\n\nS\u00e3o B-LOC\nPaulo I-LOC\n\n-DOCSTART- O\n\nhi O\n"
    bom.write_bytes(text.encode("utf-8-sig"))
    for path in (latin, bom):
        documents = read_conll_documents(path)
        assert documents[0] == [[("S\u00e3o", "B-LOC"), ("Paulo", "I-LOC")]]
        assert conll_to_labeled_text(documents[0][0], None).spans[0].text == "S\u00e3o Paulo"
    assert len(read_conll_documents(bom)) == 2  # the marked -DOCSTART- still starts a document


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


def round_trip_f1(tokenizer, texts: list[LabeledText], tag_index: dict[str, int] = TAG_INDEX) -> float:
    """Gold → encode → decode the unit labels → spans, scored against the gold (exact match)."""
    from include.workflows.training.dataset import decode_labels, training_units

    true_pos = gold_n = pred_n = 0
    for t in texts:
        out = encode(tokenizer, t, tag_index, max_length=100_000)
        ranges, _ = training_units(t)
        enc = tokenizer(
            [t.text[a:b] for a, b in ranges], is_split_into_words=True, return_offsets_mapping=True
        )
        offsets = [
            (ranges[w][0] + a, ranges[w][0] + b) if w is not None else (0, 0)
            for (a, b), w in zip(enc["offset_mapping"], enc.word_ids(), strict=True)
        ]
        decoded = {
            (s.start, s.end, s.label)
            for s in decode_labels(t.text, offsets, enc.word_ids(), out.labels, tag_index)
        }
        gold = {(s.start, s.end, s.label) for s in t.spans}
        true_pos, gold_n, pred_n = true_pos + len(gold & decoded), gold_n + len(gold), pred_n + len(decoded)
    return 2 * true_pos / (gold_n + pred_n)


@pytest.mark.parametrize("split", ["train", "test"])
def test_wnut17_gold_survives_encode_decode_exactly(tokenizer, split) -> None:
    texts = load_wnut17(split, label_map=None)
    labels = sorted({s.label for t in texts for s in t.spans})
    tag_index = {t: i for i, t in enumerate(bio_tags(tuple(labels)))}
    assert round_trip_f1(tokenizer, texts, tag_index) == 1.0


def test_wnut17_units_are_the_corpus_tokens(tokenizer) -> None:
    sentence = read_conll(wnut17_dir() / "wnut17train.conll")[0]
    t = conll_to_labeled_text(sentence, WNUT17_TO_PROJECT)
    out = encode(tokenizer, t, TAG_INDEX, max_length=512)
    assert [t.text[a:b] for a, b in out.words.ranges] == [token for token, _ in sentence]
    assert sum(label != IGNORE for label in out.labels) == len(sentence)


def test_generated_gold_survives_encode_decode_exactly(tokenizer, cased) -> None:
    texts = synthetic_gold(400, seed=11)
    assert round_trip_f1(tokenizer, texts) == 1.0
    assert round_trip_f1(cased, texts) == 1.0


def test_mentions_tags_and_urls_are_one_unit_with_one_label(tokenizer) -> None:
    text = "@jane_doe loved #NewYork see https://example.com/a?b=1 now"
    person = span(text, "@jane_doe", "PERSON")
    out = encode(tokenizer, LabeledText(text, (person,)), TAG_INDEX, max_length=64)
    units = [text[a:b] for a, b in out.words.ranges]
    assert units == ["@jane_doe", "loved", "#NewYork", "see", "https://example.com/a?b=1", "now"]
    assert sum(label != IGNORE for label in out.labels) == len(units)  # one label per unit, many pieces
    assert len(out.input_ids) - 2 > len(units)
    assert out.word_tags == ["B-PERSON", "O", "O", "O", "O", "O"]


def test_trailing_punctuation_is_its_own_unit(tokenizer) -> None:
    text = "Thanks, Moore, for the call."
    gold = LabeledText(text, (span(text, "Moore", "PERSON"),))
    out = encode(tokenizer, gold, TAG_INDEX, max_length=64)
    assert out.forced_splits == 0 and out.problems == []
    assert [text[a:b] for a, b in out.words.ranges][2:4] == ["Moore", ","]


def test_comment_lines_before_a_sentence_are_skipped_and_a_hash_token_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "multiconer.txt"
    path.write_text(
        "# id 4e5f0b domain=en\nAda _ _ B-PER\nsang _ _ O\n\n"
        "# text = # rocks\n# _ _ O\nrocks _ _ O\n\n"
        "# id 77aa domain=en\n#Paris _ _ B-LOC\n"
    )
    sentences = [s for d in read_conll_documents(path) for s in d]
    assert sentences == [
        [("Ada", "B-PER"), ("sang", "O")],
        [("#", "O"), ("rocks", "O")],
        [("#Paris", "B-LOC")],
    ]
