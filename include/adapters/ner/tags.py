"""The one tag→span converter: BIO tags over sub-word tokens → character spans of the record text."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from include.core.spans import Span


@dataclass
class _Open:
    label: str
    start: int
    end: int
    probs: list[float] = field(default_factory=list)


def _word_ids_from_offsets(text: str, offsets: Sequence[tuple[int, int]]) -> list[int | None]:
    """Word index per token when the tokenizer gave none: a piece glued to the previous one between two
    word characters (`Wash` + `ington`) continues its word, as BERT's pre-tokenizer splits on spaces and
    punctuation."""
    word_ids: list[int | None] = []
    word = -1
    prev_end = -1
    for start, end in offsets:
        if end <= start:
            word_ids.append(None)
            continue
        glued = start == prev_end and start > 0 and text[start - 1].isalnum() and text[start].isalnum()
        if not glued:
            word += 1
        word_ids.append(word)
        prev_end = end
    return word_ids


def _words(offsets: Sequence[tuple[int, int]], word_ids: Sequence[int | None]) -> list[tuple[int, int, int]]:
    """(first token index, char start, char end) per word in text order; specials and empty pieces skipped."""
    words: list[tuple[int, int, int]] = []
    last_word: int | None = None
    for i, ((start, end), word) in enumerate(zip(offsets, word_ids, strict=True)):
        if word is None or end <= start:
            continue
        if word == last_word and words:
            first, w_start, w_end = words[-1]
            words[-1] = (first, min(w_start, start), max(w_end, end))
        else:
            words.append((i, start, end))
        last_word = word
    return words


def _close(text: str, span: _Open | None, out: list[Span]) -> None:
    if span is None:
        return
    start, end = span.start, span.end
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start >= end:
        return
    score = min(1.0, max(0.0, sum(span.probs) / len(span.probs)))
    # Valid by construction (start < end, text is the slice, score in [0, 1]): no validation needed.
    out.append(
        Span.model_construct(start=start, end=end, label=span.label, text=text[start:end], score=score)
    )


def tags_to_spans(
    text: str,
    offsets: Sequence[tuple[int, int]],
    tag_ids: Sequence[int] | np.ndarray,
    probs: np.ndarray,
    tags: Sequence[str],
    word_ids: Sequence[int | None] | None = None,
) -> list[Span]:
    """Decode one record's token tags into spans with exact offsets into `text`.

    `offsets` are the tokenizer's (start, end) character offsets, `(0, 0)` for special and padding tokens;
    `tag_ids[i]` is the chosen tag of token i and `probs[i]` its probability row over `tags`. Each word takes
    the tag of its first piece, so continuation pieces join their word's entity (pass the tokenizer's
    `word_ids` when known; otherwise words are inferred from the offsets). `I-X` after `O` or another label
    starts a new entity. A span's score is the mean probability of the tags that chose it, one per word.
    """
    if word_ids is None:
        word_ids = _word_ids_from_offsets(text, offsets)
    spans: list[Span] = []
    current: _Open | None = None
    words = _words(offsets, word_ids)
    firsts = [w[0] for w in words]
    chosen = np.asarray(tag_ids, dtype=np.int64)[firsts]
    chosen_probs = np.asarray(probs)[firsts, chosen].tolist() if firsts else []
    parts = [tag.partition("-") for tag in tags]
    for (_, start, end), tag_id, prob in zip(words, chosen.tolist(), chosen_probs, strict=True):
        prefix, _, label = parts[tag_id]
        if prefix == "I" and current is not None and current.label == label:
            current.end = end
            current.probs.append(prob)
            continue
        _close(text, current, spans)
        current = _Open(label, start, end, [prob]) if prefix in ("B", "I") and label else None
    _close(text, current, spans)
    return spans


@functools.lru_cache(maxsize=8)
def allowed_transitions(tags: tuple[str, ...]) -> np.ndarray:
    """allowed[prev, next]: I-X may only follow B-X or I-X; every other move is allowed."""
    n = len(tags)
    allowed = np.ones((n, n), dtype=bool)
    for j, tag in enumerate(tags):
        prefix, _, label = tag.partition("-")
        if prefix == "I":
            allowed[:, j] = [t in (f"B-{label}", f"I-{label}") for t in tags]
    return allowed


def _first_pieces(word_ids: Sequence[int | None]) -> list[int]:
    firsts: list[int] = []
    last: int | None = None
    for i, word in enumerate(word_ids):
        if word is not None and word != last:
            firsts.append(i)
        last = word if word is not None else last
    return firsts


def constrained_tag_ids(probs: np.ndarray, word_ids: Sequence[int | None], tags: Sequence[str]) -> np.ndarray:
    """Per token tag ids where each word's first token takes the most probable *valid* BIO sequence over
    the words (Viterbi on log-probabilities, no I-X after O or another label, none at the start); other
    tokens keep their argmax (they do not choose tags: a word takes its first piece's).

    When the argmax sequence is already valid it is the constrained optimum too, and is returned as is.
    """
    tag_ids = probs.argmax(axis=-1)
    firsts = _first_pieces(word_ids)
    if not firsts:
        return tag_ids
    allowed = allowed_transitions(tuple(tags))
    chosen = tag_ids[firsts]
    start_ok = np.array([not t.startswith("I-") for t in tags])
    if start_ok[chosen[0]] and allowed[chosen[:-1], chosen[1:]].all():
        return tag_ids
    penalty = np.where(allowed, 0.0, -np.inf)
    log_p = np.log(np.clip(probs[firsts], 1e-12, 1.0))
    score = np.where(start_ok, log_p[0], -np.inf)
    back = np.zeros((len(firsts), len(tags)), dtype=np.int64)
    for k in range(1, len(firsts)):
        candidates = score[:, None] + penalty
        back[k] = candidates.argmax(axis=0)
        score = candidates.max(axis=0) + log_p[k]
    best = [int(score.argmax())]
    for k in range(len(firsts) - 1, 0, -1):
        best.append(int(back[k][best[-1]]))
    tag_ids = tag_ids.copy()
    tag_ids[firsts] = best[::-1]
    return tag_ids
