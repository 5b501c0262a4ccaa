"""The strict table scorer (bench/table_scoring.py) on tables built here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from bench.table_scoring import (
    HEADER_ROW,
    ExpectedTable,
    ExtractedTable,
    ShapeExpectation,
    generated_name,
    header_matches,
    map_columns_by_header,
    normalize_text,
    passes,
    score_document,
    score_shape,
    score_table,
)

HEADER = ("Name", "Qty", "Price")
ROWS = (("apple", "3", "1.50"), ("pear", "5", "2.00"), ("plum", "3", "0.75"))


def _expected(
    rows: tuple[tuple[str, ...], ...] = ROWS, header: tuple[str | None, ...] = HEADER
) -> ExpectedTable:
    return ExpectedTable(header=header, rows=rows)


def _extracted(
    rows: Sequence[Sequence[str]], columns: tuple[str, ...] = HEADER, **kw: object
) -> ExtractedTable:
    return ExtractedTable(columns=columns, rows=tuple(dict(zip(columns, r, strict=True)) for r in rows), **kw)  # type: ignore[arg-type]


def test_a_faithful_table_scores_one_everywhere() -> None:
    score = score_table(_expected(), [_extracted(list(ROWS))])
    assert score.ratios() == {"cell": 1.0, "row": 1.0, "header": 1.0, "shape": None}
    assert (score.cells_found, score.cells_total, score.rows_exact, score.rows_total) == (9, 9, 3, 3)


def test_a_value_in_the_wrong_column_is_not_found() -> None:
    # "3" and "1.50" swapped between Qty and Price: the lenient scorer found both anywhere in the row.
    swapped = [("apple", "1.50", "3"), ROWS[1], ROWS[2]]
    score = score_table(_expected(), [_extracted(swapped)])
    assert score.cells_found == 7
    assert score.rows_exact == 2


def test_a_value_in_another_row_is_not_found() -> None:
    # pear's price sits in plum's row: present in the document, but not at its row.
    moved = [ROWS[0], ("pear", "5", ""), ("plum", "3", "2.00")]
    score = score_table(_expected(), [_extracted(moved)])
    assert score.cells_found == 9 - 2
    assert score.rows_exact == 1


def test_rows_match_one_to_one() -> None:
    # Two identical expected rows and one extracted row: only one of them can be found.
    expected = _expected(rows=(("apple", "3", "1.50"), ("apple", "3", "1.50")))
    score = score_table(expected, [_extracted([("apple", "3", "1.50")])])
    assert (score.cells_found, score.cells_total, score.rows_exact) == (3, 6, 1)


def test_rows_match_by_content_not_position() -> None:
    score = score_table(_expected(), [_extracted([ROWS[2], ROWS[0], ROWS[1]])])
    assert score.rows_exact == 3
    assert sorted((e, r) for e, _, r in score.matches) == [(0, 1), (1, 2), (2, 0)]


def test_a_row_split_over_two_records_is_not_exact() -> None:
    split = [ROWS[0], ("pear", "", ""), ("", "5", "2.00"), ROWS[2]]
    score = score_table(_expected(), [_extracted(split)])
    assert score.rows_exact == 2
    assert score.cells_found < score.cells_total


def test_a_column_named_otherwise_loses_its_cells_and_its_header() -> None:
    table = _extracted(list(ROWS), columns=("Name", "Quantity", "Price"))
    score = score_table(_expected(), [table])
    assert score.cells_found == 6  # Qty's three cells are not found
    assert (score.headers_found, score.headers_total) == (2, 3)


def test_a_grouped_column_name_ends_with_the_header() -> None:
    table = _extracted(list(ROWS), columns=("Name", "Stock Qty", "Price"))
    assert score_table(_expected(), [table]).ratios()["cell"] == 1.0
    assert header_matches("Qty", "Stock Qty")
    assert not header_matches("Qty", "Qtys")
    assert not header_matches("ty", "Stock Qty")
    assert header_matches("Welfare", "Family Welfare_2")


def test_a_header_row_taken_as_data_is_not_found() -> None:
    # The extractor named the columns after the first data row and kept the real header as a row.
    rows = [HEADER, ROWS[1], ROWS[2]]
    table = _extracted(rows, columns=ROWS[0])
    score = score_table(_expected(), [table])
    assert score.headers_found == 0
    assert score.cells_found == 0


def test_columns_without_a_header_are_matched_by_content() -> None:
    expected = _expected(header=(None, "Qty", "Price"))
    table = _extracted(list(ROWS), columns=("column_1", "Qty", "Price"))
    score = score_table(expected, [table])
    assert score.ratios()["cell"] == 1.0
    assert (score.headers_found, score.headers_total) == (2, 2)


def test_a_header_repeated_in_the_body_counts_once_and_never_beyond_the_total() -> None:
    # Two tables written back to back: the expected grid holds the second table's header as a body row.
    second_header = ("Name", "Colour", "Size")
    expected = _expected(rows=(*ROWS, second_header, ("kiwi", "green", "S")), header=HEADER)
    tables = [_extracted(list(ROWS)), _extracted([("kiwi", "green", "S")], columns=second_header)]
    score = score_table(expected, tables)
    assert score.cells_total == 15
    assert score.cells_found <= score.cells_total
    assert any(r == HEADER_ROW for _, _, r in score.matches)
    # The repeated header starts a section: the kiwi row stands under Name/Colour/Size from there on.
    assert (score.cells_found, score.rows_exact) == (15, 5)


def test_without_the_repeated_header_a_second_tables_rows_stand_under_the_first_header() -> None:
    expected = _expected(rows=(*ROWS, ("kiwi", "green", "S")), header=HEADER)
    tables = [
        _extracted(list(ROWS)),
        _extracted([("kiwi", "green", "S")], columns=("Name", "Colour", "Size")),
    ]
    score = score_table(expected, tables)
    assert (score.cells_found, score.rows_exact) == (10, 3)


def test_a_header_repeated_many_times_adds_nothing_beyond_its_rows() -> None:
    # Every extracted table has the same header, but the expected body holds it once: one hit row.
    expected = _expected(rows=(ROWS[0], HEADER))
    tables = [_extracted([ROWS[0]]), _extracted([]), _extracted([])]
    score = score_table(expected, tables)
    assert (score.cells_found, score.cells_total, score.rows_exact, score.rows_total) == (6, 6, 2, 2)


def test_a_column_empty_in_every_expected_row_has_no_header_to_score() -> None:
    expected = _expected(rows=(("apple", "3", ""), ("pear", "5", "")))
    table = _extracted([("apple", "3"), ("pear", "5")], columns=("Name", "Qty"))
    score = score_table(expected, [table])
    assert (score.headers_found, score.headers_total, score.rows_exact) == (2, 2, 2)


def test_a_row_span_given_to_every_row_is_exact_but_other_text_is_not() -> None:
    expected = _expected(rows=(("apple", "3", "1.50"), ("", "5", "2.00")))
    spanned = score_table(expected, [_extracted([("apple", "3", "1.50"), ("apple", "5", "2.00")])])
    assert spanned.rows_exact == 2
    other = score_table(expected, [_extracted([("apple", "3", "1.50"), ("pear", "5", "2.00")])])
    assert other.rows_exact == 1


def test_a_missing_extraction_scores_zero() -> None:
    score = score_table(_expected(), [])
    assert score.ratios() == {"cell": 0.0, "row": 0.0, "header": 0.0, "shape": None}


def test_empty_expected_cells_must_stay_empty_for_an_exact_row() -> None:
    expected = _expected(rows=(("apple", "", "1.50"),))
    score = score_table(expected, [_extracted([("apple", "3", "1.50")])])
    assert score.cells_found == score.cells_total == 2
    assert score.rows_exact == 0


def test_one_extracted_row_serves_only_one_expected_table() -> None:
    expected = [_expected(rows=(ROWS[0],)), _expected(rows=(ROWS[0],))]
    score = score_document(expected, [_extracted([ROWS[0]])])
    assert (score.rows_exact, score.rows_total) == (1, 2)


def test_sheet_and_page_limit_the_rows_a_table_may_match() -> None:
    expected = [ExpectedTable(header=HEADER, rows=ROWS, sheet="b")]
    score = score_document(expected, [_extracted(list(ROWS), sheet="a")])
    assert score.cells_found == 0
    assert score_document(expected, [_extracted(list(ROWS), sheet="b")]).cells_found == 9


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Preva-\nlence", "Preva-lence"),
        ("  a \r\n b ", "a b"),
        ("21.0", "21"),
        ("0.90", "0.9"),
        ("1,234.5", "1234.5"),
        ("2007-01-01T00:00:00", "2007-01-01"),
        ("2007-01-01 10:10:00", "2007-01-01T10:10:00"),
        ("10:10:10.100000", "10:10:10.1"),
        ("255:10:10.000", "255:10:10"),
        ("2010-10-10 10:10:10.500", "2010-10-10T10:10:10.5"),
        ("TRUE", "true"),
    ],
)
def test_documented_normalisation(left: str, right: str) -> None:
    assert normalize_text(left) == normalize_text(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("08123", "8123.5"),
        ("1.393,4", "1393.4"),
        ("3%", "3"),
        ("Apple", "apple"),
        ("0.965 0.969", "0.965"),
        ("10:10:10.1", "10:10:10.01"),
        ("10 days, 15:10:10", "255:10:10"),
    ],
)
def test_no_other_normalisation(left: str, right: str) -> None:
    assert normalize_text(left) != normalize_text(right)


def test_a_leading_zero_keeps_the_text() -> None:
    assert normalize_text("08123") == "08123"
    assert normalize_text("08123") != normalize_text("8123")
    assert normalize_text("0.50") == "0.5"


def test_shapes_hold_only_exactly() -> None:
    tables = [_extracted(list(ROWS)), _extracted([ROWS[0]])]
    assert (
        score_shape(ShapeExpectation(n_tables=2, rows=(4, 2), cols=(3, 3)), tables).ratios()["shape"] == 1.0
    )
    # No window: a table one row short fails, and so does a count of 3 where 2 were found.
    short = score_shape(ShapeExpectation(n_tables=3, rows=(5, 2)), tables)
    assert (short.shape_ok, short.shape_total) == (1, 3)


def test_every_table_shape_needs_at_least_one_table() -> None:
    assert score_shape(ShapeExpectation(every_rows=4), []).ratios()["shape"] == 0.0
    tables = [_extracted(list(ROWS)), _extracted([ROWS[0]])]
    assert score_shape(ShapeExpectation(every_rows=4), tables).ratios()["shape"] == 0.5


def test_passes_needs_cells_rows_and_every_shape() -> None:
    assert passes({"cell": 0.95, "row": 0.9, "header": 0.0, "shape": None})
    assert not passes({"cell": 0.94, "row": 1.0, "header": 1.0, "shape": None})
    assert not passes({"cell": 1.0, "row": 0.89, "header": 1.0, "shape": None})
    assert not passes({"cell": None, "row": None, "header": None, "shape": 0.5})


def test_the_split_holds_out_a_third_of_each_kind_whatever_the_order() -> None:
    from bench.table_corpus import split_parts

    docs = [Path(f"/c/pdf/doc{i}.pdf") for i in range(9)] + [Path(f"/c/csv/t{i}.csv") for i in range(6)]
    parts = split_parts(docs)
    assert sum(parts[d] == "heldout" for d in docs[:9]) == 3
    assert sum(parts[d] == "heldout" for d in docs[9:]) == 2
    assert split_parts(list(reversed(docs))) == parts


def test_a_grid_header_is_its_rows_above_the_first_number() -> None:
    from bench.table_corpus import grid_table

    table = grid_table([["Title", "", ""], ["Team", "Where", "Cups"], ["Blues", "STL", "1"]])
    assert table.header == ("Team", "Where", "Cups")
    assert table.rows == (("Blues", "STL", "1"),)


def test_records_group_into_tables_by_key() -> None:
    from bench.table_corpus import extracted_tables
    from include.adapters.extract.records import ExtractedRecord

    def record(key: str, text: str, columns: dict[str, list[int]]) -> ExtractedRecord:
        return ExtractedRecord(record_key=key, text=text, meta={"kind": "row", "page": 1, "columns": columns})

    records = [
        record("row=1", "a: 1 | b: 2", {"a": [3, 4], "b": [10, 11]}),
        record("row=2", "b: 3", {"b": [3, 4]}),
        record("page=1/table=2/row=1", "c: x", {"c": [3, 4]}),
    ]
    tables = extracted_tables(records)
    assert [t.columns for t in tables] == [("a", "b"), ("c",)]
    assert tables[0].rows == ({"a": "1", "b": "2"}, {"b": "3"})


def test_a_blank_headers_generated_names_match_by_position_only() -> None:
    assert generated_name(0) == "a" and generated_name(7) == "h" and generated_name(27) == "bb"
    columns = ["name", "column_2", "column_3"]
    assert map_columns_by_header(["name", None, "c"], columns) == {0: "name", 2: "column_3"}
    # "b" at position 2 is not the generated name of that position, and a real "column_2" header is not
    # taken for agate's name.
    assert map_columns_by_header(["name", "c", "b"], columns) == {0: "name"}


def test_a_transcribed_duration_reads_as_its_elapsed_time(tmp_path: Path) -> None:
    """python-calamine gives a duration cell as a timedelta; the corpus's JSON writes it "duration
    H:MM:SS[.ffffff]". It is read as the elapsed time, and only in such a transcribed grid."""
    from bench.table_corpus import load, transcribed_value

    (tmp_path / "expected").mkdir()
    grid = [["String", 1, "duration 10:10:10.100000", "duration 255:10:10", "duration of the run"]]
    (tmp_path / "expected" / "asserts.json").write_text(
        json.dumps({"xlsx/book.xlsx": {"Sheet1": {"to_python()": grid}}}), encoding="utf-8"
    )
    found = load(tmp_path / "xlsx" / "book.xlsx", tmp_path)
    assert found is not None
    (table,) = found.tables
    assert table.rows == (("String", "1", "10:10:10.100000", "255:10:10", "duration of the run"),)
    assert table.sheet == "Sheet1"
    extracted = _extracted(
        [("String", "1", "10:10:10.1", "255:10:10", "duration of the run")], columns=("a", "b", "c", "d", "e")
    )
    assert score_table(table, [extracted]).ratios()["row"] == 1.0
    assert transcribed_value("duration -1:00:00") == "-1:00:00"
    assert transcribed_value(5) == 5


def test_a_header_a_continued_table_repeats_in_full_is_found_at_each_repeat() -> None:
    # A table over three pages: the expected grid repeats the header at each page; the extractor drops the
    # repeats and gives one table. Each full repeat is found; the partial one is not.
    expected = _expected(rows=(ROWS[0], HEADER, ROWS[1], HEADER, ROWS[2], ("Name", "Qty", "Cost")))
    score = score_table(expected, [_extracted(list(ROWS))])
    assert (score.cells_total, score.rows_total) == (18, 6)
    assert (score.cells_found, score.rows_exact) == (15, 5)
    assert sum(1 for _, _, r in score.matches if r == HEADER_ROW) == 2
