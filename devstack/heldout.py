"""Held-out gold on the demo's kinds of documents: generated, extracted, and labelled where written.

The sample generator (devstack/samples.py) marks every entity value it writes as a `Mention`. Here the
documents of other seeds than the demo's go through the real extractor (the router the prelabel path
uses) and each written unit is found again on its record: a table row by its cell values (each
value in its column's range), a paragraph by its text with any run of whitespace allowed where it
wrote whitespace (PDF lines wrap). Every mention becomes a span with text == record_text[start:end].

What is an entity (the label set of include/core/labels.py), as the generator marks it:
- PERSON: contacts and customers; ORG: companies, vendors, the ledger's owner;
  LOCATION: cities (also the city inside an address cell), regions such as "North America";
  DATE: issue dates, "since" dates, dates in prose, a named period such as "Q1 2024";
  MONEY: amounts, with or without a currency sign (a bare number in an amount column is money);
  EMAIL; PHONE; PRODUCT: the product column and a named product in prose.
- Not entities (O): column names ("Invoice", "Amount (USD)", "Address"), invoice numbers, street
  addresses (the part before the city), titles such as "MEMO" or "Quarterly report", relative time
  ("next quarter").
The scan (PNG) is left out: its text reaches the extractor through OCR, which may change it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from devstack.samples import Mention, SampleDocument, Unit, sample_documents, unit_text
from include.adapters.extract.records import ExtractedRecord
from include.adapters.extract.router import extract_document
from include.core.spans import Span

HELDOUT_SEEDS: tuple[int, ...] = (1009, 2027, 3041)
"""Seeds of the held-out sets: never the demo's 7, never the bootstrap's synthetic seeds."""
HELDOUT_INVOICES = 10


class PlacementError(ValueError):
    """A written unit and the extracted records disagree; the message names the document and unit."""


@dataclass(frozen=True)
class GoldRecord:
    """One extracted record of a held-out document with its gold spans."""

    document: str
    record: ExtractedRecord
    spans: tuple[Span, ...]

    @property
    def kind(self) -> str:
        """The document kind: its file extension (csv, xlsx, pdf, txt)."""
        return self.document.rsplit(".", 1)[-1]


def heldout_documents(
    seeds: Sequence[int] = HELDOUT_SEEDS, count: int = HELDOUT_INVOICES
) -> list[SampleDocument]:
    """The held-out documents (every sample kind whose text the generator controls), names prefixed
    with their seed."""
    documents = []
    for seed in seeds:
        for d in sample_documents(seed, count):
            if d.has_gold:
                documents.append(SampleDocument(f"{seed}-{d.name}", d.data, d.paragraphs, d.rows))
    return documents


def heldout_gold(seeds: Sequence[int] = HELDOUT_SEEDS, count: int = HELDOUT_INVOICES) -> list[GoldRecord]:
    """Every record of the held-out documents, extracted as the prelabel path does, with its gold."""
    gold: list[GoldRecord] = []
    for document in heldout_documents(seeds, count):
        records = extract_document(document.data, document.name)
        for record, spans in zip(records, place_gold(document, records), strict=True):
            gold.append(GoldRecord(document.name, record, tuple(spans)))
    return gold


def place_gold(document: SampleDocument, records: Sequence[ExtractedRecord]) -> list[list[Span]]:
    """Gold spans per record, in record order; raises PlacementError unless every written unit is
    found exactly once and every record is made of written units."""
    rows = {_row_key(row): row for row in document.rows}
    unused_rows = set(rows)
    unused_paragraphs = list(range(len(document.paragraphs)))
    result = []
    for record in records:
        if record.meta.get("kind") == "row":
            key = tuple(_collapse(record.text[s:e]) for s, e in record.meta["columns"].values())
            if key not in unused_rows:
                raise PlacementError(f"{document.name}: {record.record_key}: no written row {key}")
            unused_rows.discard(key)
            result.append(_row_spans(document.name, record, rows[key]))
        else:
            result.append(_paragraph_spans(document, record, unused_paragraphs))
    if unused_rows or unused_paragraphs:
        missing = [unit_text(document.paragraphs[i]) for i in unused_paragraphs] + sorted(
            map(str, unused_rows)
        )
        raise PlacementError(f"{document.name}: written but not extracted: {missing[:3]}")
    return result


def column_name_ranges(record: ExtractedRecord) -> list[tuple[int, int]]:
    """Where each column name sits in a row record's text (`name: value`); empty for other records."""
    ranges = []
    for name, (start, _) in record.meta.get("columns", {}).items():
        begin = start - len(name) - 2
        if record.text[begin : start - 2] != name:
            raise PlacementError(f"{record.record_key}: column {name!r} not before its value")
        ranges.append((begin, start - 2))
    return ranges


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _row_key(row: Sequence[Unit]) -> tuple[str, ...]:
    return tuple(value for cell in row if (value := _collapse(unit_text(cell))))


def _row_spans(name: str, record: ExtractedRecord, row: Sequence[Unit]) -> list[Span]:
    cells = [cell for cell in row if _collapse(unit_text(cell))]
    spans: list[Span] = []
    for cell, (start, end) in zip(cells, record.meta["columns"].values(), strict=True):
        match = _unit_pattern(cell).fullmatch(record.text, start, end)
        if match is None:
            raise PlacementError(f"{name}: {record.record_key}: {unit_text(cell)!r} not in its column")
        spans += _mention_spans(record.text, cell, match)
    return spans


def _paragraph_spans(document: SampleDocument, record: ExtractedRecord, unused: list[int]) -> list[Span]:
    text = record.text
    covered = [False] * len(text)
    spans: list[Span] = []
    for index in list(unused):
        unit = document.paragraphs[index]
        match = _unit_pattern(unit).search(text)
        if match is None or any(covered[match.start() : match.end()]):
            continue
        covered[match.start() : match.end()] = [True] * (match.end() - match.start())
        unused.remove(index)
        spans += _mention_spans(text, unit, match)
    stray = "".join(c for c, done in zip(text, covered, strict=True) if not done).strip()
    if stray:
        raise PlacementError(f"{document.name}: {record.record_key}: text not written as a unit: {stray!r}")
    return sorted(spans, key=lambda s: s.start)


def _mention_spans(text: str, unit: Unit, match: re.Match[str]) -> list[Span]:
    mentions = [part for part in unit if isinstance(part, Mention)]
    spans = []
    for group, mention in enumerate(mentions, start=1):
        start, end = match.span(group)
        spans.append(Span(start=start, end=end, label=mention.label, text=text[start:end]))
    return spans


def _unit_pattern(unit: Unit) -> re.Pattern[str]:
    """The unit's text as a regex: whitespace matches any whitespace run, a hyphen may end a line,
    and each mention is a group (group i = mention i)."""
    pattern = ""
    for part in unit:
        if isinstance(part, Mention):
            pattern += f"({_text_pattern(part.text)})"
        else:
            pattern += _text_pattern(part)
    return re.compile(pattern)


def _text_pattern(text: str) -> str:
    pieces = re.split(r"(\s+)", text)
    out = []
    for piece in pieces:
        if not piece:
            continue
        if piece.isspace():
            out.append(r"\s+")
        else:
            out.append(r"-\s*".join(re.escape(word) for word in piece.split("-")))
    return "".join(out)
