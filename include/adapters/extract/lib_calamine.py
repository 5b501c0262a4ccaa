"""XLSX worksheets read with python-calamine (Rust) into the grids the sheet reader consumes.

`read_sheets` gives, for every worksheet in workbook order (chart, dialog and macro sheets are left
out, as openpyxl's `workbook.worksheets` leaves them out), the grid of cached cell values from A1 to
the farthest cell with a value, with each merged range's top-left value in every cell of the range,
and whether the sheet is hidden: what `include/adapters/extract/tables.py` built from openpyxl before #24
(`load_workbook(data_only=True)`, `iter_rows(values_only=True)`, `merged_cells.ranges`,
`sheet_state`), read several times faster (see docs/benchmarks.md, "Libraries against our rules");
`tables.extract_xlsx` now reads every workbook with it.

Differences from openpyxl that a caller sees: numbers come as float (`1.0`; `normalize_value` renders
`1`), a date cell as `datetime.date` when its format has no time, a duration as `datetime.timedelta`;
an empty cell is None here, as in openpyxl, and so is an error cell (`#DIV/0!`, `#N/A`: python-calamine
0.9.1 gives it as ""; openpyxl gave its code as text). The grid ends with the last row and column
holding a value of their own: a merged range is clipped to it (openpyxl goes on with copies of the
range's value, out to XFD1048576 if the range does), so a range reaching past the data costs nothing.
Run the size check (`include.adapters.extract.sheet_cells.check_workbook`) before calling: a grid is dense
from A1.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from include.adapters.extract.records import ExtractionError

CellValue = object
"""A cell as python-calamine types it: str, float, int, bool, date, datetime, time, timedelta or None."""


@dataclass(frozen=True)
class SheetGrid:
    """One worksheet: its name, its rows from A1 (row i is Excel row i + 1), and whether it is hidden."""

    name: str
    rows: list[list[CellValue]]
    hidden: bool


def read_sheets(data: bytes, filename: str) -> list[SheetGrid]:
    """Every worksheet of an XLSX workbook as a grid (see the module docstring); ExtractionError when
    the bytes are not a workbook calamine can read."""
    from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:
        raise ExtractionError(filename, f"not a readable XLSX workbook: {type(exc).__name__}: {exc}") from exc
    sheets: list[SheetGrid] = []
    with workbook:
        for meta in workbook.sheets_metadata:
            if meta.typ != SheetTypeEnum.WorkSheet:
                continue
            try:
                sheet = workbook.get_sheet_by_name(meta.name)
                values = sheet.to_python(skip_empty_area=False)
                merged = sheet.merged_cell_ranges or []
            except Exception as exc:
                raise ExtractionError(
                    filename, f"sheet {meta.name!r} unreadable: {type(exc).__name__}: {exc}"
                ) from exc
            rows: list[list[CellValue]] = [[None if v == "" else v for v in row] for row in values]
            fill_merged(rows, merged)
            sheets.append(SheetGrid(meta.name, rows, meta.visible != SheetVisibleEnum.Visible))
    return sheets


def fill_merged(rows: list[list[CellValue]], ranges: list[tuple[tuple[int, int], tuple[int, int]]]) -> None:
    """Give each merged range's top-left value ((row, column) from 0, both ends inclusive) to every
    cell of the range that lies inside the grid."""
    for (r0, c0), (r1, c1) in ranges:
        if r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        top_left = rows[r0][c0]
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            for c in range(c0, min(c1, len(rows[r]) - 1) + 1):
                rows[r][c] = top_left
