"""Synthetic gold: row records shaped exactly like the extractor's, entities only where they are."""

from __future__ import annotations

import random
import re

import pytest
from faker import Faker

from include.adapters.extract.rows import SEPARATOR
from include.core.labels import DEFAULT_LABELS
from include.workflows.training.synthetic import synthetic_gold
from include.workflows.training.synthetic_rows import synthetic_row

HELDOUT_CONSTANTS = (
    "Northwind Holdings",
    "North America",
    "Acme Corporation",
    "Seattle",
    "Denver",
    "Zürich",
    "Anvils",
)


@pytest.fixture(scope="module")
def rows() -> list[tuple[str, list]]:
    rng = random.Random(4)
    fake = Faker(["en_US", "en_GB"])
    fake.seed_instance(4)
    return [synthetic_row(fake, rng) for _ in range(400)]


def _cells(text: str) -> list[tuple[str, int, int]]:
    """(column name, value start, value end) of a row text, split as `name: value | name: value`."""
    cells, pos = [], 0
    for cell in text.split(SEPARATOR):
        name, _, value = cell.partition(": ")
        start = pos + len(name) + 2
        cells.append((name, start, start + len(value)))
        pos += len(cell) + len(SEPARATOR)
    return cells


def test_row_spans_fit_and_never_touch_a_column_name(rows) -> None:
    for text, spans in rows:
        assert all(text[s.start : s.end] == s.text and s.label in DEFAULT_LABELS for s in spans)
        names = [(start - len(name) - 2, start - 2) for name, start, _ in _cells(text)]
        assert not any(s.start < b and a < s.end for s in spans for a, b in names), text
        assert all(text[a:b] for a, b in names)  # blank headers were named column_N


def test_whole_cells_are_entities_except_addresses_whose_city_ends_the_street(rows) -> None:
    seen_address = seen_reference = 0
    for text, spans in rows:
        for name, start, end in _cells(text):
            inside = [s for s in spans if start <= s.start and s.end <= end]
            value = text[start:end]
            if re.fullmatch(r"(INV|PO|ORD|SO|REF|CN|TKT|Q|BILL)-?[\d-]+", value):
                assert inside == [], text
                seen_reference += 1
            if (
                name.lower().replace("_", " ") in {"address", "street", "ship to", "billing address"}
                and inside
            ):
                (city,) = inside
                assert city.label == "LOCATION" and city.start > start  # the street before it is O
                seen_address += 1
    assert seen_address > 10 and seen_reference > 10


def test_generated_gold_mixes_rows_and_prose_and_avoids_the_held_out_constants() -> None:
    texts = synthetic_gold(1500, seed=9)
    assert texts == synthetic_gold(1500, seed=9)
    row_texts = [t for t in texts if SEPARATOR in t.text and ": " in t.text]
    assert 0.4 < len(row_texts) / len(texts) < 0.6
    assert any(not t.spans for t in texts)  # titles with no entity teach O
    assert {s.label for t in texts for s in t.spans} == set(DEFAULT_LABELS)
    joined = "\n".join(t.text for t in texts)
    assert not [c for c in HELDOUT_CONSTANTS if c in joined]
    assert all(t.text[s.start : s.end] == s.text for t in texts for s in t.spans)
    prose_only = synthetic_gold(200, seed=9, row_share=0.0)
    assert not any(SEPARATOR in t.text for t in prose_only)
