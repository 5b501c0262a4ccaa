"""Gold as (text, spans): token BIO label ids for the fast tokenizer, the inverse check, and WNUT-17."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from transformers import PreTrainedTokenizerFast

from include.labels import bio_tags
from include.ner.tags import tags_to_spans
from include.spans import Span
from include.training.sources import wnut17_dir

IGNORE = -100

WNUT17_LABELS: tuple[str, ...] = ("person", "location", "corporation", "group", "product", "creative-work")
# creative-work (song, film, book titles) has no project label: O rather than a wrong ORG/PRODUCT.
WNUT17_TO_PROJECT: Mapping[str, str | None] = {
    "person": "PERSON",
    "location": "LOCATION",
    "corporation": "ORG",
    "group": "ORG",
    "product": "PRODUCT",
    "creative-work": None,
}
WNUT17_FILES = {"train": "wnut17train.conll", "dev": "emerging.dev.conll", "test": "emerging.test.annotated"}


@dataclass(frozen=True)
class LabeledText:
    """One piece of gold from any source: a text and its spans; `source` says where it came from."""

    text: str
    spans: tuple[Span, ...]
    source: str = ""


@dataclass(frozen=True)
class Words:
    """The tokenizer's words (pre-tokens) of one text: character ranges and each word's first token."""

    ranges: list[tuple[int, int]]
    first_token: list[int]


@dataclass
class Encoded:
    """Model inputs for one text (truncated), label ids per token, and word-level BIO tags of the full text.

    `visible_words` words have their first token inside the truncated inputs; the rest were cut off.
    """

    input_ids: list[int]
    labels: list[int]
    words: Words
    word_tags: list[str]
    visible_words: int
    lost_spans: int = 0
    problems: list[str] = field(default_factory=list)


def words_of(offsets: Sequence[tuple[int, int]], word_ids: Sequence[int | None]) -> Words:
    """Group sub-tokens into words; special tokens (word id None) belong to no word."""
    ranges: dict[int, list[int]] = {}
    first: dict[int, int] = {}
    for i, (w, (start, end)) in enumerate(zip(word_ids, offsets, strict=True)):
        if w is None:
            continue
        if w not in ranges:
            ranges[w] = [start, end]
            first[w] = i
        else:
            ranges[w][1] = max(ranges[w][1], end)
    order = sorted(ranges)
    return Words([(ranges[w][0], ranges[w][1]) for w in order], [first[w] for w in order])


def word_tags_for(words: Words, spans: Iterable[Span]) -> list[str]:
    """BIO tag per word: B- on the first word overlapping a span, I- on the rest; first span wins."""
    tags = ["O"] * len(words.ranges)
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        inside = False
        for i, (start, end) in enumerate(words.ranges):
            if start < span.end and end > span.start and tags[i] == "O":
                tags[i] = f"{'I' if inside else 'B'}-{span.label}"
                inside = True
    return tags


def encode(
    tokenizer: PreTrainedTokenizerFast,
    example: LabeledText,
    tag_index: Mapping[str, int],
    max_length: int,
) -> Encoded:
    """Token label ids: the first sub-token of a word carries its tag, later sub-tokens and specials -100.

    Spans cut off by truncation to max_length tokens are counted in `lost_spans`; spans whose edges fall
    inside a word (so the tags cannot give them back exactly) are described in `problems`.
    """
    enc = tokenizer(example.text, return_offsets_mapping=True, verbose=False)
    words = words_of(enc["offset_mapping"], enc.word_ids())
    tags = word_tags_for(words, example.spans)
    ids = list(enc["input_ids"])
    labels = [IGNORE] * len(ids)
    for token, tag in zip(words.first_token, tags, strict=True):
        if tag not in tag_index:
            raise KeyError(f"{example.source or 'example'}: tag {tag!r} is not in the model's tags")
        labels[token] = tag_index[tag]
    kept = {(s.start, s.end, s.label) for s in _decoded(example.text, enc, labels, tag_index)}
    problems = [
        f"span {s.start}:{s.end} {s.label} {s.text!r} does not fall on word edges"
        for s in example.spans
        if (s.start, s.end, s.label) not in kept
    ]
    if len(ids) > max_length:
        ids = [*ids[: max_length - 1], ids[-1]]
        labels = [*labels[: max_length - 1], IGNORE]
    visible = sum(1 for t in words.first_token if t < len(ids) - 1)
    covered_to = words.ranges[visible - 1][1] if visible else 0
    lost = sum(1 for s in example.spans if s.end > covered_to)
    return Encoded(ids, labels, words, tags, visible, lost, problems)


def _decoded(text: str, enc, labels: Sequence[int], tag_index: Mapping[str, int]) -> list[Span]:
    """Spans given back by the project's one tag→span converter from these token labels."""
    tags = sorted(tag_index, key=tag_index.__getitem__)
    tag_ids = [max(label, 0) for label in labels]
    probs = np.ones((len(tag_ids), len(tags)), dtype=np.float32)
    return tags_to_spans(text, enc["offset_mapping"], tag_ids, probs, tags, word_ids=enc.word_ids())


