"""python-calamine as the XLSX reader (#24): grids equal to what openpyxl reads, on a workbook built here
with typed cells, merged ranges (one reaching far past the data), a hidden sheet, a gap row and a chart
sheet."""

from __future__ import annotations

import io
from datetime import date, datetime

import openpyxl
import pytest
from openpyxl.chart import BarChart, Reference

from include.adapters.extract.lib_calamine import fill_merged, read_sheets
from include.adapters.extract.records import ExtractionError
from include.adapters.extract.router import extract_document
from include.adapters.extract.rows import normalize_value


def workbook_bytes(merge_to: str = "G3") -> bytes:
    wb = openpyxl.Workbook()
    sales = wb.active
    assert sales is not None
    sales.title = "Sales"
    sales.append(["Quarterly report", None, None, None])
    sales.merge_cells("A1:D1")
    sales.append(["Region", "Units", "Revenue", "Closed"])
    sales.append(["North", 12, 1200.5, date(2024, 3, 31)])
    sales.append(["South", 7, 700, datetime(2024, 4, 2, 9, 30)])
    sales.append([None, None, None, None])
    sales.append(["Total", 19, 1900.5, True])
    sales["F2"] = "wide"
    sales.merge_cells(f"F2:{merge_to}")
    notes = wb.create_sheet("Notes")
    notes.append(["note", "value"])
    notes.append(["hidden", 1])
    notes.sheet_state = "hidden"
    chart = wb.create_chartsheet("Chart")
    bars = BarChart()
    bars.add_data(Reference(sales, min_col=2, min_row=2, max_row=4), titles_from_data=True)
    chart.add_chart(bars)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def openpyxl_grids(data: bytes) -> dict[str, list[list[str]]]:
    """What include/adapters/extract/tables.py reads: values from A1, merged ranges filled, as rendered text,
    up to the last column holding a value of its own. Where a merged range reaches past that column,
    openpyxl's grid goes on with copies of its value (out to XFD if the range does); calamine's
    grid ends with the data (see the next tests)."""
    wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    grids = {}
    for sheet in wb.worksheets:
        grid = [list(row) for row in sheet.iter_rows(min_row=1, min_col=1, values_only=True)]
        width = max((i + 1 for row in grid for i, v in enumerate(row) if normalize_value(v)), default=0)
        for merged in sheet.merged_cells.ranges:
            top_left = grid[merged.min_row - 1][merged.min_col - 1]
            for r in range(merged.min_row, min(merged.max_row, len(grid)) + 1):
                for c in range(merged.min_col, min(merged.max_col, len(grid[r - 1])) + 1):
                    grid[r - 1][c - 1] = top_left
        grids[sheet.title] = [[normalize_value(v) for v in row[:width]] for row in grid]
    return grids


def test_grids_render_as_openpyxl_reads_them() -> None:
    data = workbook_bytes()
    sheets = read_sheets(data, "book.xlsx")
    assert [s.name for s in sheets] == ["Sales", "Notes"]  # the chart sheet is not a worksheet
    assert [s.hidden for s in sheets] == [False, True]
    expected = openpyxl_grids(data)
    for sheet in sheets:
        width = len(expected[sheet.name][0])
        got = [[normalize_value(v) for v in row][:width] for row in sheet.rows]
        assert got == expected[sheet.name], sheet.name


def test_values_keep_their_types_and_merges_fill_the_range() -> None:
    sales = read_sheets(workbook_bytes(), "book.xlsx")[0]
    assert sales.rows[0][:4] == ["Quarterly report"] * 4
    assert sales.rows[2] == ["North", 12, 1200.5, date(2024, 3, 31), None, "wide"]
    assert sales.rows[3][3] == datetime(2024, 4, 2, 9, 30)
    assert sales.rows[4] == [None] * 6
    assert sales.rows[5][3] is True
    assert [row[5] for row in sales.rows] == [None, "wide", "wide", None, None, None]
    assert {len(row) for row in sales.rows} == {6}  # G2:G3 is merged, but holds no value of its own


def test_a_merged_range_past_the_data_is_clipped_not_expanded() -> None:
    """openpyxl makes a cell for each of the range's 32,756 slots (and tables.py copies the value into
    each); calamine gives the grid of the data, and the range fills only what lies inside it."""
    sales = read_sheets(workbook_bytes(merge_to="XFD3"), "book.xlsx")[0]
    assert {len(row) for row in sales.rows} == {6}
    assert [row[5] for row in sales.rows[:4]] == [None, "wide", "wide", None]


def test_the_extractor_reads_workbooks_through_calamine() -> None:
    """extract_xlsx reads the cells with read_sheets: the range F2:XFD3 reaching past the data stays one
    column "wide" (openpyxl's grid gave 16,379 columns of copies), the chart sheet is left out, the
    hidden sheet's rows say so, typed values render as text."""
    records = extract_document(workbook_bytes(merge_to="XFD3"), "book.xlsx")
    assert [(r.record_key, r.meta["kind"], r.meta.get("hidden", False), r.text) for r in records] == [
        ("sheet=Sales/table=1/row=1", "preamble", False, "Quarterly report"),
        (
            "sheet=Sales/table=1/row=3",
            "row",
            False,
            "Region: North | Units: 12 | Revenue: 1200.5 | Closed: 2024-03-31",
        ),
        (
            "sheet=Sales/table=1/row=4",
            "row",
            False,
            "Region: South | Units: 7 | Revenue: 700 | Closed: 2024-04-02T09:30:00",
        ),
        (
            "sheet=Sales/table=1/row=6",
            "row",
            False,
            "Region: Total | Units: 19 | Revenue: 1900.5 | Closed: true",
        ),
        ("sheet=Sales/table=2/row=3", "row", False, "wide: wide"),
        ("sheet=Notes/row=2", "row", True, "note: hidden | value: 1"),
    ]


def test_fill_merged_clips_to_the_grid() -> None:
    rows: list[list[object]] = [["a", None], [None, None]]
    fill_merged(rows, [((0, 0), (1_048_575, 16_383)), ((5, 5), (6, 6))])
    assert rows == [["a", "a"], ["a", "a"]]


def test_not_a_workbook_names_the_file() -> None:
    with pytest.raises(ExtractionError, match=r"broken\.xlsx"):
        read_sheets(b"PK\x03\x04 not a zip", "broken.xlsx")
