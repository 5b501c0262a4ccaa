"""A corpus of documents with expected tables, read for the strict scorer (bench/table_scoring.py).

    DIR/<sub>/<file>      documents (pdf/, xlsx/, csv/, png/ ...)
    DIR/expected/         what their sources expect

Expected tables come from, per document (`<stem>` its file name without extension):
- `expected/<stem>.csv` or `expected/<stem>-table<N>.csv`: one grid per table;
- `expected/*.json`, keyed by document path (`xlsx/a.xlsx`) or file name. The layouts understood:
  a list of row objects (or one object; header = keys); a `{sheet: {range, header_rows, columns}}` map,
  whose grid is read from the workbook with python-calamine (not openpyxl, the extractor's reader);
  pdfplumber-style assertion lists (`last_row` as a headerless one-row table, `n_tables` with default
  settings, `rows_per_table_in_order`, `each_table.n_rows`); `cases[0].rows` or `cases[0].output`
  (CSV text, on `intended_sheet`); `rows` (a grid); `include_header_False.element1.rows` on its
  `page_name` sheet; `Inventory` defined tables (`columns`, `data`, `sheet`); `intended_table` ranges
  ("A9:D10: header row 9 ..."); `observed` blocks given by range ("A1:B3") as headerless tables;
  python-calamine `to_python()` grids as headerless tables (a `timedelta` there is transcribed
  "duration H:MM:SS[.ffffff]" and read as its elapsed time, `transcribed_value`); `page_N.expected_file`
  grids and `page_N.assert.n_tables`; `assert.n_tables`, `assert.tables[].n_rows/n_cols` and `assert.n_rows`.
  Anything else in a JSON (notes, observations of other readers, settings-specific counts, crops,
  sparse cell assertions) is not scored.

A grid's header is its leading rows up to the first row with a number-like cell (title rows of one
cell first), at least one row; each column's header is its bottom-most non-empty header cell.

Kinds: `pdf-ruled`, `pdf-unruled` (the PDFs whose source reads them as unruled: camelot stream,
tabula's basic algorithm; listed in UNRULED_PDFS), `image`, `xlsx`, `csv`.

Held-out split (`part_of`): within each kind, files are ranked by the SHA-256 of their file name; every
third (ranks 2, 5, 8 ... counting from 0) is held out, the rest is the tune part. About 1/3 of each kind
is held out. Adding files to a kind can move files of that kind between parts: record the split
(`--list-parts`) with any result.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.table_scoring import ExpectedTable, ExtractedTable, ShapeExpectation

KINDS = ("pdf-ruled", "pdf-unruled", "image", "xlsx", "csv")
UNRULED_PDFS = frozenset(
    {
        "camelot-health",
        "camelot-12s0324",
        "camelot-anticlockwise_table_2",
        "tabula-us-020",
        "tabula-indictb1h_14",
        "tabula-MultiColumn",
    }
)
_SUBFOLDER_KIND = {
    "pdf": "pdf",
    "png": "image",
    "jpg": "image",
    "images": "image",
    "xlsx": "xlsx",
    "csv": "csv",
}
_NUMBER_LIKE = re.compile(r"^[\s$€£(+\-]*\d[\d.,\s]*%?\)?$")
_ROW_KEY = re.compile(r"(^|/)row=\d+$")
_DURATION = re.compile(r"^duration -?\d+:\d{2}:\d{2}(\.\d+)?$")
_RANGE = re.compile(r"^([A-Z]+)(\d+):([A-Z]+)(\d+)")


@dataclass
class Expectations:
    """What a document's sources expect: tables to score cell by cell, and shape assertions."""

    tables: list[ExpectedTable] = field(default_factory=list)
    shapes: list[ShapeExpectation] = field(default_factory=list)


def kind_of(doc: Path) -> str:
    """The document's kind, from its sub-folder (or extension) and UNRULED_PDFS."""
    sub = _SUBFOLDER_KIND.get(doc.parent.name.lower()) or _SUBFOLDER_KIND.get(doc.suffix.lower().lstrip("."))
    if sub == "pdf":
        return "pdf-unruled" if doc.stem in UNRULED_PDFS else "pdf-ruled"
    if doc.suffix.lower() in (".png", ".jpg", ".jpeg", ".tif", ".tiff"):
        return "image"
    return sub or "csv"


