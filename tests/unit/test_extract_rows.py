"""The row normalizer: row text rendering, value normalization, column names and value ranges."""

from __future__ import annotations

import math
from datetime import date, datetime, time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from include.adapters.extract.rows import normalize_value, row_text, unique_names


def test_row_text_renders_columns_and_keeps_value_ranges() -> None:
    text, columns = row_text([("Name", "Ada Lovelace"), ("City", "London"), ("Amount", 12.5)])
    assert text == "Name: Ada Lovelace | City: London | Amount: 12.5"
    assert {name: text[s:e] for name, (s, e) in columns.items()} == {
        "Name": "Ada Lovelace",
        "City": "London",
        "Amount": "12.5",
    }


def test_row_text_skips_empty_values() -> None:
    text, columns = row_text([("a", None), ("b", "  "), ("c", float("nan")), ("d", "x")])
    assert text == "d: x"
    assert columns == {"d": [3, 4]}


def test_row_text_of_all_empty_cells_is_empty() -> None:
    assert row_text([("a", None), ("b", "")]) == ("", {})


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("  Acme\n Corp\t Ltd  ", "Acme Corp Ltd"),
        ("line one\r\nline two", "line one line two"),
        (datetime(2024, 3, 1), "2024-03-01"),
        (datetime(2024, 3, 1, 14, 30), "2024-03-01T14:30:00"),
        (date(1999, 12, 31), "1999-12-31"),
        (time(8, 15), "08:15:00"),
        (1234.0, "1234"),
        (-3.0, "-3"),
        (0.1, "0.1"),
        (1e-05, "0.00001"),
        (1e16, "10000000000000000"),
        (Decimal("12.50"), "12.50"),
        (Decimal("7"), "7"),
        (42, "42"),
        (True, "true"),
        (None, ""),
        (math.nan, ""),
    ],
)
def test_normalize_value(value: object, rendered: str) -> None:
    assert normalize_value(value) == rendered


def test_unique_names_fill_blanks_by_position_and_number_duplicates() -> None:
    assert unique_names(["col", "col", "", None, "col"]) == ["col", "col_2", "column_3", "column_4", "col_3"]
    assert unique_names(["column_2", ""]) == ["column_2", "column_2_2"]


def test_duplicate_headers_keep_separate_ranges() -> None:
    text, columns = row_text([("Contact", "a@b.com"), ("Contact", "+1 555 0100"), ("", "x")])
    assert text == "Contact: a@b.com | Contact_2: +1 555 0100 | column_3: x"
    assert text[slice(*columns["Contact_2"])] == "+1 555 0100"


_values = st.one_of(
    st.none(),
    st.text(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=False),
    st.dates(),
    st.datetimes(),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
)


@given(st.lists(st.tuples(st.one_of(st.none(), st.text(max_size=12)), _values), max_size=8))
def test_every_column_range_slices_out_its_rendered_value(cells: list[tuple[object, object]]) -> None:
    text, columns = row_text(cells)
    names = unique_names(name for name, _ in cells)
    expected = {n: normalize_value(v) for n, (_, v) in zip(names, cells, strict=True) if normalize_value(v)}
    assert {name: text[start:end] for name, (start, end) in columns.items()} == expected
    for name, (start, _end) in columns.items():
        assert text[:start].endswith(f"{name}: ")
