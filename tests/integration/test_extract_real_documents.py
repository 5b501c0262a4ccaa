"""Real documents from the test suites of table-reading libraries (tests/data/docs, with SOURCE.md) come
out as the tables their projects assert; no services needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from include.adapters.extract.records import ExtractedRecord
from include.adapters.extract.router import extract_document

DOCS = Path(__file__).resolve().parents[1] / "data" / "docs"


def records_of(name: str) -> list[ExtractedRecord]:
    return extract_document((DOCS / name).read_bytes(), name)


def values(record: ExtractedRecord) -> dict[str, str]:
    return {name: record.text[start:end] for name, (start, end) in record.meta["columns"].items()}


def test_pdfplumber_issue_466_ruled_and_unruled_tables_have_their_last_row() -> None:
    rows = [r for r in records_of("pdfplumber-issue-466-example.pdf") if r.meta["kind"] == "row"]
    tables: dict[str, list[ExtractedRecord]] = {}
    for r in rows:
        tables.setdefault(r.record_key.rsplit("/row=", 1)[0], []).append(r)
    assert len(tables) >= 2
    for table in tables.values():  # pdfplumber asserts 4 rows by 3 columns, row 4 all "last"
        assert len(table) == 3
        assert len(values(table[-1])) == 3
        assert all("last" in v for v in values(table[-1]).values())


def test_readxl_geometry_table_off_a1() -> None:
    assert [values(r) for r in records_of("readxl-geometry.xlsx")] == [
        {"B3": f"B{n}", "C3": f"C{n}", "D3": f"D{n}"} for n in (4, 5, 6)
    ]


def test_readxl_clippy_mixed_types_and_two_row_header() -> None:
    by_sheet: dict[str, list[ExtractedRecord]] = {}
    for r in records_of("readxl-clippy.xlsx"):
        by_sheet.setdefault(r.meta["sheet"], []).append(r)
    assert [values(r)["value"] for r in by_sheet["list-column"]] == [
        "Clippy",
        "paperclip",
        "2007-01-01",
        "0.9",
    ]
    last = values(by_sheet["two-row-header"][-1])
    assert (last["name"], last["death"], last["weight"]) == ("Clippy", "2007-01-01", "0.9")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "csvspectrum-comma_in_quotes.csv",
            [
                {
                    "first": "John",
                    "last": "Doe",
                    "address": "120 any st.",
                    "city": "Anytown, WW",
                    "zip": "08123",
                }
            ],
        ),
        (
            "csvspectrum-newlines_crlf.csv",
            [
                {"a": "1", "b": "2", "c": "3"},
                {"a": "Once upon a time", "b": "5", "c": "6"},
                {"a": "7", "b": "8", "c": "9"},
            ],
        ),
    ],
)
def test_csv_spectrum(name: str, expected: list[dict[str, str]]) -> None:
    assert [values(r) for r in records_of(name)] == expected