def _name_hash(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


def split_parts(docs: Sequence[Path]) -> dict[Path, str]:
    """'tune' or 'heldout' for each document: see the module docstring."""
    by_kind: dict[str, list[Path]] = {}
    for doc in docs:
        by_kind.setdefault(kind_of(doc), []).append(doc)
    parts: dict[Path, str] = {}
    for members in by_kind.values():
        for rank, doc in enumerate(sorted(members, key=lambda d: _name_hash(d.name))):
            parts[doc] = "heldout" if rank % 3 == 2 else "tune"
    return parts


def documents(root: Path) -> list[Path]:
    """Every document under DIR's sub-folders except expected/ and notes."""
    return sorted(
        p
        for p in root.glob("*/*")
        if p.is_file() and p.parent.name != "expected" and not p.name.endswith(".md")
    )


def header_rows(grid: Sequence[Sequence[str]]) -> int:
    """Leading title rows (one cell or none) and then at least one row: every row up to the first
    one with a number-like cell."""
    titles = 0
    while titles < len(grid) - 1 and sum(1 for c in grid[titles] if c.strip()) <= 1:
        titles += 1
    for n in range(titles, len(grid)):
        if any(_NUMBER_LIKE.match(c) for c in grid[n] if c.strip()):
            return max(n, titles + 1)
    return min(titles + 1, len(grid))


def grid_table(
    grid: Sequence[Sequence[object]], header_count: int | None = None, **where: Any
) -> ExpectedTable:
    """An expected table from a grid of cell texts (see the module docstring for its header)."""
    text = [[_text(c) for c in row] for row in grid]
    h = header_rows(text) if header_count is None else header_count
    width = max((len(r) for r in text), default=0)
    header: list[str | None] = []
    for j in range(width):
        above = [r[j] for r in text[:h] if j < len(r) and r[j].strip()]
        header.append(above[-1] if above else None)
    return ExpectedTable(header=tuple(header), rows=tuple(tuple(r) for r in text[h:]), **where)


def headerless_table(grid: Sequence[Sequence[object]], **where: Any) -> ExpectedTable:
    """An expected table whose every row is data and whose columns have no header."""
    width = max((len(r) for r in grid), default=0)
    return ExpectedTable(
        header=(None,) * width, rows=tuple(tuple(_text(c) for c in r) for r in grid), **where
    )


def _text(value: object) -> str:
    """A value from a reader or a JSON as text: ISO dates, Python's own number and bool text."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def transcribed_value(value: object) -> object:
    """A value of a transcribed python-calamine grid as the value it stands for: the JSON writes a
    `timedelta` as "duration " and its elapsed time in hours ("duration 255:10:10")."""
    if isinstance(value, str) and _DURATION.match(value):
        return value.removeprefix("duration ")
    return value


def load(doc: Path, root: Path) -> Expectations | None:
    """The expectations of one document, or None when its sources give none that can be scored."""
    folder = root / "expected"
    found = Expectations()
    grids = sorted(folder.glob(f"{doc.stem}.csv")) + sorted(
        folder.glob(f"{doc.stem}-table*.csv"),
        key=lambda p: int(re.sub(r"\D", "", p.stem[len(doc.stem) :]) or 0),
    )
    for grid_file in grids:
        found.tables.append(grid_table(_read_csv(grid_file.read_text(encoding="utf-8"))))
    rel = doc.relative_to(root).as_posix()
    for source in sorted(folder.glob("*.json")):
        entries = json.loads(source.read_text(encoding="utf-8"))
        entry = entries.get(rel, entries.get(doc.name)) if isinstance(entries, dict) else None
        if entry is not None:
            _from_json(entry, doc, folder, found)
    return found if found.tables or found.shapes else None


def _read_csv(text: str) -> list[list[str]]:
    return [list(r) for r in csv.reader(io.StringIO(text, newline=""))]


def _from_json(entry: Any, doc: Path, folder: Path, found: Expectations) -> None:
    if isinstance(entry, list) and entry and all(isinstance(e, dict) and "assert" in e for e in entry):
        for item in entry:
            _assertion(item, found)
        return
    if isinstance(entry, list) or (
        isinstance(entry, dict) and all(isinstance(v, str) for v in entry.values())
    ):
        rows = entry if isinstance(entry, list) else [entry]
        names = list(rows[0]) if rows else []
        found.tables.append(grid_table([names] + [[r.get(n, "") for n in names] for r in rows], 1))
        return
    if not isinstance(entry, dict):
        return
    ranges = {k: v for k, v in entry.items() if isinstance(v, dict) and "range" in v}
    for sheet, spec in ranges.items():
        table = grid_table(
            read_range(doc, sheet, spec["range"]), int(spec.get("header_rows", 1)), sheet=sheet
        )
        if spec.get("columns"):
            table = ExpectedTable(header=tuple(spec["columns"]), rows=table.rows, sheet=sheet)
        found.tables.append(table)
    if ranges:
        return
    _structured(entry, doc, folder, found)


def _structured(entry: dict[str, Any], doc: Path, folder: Path, found: Expectations) -> None:
    """The second-batch layouts (see the module docstring)."""
    if entry.get("cases"):
        case = entry["cases"][0]
        grid = case.get("rows") or (_read_csv(case["output"]) if "output" in case else None)
        if grid:
            found.tables.append(grid_table(grid, 1, sheet=entry.get("intended_sheet")))
    if isinstance(entry.get("rows"), list):
        found.tables.append(grid_table(entry["rows"]))
    element = (entry.get("include_header_False") or {}).get("element1") or {}
    if isinstance(element.get("rows"), list):
        found.tables.append(grid_table(element["rows"], 1, sheet=element.get("page_name")))
    for name, spec in entry.items():
        if isinstance(spec, dict) and {"columns", "data", "sheet"} <= spec.keys() and name[:1].isupper():
            found.tables.append(grid_table([spec["columns"], *spec["data"]], 1, sheet=spec["sheet"]))
    intended = entry.get("intended_table")
    if isinstance(intended, str) and (m := _RANGE.match(intended)) and entry.get("sheets"):
        sheet = entry["sheets"][0]["name"]
        found.tables.append(grid_table(read_range(doc, sheet, m.group(0)), 1, sheet=sheet))
    observed = entry.get("observed")
    for sheet, blocks in observed.items() if isinstance(observed, dict) else ():
        for where, block in blocks.items() if isinstance(blocks, dict) else ():
            if _RANGE.match(where) and isinstance(block, list):
                found.tables.append(headerless_table(block, sheet=sheet))
    for sheet, spec in entry.items():
        if isinstance(spec, dict) and spec.get("to_python()"):
            grid = [[transcribed_value(value) for value in row] for row in spec["to_python()"]]
            found.tables.append(headerless_table(grid, sheet=sheet))
    for key, spec in entry.items():
        if key.startswith("page_") and isinstance(spec, dict):
            page = int(key.split("_")[1])
            target = str(spec.get("expected_file", "")).split(" ")[0]
            if target.startswith("expected/") and (folder / target.split("/", 1)[1]).is_file():
                text = (folder / target.split("/", 1)[1]).read_text(encoding="utf-8")
                found.tables.append(grid_table(_read_csv(text), page=page))
            if isinstance(spec.get("assert"), dict) and "n_tables" in spec["assert"]:
                found.shapes.append(ShapeExpectation(page=page, n_tables=int(spec["assert"]["n_tables"])))
    claim = entry.get("assert")
    if isinstance(claim, dict):
        tables = claim.get("tables") or []
        found.shapes.append(
            ShapeExpectation(
                n_tables=claim.get("n_tables"),
                rows=tuple(t.get("n_rows") for t in tables) or (claim.get("n_rows"),),
                cols=tuple(t.get("n_cols") for t in tables),
            )
        )


def _assertion(item: dict[str, Any], found: Expectations) -> None:
    """pdfplumber-style assertions: only those that hold for any reader's default reading."""
    claim, page = item["assert"], item.get("page")
    if "last_row" in claim:
        found.tables.append(headerless_table([claim["last_row"]], page=page))
    default = not item.get("table_settings")
    if "rows_per_table_in_order" in claim:
        found.shapes.append(
            ShapeExpectation(
                page=page, n_tables=claim.get("n_tables"), rows=tuple(claim["rows_per_table_in_order"])
            )
        )
    elif "n_tables" in claim and default:
        found.shapes.append(ShapeExpectation(page=page, n_tables=int(claim["n_tables"])))
    if "each_table" in claim:
        found.shapes.append(ShapeExpectation(page=page, every_rows=int(claim["each_table"]["n_rows"])))


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def read_range(doc: Path, sheet: str, ref: str) -> list[list[object]]:
    """The cells of `ref` ("B3:D6") on `sheet`, read with python-calamine (values as it types them)."""
    from python_calamine import CalamineWorkbook

    m = _RANGE.match(ref)
    if m is None:
        raise ValueError(f"not a cell range: {ref}")
    c0, r0, c1, r1 = (
        _column_index(m.group(1)),
        int(m.group(2)) - 1,
        _column_index(m.group(3)),
        int(m.group(4)) - 1,
    )
    grid = CalamineWorkbook.from_path(str(doc)).get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    return [[row[c] if c < len(row) else "" for c in range(c0, c1 + 1)] for row in grid[r0 : r1 + 1]]


def extracted_tables(records: Sequence[Any]) -> list[ExtractedTable]:
    """The extractor's row records grouped into tables (by record key less its final `row=N`), in document
    order. A table's columns are the names its rows carry, in order of first appearance (a column
    empty in every row does not appear)."""
    grouped: dict[str, list[Any]] = {}
    for r in records:
        if r.meta.get("kind") == "row" and r.meta.get("columns"):
            grouped.setdefault(_ROW_KEY.sub("", r.record_key), []).append(r)
    tables = []
    for members in grouped.values():
        columns: dict[str, None] = {}
        rows = []
        for r in members:
            spans = r.meta["columns"]
            columns.update(dict.fromkeys(spans))
            rows.append({name: r.text[s:e] for name, (s, e) in spans.items()})
        first = members[0].meta
        tables.append(
            ExtractedTable(
                columns=tuple(columns), rows=tuple(rows), sheet=first.get("sheet"), page=first.get("page")
            )
        )
    return tables
