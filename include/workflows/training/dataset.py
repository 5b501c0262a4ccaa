"""Gold as (text, spans, units): label ids on the first token of each word unit, and WNUT-17.

A training unit is a corpus's own token where the data has them (CoNLL files), else a word unit of
include/adapters/ner/words.py cut at every gold span edge, so no gold span is lost. The first sub-token of a
unit carries its BIO tag; the other sub-tokens and the special tokens carry -100. Serving decodes on the same
units (include/adapters/ner/client.py), so what is trained is what is served.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from transformers import PreTrainedTokenizerFast

from include.adapters.ner.tags import tags_to_spans
from include.adapters.ner.words import Unit, span_cuts, token_ranges, word_units
from include.core.labels import bio_tags
from include.core.spans import Span
from include.workflows.training.sources import wnut17_dir

log = logging.getLogger(__name__)

IGNORE = -100
OPEN = -2
"""A unit inside an `unlabelled` range: its O may stand for O or a label no SME gold holds (see
include/workflows/training/rehearsal.py); the loss asks only that it is none of the other labels."""

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
    """One piece of gold from any source: a text, its spans, and (when the source has them) its own
    token ranges; `source` says where it came from, `weight` how much its loss counts in training
    (SME gold 1.0, rehearsal of older training data less); in `unlabelled` character ranges a unit's O
    may also be one of the labels the training run leaves open (`OPEN`; see
    include/workflows/training/rehearsal.py)."""

    text: str
    spans: tuple[Span, ...]
    source: str = ""
    units: tuple[Unit, ...] | None = None
    weight: float = 1.0
    unlabelled: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Words:
    """The training units of one text: character ranges and each unit's first token (-1: no token)."""

    ranges: list[tuple[int, int]]
    first_token: list[int]


@dataclass
class Encoded:
    """Model inputs for one text (truncated), label ids per token, and unit-level BIO tags of the full text.

    `visible_words` units have their first token inside the truncated inputs; the rest were cut off.
    `forced_splits` counts the units a gold span edge had to split.
    """

    input_ids: list[int]
    labels: list[int]
    words: Words
    word_tags: list[str]
    visible_words: int
    lost_spans: int = 0
    problems: list[str] = field(default_factory=list)
    forced_splits: int = 0
    weight: float = 1.0


def training_units(example: LabeledText) -> tuple[tuple[Unit, ...], int]:
    """The example's units and how many word units its gold spans split (0 for a corpus's own tokens)."""
    if example.units is not None:
        return example.units, 0
    units = word_units(example.text, span_cuts(example.spans))
    return units.ranges, units.forced_splits


def word_tags_for(words: Words, spans: Iterable[Span]) -> list[str]:
    """BIO tag per unit: B- on the first unit overlapping a span, I- on the rest; first span wins."""
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
    """Token label ids: the first sub-token of a unit carries its tag, later sub-tokens and specials -100.

    Spans cut off by truncation to max_length tokens are counted in `lost_spans`; spans the unit tags
    cannot give back exactly (a unit with no token, e.g. only characters the tokenizer drops) are
    described in `problems`.
    """
    ranges, forced = training_units(example)
    pieces = [example.text[a:b] for a, b in ranges]
    enc = tokenizer(pieces, is_split_into_words=True, return_offsets_mapping=True, verbose=False)
    word_ids = enc.word_ids()
    first = [-1] * len(ranges)
    for i, w in enumerate(word_ids):
        if w is not None and first[w] < 0:
            first[w] = i
    words = Words(list(ranges), first)
    tags = word_tags_for(words, example.spans)
    ids = list(enc["input_ids"])
    labels = [IGNORE] * len(ids)
    for token, tag in zip(first, tags, strict=True):
        if tag not in tag_index:
            raise KeyError(f"{example.source or 'example'}: tag {tag!r} is not in the model's tags")
        if token >= 0:
            labels[token] = tag_index[tag]
    for (start, end), token, tag in zip(ranges, first, tags, strict=True):
        if token >= 0 and tag == "O" and any(a < end and start < b for a, b in example.unlabelled):
            labels[token] = OPEN
    offsets = [
        (ranges[w][0] + a, ranges[w][0] + b) if w is not None else (0, 0)
        for (a, b), w in zip(enc["offset_mapping"], word_ids, strict=True)
    ]
    kept = {
        (s.start, s.end, s.label) for s in decode_labels(example.text, offsets, word_ids, labels, tag_index)
    }
    problems = [
        f"span {s.start}:{s.end} {s.label} {s.text!r} does not fall on unit edges"
        for s in example.spans
        if (s.start, s.end, s.label) not in kept
    ]
    if len(ids) > max_length:
        ids = [*ids[: max_length - 1], ids[-1]]
        labels = [*labels[: max_length - 1], IGNORE]
    visible = sum(1 for t in first if 0 <= t < len(ids) - 1)
    covered_to = ranges[visible - 1][1] if visible else 0
    lost = sum(1 for s in example.spans if s.end > covered_to)
    return Encoded(ids, labels, words, tags, visible, lost, problems, forced, example.weight)


