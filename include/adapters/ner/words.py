"""Word units: the pieces of a text that get one NER label each, in training, evaluation and serving.

BERT's pre-tokenizer splits on every punctuation mark, so `@user`, `#tag`, a URL or `INV-2024001` would
become several words to tag. A unit here is what a reader calls one word: `@mentions`, `#tags`, URLs,
emails, numbers with separators (`1,234.56`, `03/25/2016`) and words with inner punctuation (`don't`,
`AT&T`) stay whole; leading and trailing punctuation is split off (`Moore,` → `Moore` + `,`). Gold from
Label Studio may put a span edge inside such a unit (`USD` in `USD1000`): `word_units(text, cuts)` splits
there, so no gold span is lost, and reports how many units it had to split.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

_UNIT = re.compile(
    r"""
      (?:https?://|www\.)\S+?(?=[.,;:!?)\]}"'>]*(?:\s|$))   # URL, trailing punctuation left off
    | [\w.+-]+@\w[\w-]*(?:\.[\w-]+)+                       # email
    | [@#]\w+                                             # @mention, #tag
    | (?:[^\W\d_]\.){2,}(?![^\W\d_])                     # abbreviation with dots: U.S., e.g.
    | \w+(?:[^\w\s]+\w+)*                                 # word or number, inner punctuation kept
    | [^\w\s]                                             # one punctuation mark
    """,
    re.VERBOSE,
)

Unit = tuple[int, int]


@dataclass(frozen=True)
class Units:
    """Character ranges of a text's units, in order, and how many units a cut had to split."""

    ranges: tuple[Unit, ...]
    forced_splits: int = 0


def word_units(text: str, cuts: Iterable[int] = ()) -> Units:
    """The units of `text`; each offset in `cuts` strictly inside a unit splits it there."""
    ranges = [m.span() for m in _UNIT.finditer(text)]
    inner = sorted(set(cuts))
    if not inner:
        return Units(tuple(ranges))
    out: list[Unit] = []
    forced = 0
    for start, end in ranges:
        edges = [c for c in inner if start < c < end]
        if edges:
            forced += 1
        bounds = [start, *edges, end]
        out += [(a, b) for a, b in pairwise(bounds) if text[a:b].strip()]
    return Units(tuple(_trimmed(text, out)), forced)


def span_cuts(spans: Iterable[object]) -> list[int]:
    """The character offsets where spans (anything with .start and .end) begin and end."""
    return [edge for s in spans for edge in (s.start, s.end)]  # type: ignore[attr-defined]


def token_ranges(tokens: Sequence[str], sep: str = " ") -> tuple[str, tuple[Unit, ...]]:
    """A corpus's own tokens joined by `sep` into a text, with each token's character range."""
    ranges: list[Unit] = []
    pos = 0
    for token in tokens:
        ranges.append((pos, pos + len(token)))
        pos += len(token) + len(sep)
    return sep.join(tokens), tuple(ranges)


def _trimmed(text: str, ranges: list[Unit]) -> list[Unit]:
    """Ranges with whitespace trimmed from their ends (a cut next to a space leaves none inside)."""
    out = []
    for start, end in ranges:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            out.append((start, end))
    return out
