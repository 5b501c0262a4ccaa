"""img2table's tables as our grids (#24): spanning cells, read by our grid rules; no boxes, no tables.
These tests need no img2table install: its cells are stood in for by objects with `bbox` and `value`."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from include.adapters.extract.grid import read_table
from include.adapters.extract.lib_img2table import find_tables, table_grid


@dataclass(frozen=True)
class Box:
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass(frozen=True)
class Cell:
    bbox: Box
    value: str | None


def test_a_cell_spanning_slots_covers_them_from_its_top_left() -> None:
    title = Cell(Box(0, 0, 300, 20), "Results")
    merged = Cell(Box(100, 40, 200, 100), "Merged\nCells")
    slots = [
        [title, title, title],
        [
            Cell(Box(0, 20, 100, 40), "Name"),
            Cell(Box(100, 20, 200, 40), "Score"),
            Cell(Box(200, 20, 300, 40), "Note"),
        ],
        [Cell(Box(0, 40, 100, 60), "a"), merged, Cell(Box(200, 40, 300, 60), "1")],
        [Cell(Box(0, 60, 100, 80), "b"), merged, Cell(Box(200, 60, 300, 80), None)],
    ]
    grid = table_grid(slots)
    assert grid.cells[0] == ["Results", None, None]
    assert grid.origin[0] == [(0, 0), (0, 0), (0, 0)]
    assert grid.cells[3] == ["b", None, ""]
    assert grid.origin[3][1] == (2, 1)
    read = read_table(grid)
    assert read.titles == ["Results"]
    assert read.names == ["Name", "Score", "Note"]
    assert read.rows == [["a", "Merged Cells", "1"], ["b", "Merged Cells", ""]]


def test_no_ocr_boxes_no_tables() -> None:
    assert find_tables(Image.new("RGB", (40, 20), "white"), []) == []