def decode_labels(
    text: str,
    offsets: Sequence[tuple[int, int]],
    word_ids: Sequence[int | None],
    labels: Sequence[int],
    tag_index: Mapping[str, int],
) -> list[Span]:
    """Spans given back by the project's one tag→span converter from these token label ids."""
    tags = sorted(tag_index, key=tag_index.__getitem__)
    tag_ids = [max(label, 0) for label in labels]
    probs = np.ones((len(tag_ids), len(tags)), dtype=np.float32)
    return tags_to_spans(text, offsets, tag_ids, probs, tags, word_ids=word_ids)


def alignment_problems(
    tokenizer: PreTrainedTokenizerFast, example: LabeledText, labels: Sequence[str], max_length: int = 512
) -> list[str]:
    """Why this example's spans would not survive the round trip spans → unit tags → spans."""
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


SCHEME_PREFIXES = {"B": "B", "I": "I", "S": "B", "U": "B", "E": "I", "L": "I", "M": "I"}
"""Span-position prefixes of the BIOES (single, end), BILOU (unit, last) and BMES (middle) schemes, as IOB2:
a prefix read as none of these used to drop the entity without a word (`U-LOC` → O)."""


def corpus_text(path: Path) -> str:
    """A corpus file's text: UTF-8 (with or without a byte-order mark), else Latin-1, which every byte
    decodes (logged: a file in another 8-bit encoding then reads with some letters wrong)."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        log.warning("%s is not UTF-8 (byte %d): read as Latin-1", path, error.start)
        return raw.decode("latin-1")


def iob2_tag(tag: str) -> str:
    """A tag of any scheme as IOB2 (`SCHEME_PREFIXES`); a bare tag of the IO scheme (`PER`, or the dashed
    `creative-work`) becomes an I- tag."""
    prefix, dash, label = tag.partition("-")
    if dash and prefix in SCHEME_PREFIXES:
        return f"{SCHEME_PREFIXES[prefix]}-{label}"
    return tag if tag == "O" else f"I-{tag}"


def _is_comment(columns: list[str], tags: set[str]) -> bool:
    """A line of a lone `#` before a sentence's first token, whose last column is no tag the file's other
    lines use: MultiCoNER's `# id 4e5f… domain=en`, CoNLL-U's `# text = …`. A `#` tagged O or with a tag the
    file uses is a token, and so is a hashtag (`#Paris`)."""
    return columns[0] == "#" and (len(columns) < 2 or iob2_tag(columns[-1]) not in tags)


def read_conll_documents(path: Path) -> list[list[list[tuple[str, str]]]]:
    """Documents of sentences of (token, tag) from any CoNLL-style file: columns split on whitespace, the
    token first and the tag last; `-DOCSTART-` lines start a document (a file without them is one
    sentence per document), and comment lines before a sentence are skipped (`_is_comment`). BIOES/IOBES,
    BILOU and BMES tags become IOB2 (`iob2_tag`), and a bare tag of the IO scheme (`PER`) an I- tag (IOB1
    then: a run of one type is one span). The file is read as UTF-8 (a byte-order mark dropped), else as
    Latin-1, as the CoNLL-2002 files are."""
    lines = [(n, line.split()) for n, line in enumerate(corpus_text(path).splitlines(), 1)]
    tags = {"O"} | {
        iob2_tag(columns[-1])
        for _, columns in lines
        if len(columns) >= 2 and columns[0] not in ("#", "-DOCSTART-")
    }
    documents: list[list[list[tuple[str, str]]]] = []
    sentences: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    marked = False
    comments = 0

    def end_sentence() -> None:
        nonlocal current
        if current:
            sentences.append(current)
            current = []

    for line_no, columns in lines:
        if not columns:
            end_sentence()
            continue
        if columns[0] == "-DOCSTART-":
            end_sentence()
            if sentences:
                documents.append(sentences)
            sentences, marked = [], True
            continue
        if not current and _is_comment(columns, tags):
            comments += 1
            continue
        if len(columns) < 2:
            raise ValueError(f"{path.name}:{line_no}: expected a token and a tag, got {' '.join(columns)!r}")
        current.append((columns[0], iob2_tag(columns[-1])))
    end_sentence()
    if sentences:
        documents.append(sentences)
    if not marked:
        documents = [[sentence] for document in documents for sentence in document]
    if comments:
        log.info("%s: %d comment lines skipped (# lines before a sentence, ending in no tag)", path, comments)
    return documents


def conll_to_labeled_text(
    sentence: Sequence[tuple[str, str]],
    label_map: Mapping[str, str | None] | None = None,
    source: str = "",
) -> LabeledText:
    """Join tokens with single spaces and turn IOB2 tags into character spans (labels mapped or kept);
    the tokens are the text's units."""
    text, units = token_ranges([token for token, _ in sentence])
    ranges: list[list] = []  # [start, end, label]
    open_label: str | None = None
    for (_, tag), (start, end) in zip(sentence, units, strict=True):
        prefix, _, raw = tag.partition("-")
        label = (label_map.get(raw) if label_map is not None else raw) if raw else None
        if prefix == "I" and label is not None and label == open_label:
            ranges[-1][1] = end
            continue
        open_label = label if prefix in ("B", "I") else None
        if open_label is not None:
            ranges.append([start, end, open_label])
    spans = tuple(Span(start=a, end=b, label=lab, text=text[a:b]) for a, b, lab in ranges)
    return LabeledText(text, spans, source, units)


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
