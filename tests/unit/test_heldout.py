"""Held-out gold: every written entity lands as a span on its extracted record, and nothing else does."""

from __future__ import annotations

from collections import Counter

import pytest

from devstack.heldout import (
    HELDOUT_SEEDS,
    PlacementError,
    column_name_ranges,
    heldout_documents,
    heldout_gold,
    place_gold,
)
from devstack.samples import Mention, sample_documents
from include.adapters.extract.records import ExtractedRecord
from include.adapters.extract.router import extract_document
from include.adapters.extract.rows import row_text
from include.core.labels import DEFAULT_LABELS

SEED = HELDOUT_SEEDS[0]


@pytest.fixture(scope="module")
def gold():
    return heldout_gold([SEED], count=7)


def _written_mentions(seed: int, count: int) -> Counter[str]:
    mentions: Counter[str] = Counter()
    for document in heldout_documents([seed], count):
        units = [*document.paragraphs, *(cell for row in document.rows for cell in row)]
        mentions.update(part.label for unit in units for part in unit if isinstance(part, Mention))
    return mentions


def test_every_written_mention_is_a_span_that_fits_its_record_text(gold) -> None:
    placed = Counter(span.label for record in gold for span in record.spans)
    assert placed == _written_mentions(SEED, 7)
    assert set(placed) <= set(DEFAULT_LABELS) and sum(placed.values()) > 150
    for record in gold:
        assert all(record.record.text[s.start : s.end] == s.text for s in record.spans)
        assert all(s.text == s.text.strip() and s.text for s in record.spans)


def test_the_held_out_set_covers_the_demo_kinds_but_not_the_scan_or_the_demo_seed(gold) -> None:
    assert {record.kind for record in gold} == {"csv", "xlsx", "pdf", "txt"}
    assert 7 not in HELDOUT_SEEDS
    assert {r.record.meta.get("kind") for r in gold} >= {"row", "paragraph", "preamble"}


def test_column_names_invoice_numbers_and_streets_are_not_gold(gold) -> None:
    rows = [r for r in gold if r.record.meta.get("kind") == "row"]
    for record in rows:
        names = column_name_ranges(record.record)
        assert [record.record.text[a:b] for a, b in names] == list(record.record.meta["columns"])
        assert not any(s.start < b and a < s.end for s in record.spans for a, b in names)
        assert not any(s.text.startswith("INV-") for s in record.spans)
    csv_row = next(r for r in rows if r.kind == "csv")
    start, end = csv_row.record.meta["columns"]["Address"]
    (city,) = [s for s in csv_row.spans if start <= s.start and s.end <= end]
    assert city.label == "LOCATION" and city.end == end
    assert csv_row.record.text[start : city.start].strip(" ,")  # the street stays O
    amount = csv_row.record.meta["columns"]["Amount (USD)"]
    assert [(s.start, s.end) for s in csv_row.spans if s.label == "MONEY"] == [tuple(amount)]


def test_a_record_that_differs_from_what_was_written_is_refused() -> None:
    document = next(d for d in sample_documents(SEED) if d.name == "memo.txt")
    records = extract_document(document.data, document.name)
    changed = ExtractedRecord(record_key=records[1].record_key, text=records[1].text + " P.S. call me")
    with pytest.raises(PlacementError, match="not written as a unit"):
        place_gold(document, [records[0], changed, *records[2:]])
    with pytest.raises(PlacementError, match="written but not extracted"):
        place_gold(document, records[:-1])


def test_a_row_that_was_not_written_is_refused() -> None:
    document = next(d for d in sample_documents(SEED) if d.name == "invoices.csv")
    records = extract_document(document.data, document.name)
    first = records[0]
    cells = [(name, first.text[a:b]) for name, (a, b) in first.meta["columns"].items()]
    cells[2] = ("Contact", "Somebody Else")
    text, columns = row_text(cells)
    forged = ExtractedRecord(record_key=first.record_key, text=text, meta={**first.meta, "columns": columns})
    with pytest.raises(PlacementError, match="no written row"):
        place_gold(document, [forged, *records[1:]])
