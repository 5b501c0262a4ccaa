"""A table as people read it: a grid of cells with spans to title lines, one header and body rows.

A grid slot holds the text of the cell that starts there, or None where a spanning cell covers it
(`origin` says which). The rules, each independent of any one document:
- a column where no cell has text is dropped;
- leading rows holding one text across the table are titles (preamble), not column names;
- the header is every leading row up to the first row that reads as data (see `is_data_row`) or is
  a section row, one cell across the whole table (see `is_section_row`; at most MAX_HEADER_ROWS, at
  least one row): a column's name joins its header cells top to bottom, a cell spanning columns
  naming each column it spans; a section row stays a body row of its own, its text in the first
  column;
- in the body a cell spanning rows gives its text to every row it spans (each record stands alone),
  a cell spanning columns gives it once; a body row equal to the header (repeated after a page or
  section break) is not a record.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

MAX_HEADER_ROWS = 6
_NUMBER = re.compile(r"^[\s$€£¥(+\-−]*\d[\d.,\s/:\-]*%?\)?$")
_AMOUNT = re.compile(r"^[\s$€£¥(+\-−]*\d[\d.,\s]*%?\)?$")
_YEAR = re.compile(r"^(19|20)\d\d$")
_JOINING_SIGNS = frozenset(",;:-‐–&/(+")
_JOINING_WORDS = frozenset(
    {"a", "an", "and", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to", "with"}
)


def is_number_like(text: str) -> bool:
    """True for amounts, counts, percentages and dates written with digits ("$1,200.50", "(35,8)")."""
    return bool(_NUMBER.match(text))


def is_year(text: str) -> bool:
    """True for a bare year ("2011"), which heads columns as often as it fills them."""
    return bool(_YEAR.match(text.strip()))


def is_data_row(texts: Sequence[str]) -> bool:
    """True when a row reads as data, not header: it holds an amount, count or percentage (a bare
    year such as 2011 heads columns as often as it fills them), or half its cells are number-like
    (dates, fractions like 11/12 head columns too)."""
    filled = [t for t in texts if t]
    amounts = [t for t in filled if _AMOUNT.match(t) and not is_year(t)]
    return bool(amounts) or (bool(filled) and 2 * sum(map(is_number_like, filled)) >= len(filled))


@dataclass
class Grid:
    """Cells in rows and columns; `origin[r][c]` is the (row, column) of the cell covering slot r, c."""

    cells: list[list[str | None]]
    origin: list[list[tuple[int, int]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.origin:
            self.origin = [[(r, c) for c in range(len(row))] for r, row in enumerate(self.cells)]

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[str | None]]) -> Grid:
        """A grid from rows where None marks a slot covered by the nearest text to its left in the same
        row, else above it (pdfplumber's `extract()` shape)."""
        width = max((len(r) for r in rows), default=0)
        cells = [list(r) + [""] * (width - len(r)) for r in rows]
        origin: list[list[tuple[int, int]]] = []
        for r, row in enumerate(cells):
            origin.append([])
            for c, text in enumerate(row):
                if text is not None:
                    origin[r].append((r, c))
                elif c > 0 and row[c - 1] is None and origin[r][c - 1][0] == r:
                    origin[r].append(origin[r][c - 1])
                elif c > 0 and row[c - 1] is not None and (r == 0 or cells[r - 1][c] is not None):
                    origin[r].append((r, c - 1))
                elif r > 0:
                    origin[r].append(origin[r - 1][c])
                else:
                    origin[r].append((r, c))
        return cls(cells, origin)

    def text(self, r: int, c: int) -> str:
        """The text covering slot r, c on one line (see `join_lines`)."""
        r0, c0 = self.origin[r][c]
        return join_lines((self.cells[r0][c0] or "").split("\n"))


@dataclass
class ReadTable:
    """A table as read: title lines above it, one name per column and the body rows' values."""

    titles: list[str]
    names: list[str]
    rows: list[list[str]]
    header_rows: int


def read_table(grid: Grid, header: Sequence[str] | None = None) -> ReadTable:
    """Titles, column names and body rows of a grid. With `header` (the names of the table this one
    continues), no row is taken as header; leading rows equal to it are dropped."""
    grid = drop_empty_columns(grid)
    n_rows = len(grid.cells)
    width = len(grid.cells[0]) if grid.cells else 0
    titles: list[str] = []
    top = 0
    while header is None and top < n_rows - 1 and width > 1 and _is_title_row(grid, top):
        titles.append(_row_texts(grid, top)[0])
        top += 1
    if header is not None:
        names = list(header)
        h = 0
        while top + h < n_rows and [join_lines(x) for x in _slots(grid, top + h)] == names:
            h += 1
    else:
        h = _header_count(grid, top)
        names = _column_names(grid, top, top + h)
    body = [row for r in range(top + h, n_rows) for row in visual_rows(_slots(grid, r))]
    return ReadTable(titles=titles, names=names, rows=[row for row in body if row != names], header_rows=h)


def visual_rows(slots: Sequence[Sequence[str]]) -> list[list[str]]:
    """One grid row as the rows people see: when two or more cells hold the same number (2+) of lines,
    no cell holds another number of lines, and either every filled cell is so stacked or one of them
    is a stack of numbers, line i of each stacked cell is visual row i (a one-line cell repeats in
    each); otherwise the row as it is, each cell's lines joined by spaces (wrapped text)."""
    counts = {len(lines) for lines in slots if len(lines) > 1}
    stacked = [lines for lines in slots if len(lines) > 1]
    every = len(stacked) == sum(1 for lines in slots if lines)
    if (
        len(counts) == 1
        and len(stacked) >= 2
        and (every or any(all(map(is_number_like, s)) for s in stacked))
        and not any(map(reads_wrapped, stacked))
    ):
        (k,) = counts
        return [[lines[i] if len(lines) == k else join_lines(lines) for lines in slots] for i in range(k)]
    return [[join_lines(lines) for lines in slots]]


def reads_wrapped(lines: Sequence[str]) -> bool:
    """True when a cell's lines read as one text wrapped over lines, not values stacked one per line:
    a line after the first starts with a lower-case letter, or the line before it ends in a word or
    sign that cannot end a value (a comma, a hyphen, "and", "of" ...)."""
    for before, line in pairwise(lines):
        last = before.rsplit(None, 1)[-1].lower() if before.split() else ""
        if line[:1].islower() or last in _JOINING_WORDS or before.rstrip()[-1:] in _JOINING_SIGNS:
            return True
    return False


def join_lines(lines: Sequence[str]) -> str:
    """A cell's lines as one line: whitespace collapsed, a line ending in "/" running on without a
    space ("Incomplete/" + "Terminated")."""
    out = ""
    for line in (" ".join(line.split()) for line in lines):
        if line:
            out = f"{out}{line}" if not out or out.endswith("/") else f"{out} {line}"
    return out


def _slots(grid: Grid, r: int) -> list[list[str]]:
    """Row r's cells as lists of lines: a cell spanning rows from above repeats its text, a cell
    spanning columns from the left leaves the slot empty."""
    slots: list[list[str]] = []
    for c in range(len(grid.cells[r])):
        r0, c0 = grid.origin[r][c]
        if c0 != c:
            slots.append([])
        elif r0 != r:
            slots.append([grid.text(r, c)] if grid.text(r, c) else [])
        else:
            slots.append(
                [" ".join(line.split()) for line in (grid.cells[r][c] or "").split("\n") if line.strip()]
            )
    return slots


def drop_empty_columns(grid: Grid) -> Grid:
    """The grid without columns in which no slot holds or is covered by any text."""
    width = max((len(r) for r in grid.cells), default=0)
    keep = [c for c in range(width) if any(grid.text(r, c) for r in range(len(grid.cells)))]
    if len(keep) == width:
        return grid
    index = {c: i for i, c in enumerate(keep)}
    cells: list[list[str | None]] = []
    origin: list[list[tuple[int, int]]] = []
    for r, row in enumerate(grid.cells):
        cells.append([])
        origin.append([])
        for c in keep:
            r0, c0 = grid.origin[r][c]
            if c0 not in index:  # the cell started in a dropped (empty) column: it starts here now
                cells[r].append(row[c] if row[c] is not None else grid.cells[r0][c0])
                origin[r].append((r, index[c]))
            else:
                cells[r].append(row[c])
                origin[r].append((r0, index[c0]))
    return Grid(cells, origin)


def _row_texts(grid: Grid, r: int) -> list[str]:
    """The distinct texts of row r's cells (each spanning cell counted once)."""
    seen: list[str] = []
    for c in range(len(grid.cells[r])):
        text = grid.text(r, c)
        if text and grid.origin[r][c][0] == r and text not in seen:
            seen.append(text)
    return seen


def _is_title_row(grid: Grid, r: int) -> bool:
    texts = _row_texts(grid, r)
    return len(texts) == 1 and not is_number_like(texts[0])


def _header_count(grid: Grid, top: int) -> int:
    """Header rows from `top`: up to the first row that reads as data or is a section row (see
    `is_section_row`; at least one row, at most MAX_HEADER_ROWS: the first data row may be row
    top + MAX_HEADER_ROWS), and then on through every row a header cell spans down into."""
    n_rows = len(grid.cells)
    h = 1
    for r in range(top, min(top + MAX_HEADER_ROWS + 1, n_rows)):
        if is_data_row(_row_texts(grid, r)) or (r > top and is_section_row(grid, r)):
            h = max(1, r - top)
            break
    while top + h < n_rows - 1 and h < MAX_HEADER_ROWS and _spanned_into(grid, top, top + h):
        h += 1
    return h


def is_section_row(grid: Grid, r: int) -> bool:
    """True for a section row ("Region: North" between a table's rows): one cell, starting in row r,
    spans every column of a table of two or more. Below the first header row it starts the body: a
    header's group labels span some columns, not the whole table (above the header, such a row is a
    title)."""
    row = grid.origin[r]
    return len(row) > 1 and row[0][0] == r and all(o == row[0] for o in row)


def _spanned_into(grid: Grid, top: int, r: int) -> bool:
    return any(top <= r0 < r for r0, _ in grid.origin[r])


def _column_names(grid: Grid, top: int, end: int) -> list[str]:
    names = []
    for c in range(len(grid.cells[top]) if end > top else 0):
        parts: list[str] = []
        for r in range(top, end):
            text = grid.text(r, c)
            if text and (not parts or parts[-1] != text):
                parts.append(text)
        names.append(" ".join(parts))
    return names