def alignment_problems(
    tokenizer: PreTrainedTokenizerFast, example: LabeledText, labels: Sequence[str], max_length: int = 512
) -> list[str]:
    """Why this example's spans would not survive the round trip spans → token tags → spans."""
    tag_index = {t: i for i, t in enumerate(bio_tags(tuple(labels)))}
    out = encode(tokenizer, example, tag_index, max_length)
    lost = [f"{out.lost_spans} span(s) beyond max_length {max_length}"] if out.lost_spans else []
    return out.problems + lost


# -- WNUT-17 -----------------------------------------------------------------------------------


def read_conll(path: Path) -> list[list[tuple[str, str]]]:
    """Sentences of (token, tag) from a `token<TAB>tag` file; whitespace-only lines end a sentence."""
    sentences: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            if current:
                sentences.append(current)
                current = []
            continue
        token, sep, tag = line.rstrip("\n").rpartition("\t")
        if not sep or not token:
            raise ValueError(f"{path.name}:{line_no}: expected token<TAB>tag, got {line!r}")
        current.append((token, tag.strip()))
    if current:
        sentences.append(current)
    return sentences


def conll_to_labeled_text(
    sentence: Sequence[tuple[str, str]],
    label_map: Mapping[str, str | None] | None = None,
    source: str = "",
) -> LabeledText:
    """Join tokens with single spaces and turn IOB2 tags into character spans (labels mapped or kept)."""
    text = " ".join(token for token, _ in sentence)
    ranges: list[list] = []  # [start, end, label]
    pos = 0
    open_label: str | None = None
    for token, tag in sentence:
        start, end = pos, pos + len(token)
        pos = end + 1
        prefix, _, raw = tag.partition("-")
        label = (label_map.get(raw) if label_map is not None else raw) if raw else None
        if prefix == "I" and label is not None and label == open_label:
            ranges[-1][1] = end
            continue
        open_label = label if prefix in ("B", "I") else None
        if open_label is not None:
            ranges.append([start, end, open_label])
    spans = tuple(Span(start=a, end=b, label=lab, text=text[a:b]) for a, b, lab in ranges)
    return LabeledText(text, spans, source)


def load_wnut17(
    split: Literal["train", "dev", "test"],
    label_map: Mapping[str, str | None] | None = WNUT17_TO_PROJECT,
    limit: int | None = None,
    directory: Path | None = None,
) -> list[LabeledText]:
    """WNUT-17 sentences as LabeledText; label_map None keeps the corpus's own labels."""
    path = (directory or wnut17_dir()) / WNUT17_FILES[split]
    if not path.is_file():
        raise FileNotFoundError(f"WNUT-17 {split} file not found: {path} (set WNUT17_DIR)")
    sentences = read_conll(path)[:limit]
    return [conll_to_labeled_text(s, label_map, source=f"{path.name}#{i}") for i, s in enumerate(sentences)]
