"""Table fidelity: how close the extractor's row records come to the tables people read in a folder of
documents with their expected tables beside them.

    python bench/table_fidelity.py DIR [--part tune|heldout|all] [--scorer strict|lenient] [--list-parts]

The strict scorer (default) is bench/table_scoring.py, on expectations read by bench/table_corpus.py
(which also defines the kinds and the held-out split). It reports per file and per kind and part: cell
recall (a cell is found only at its matched row and its column by header), exact rows, header
accuracy, shape checks, pass (cell >= 0.95, exact rows >= 0.9, every shape check), seconds and seconds
per page.

`--scorer lenient` is the scorer of issue 14, kept only to compare with figures recorded before #24.
It is lenient: a cell counts when its text is a value anywhere in the document, a header repeated in
the body can add hits beyond the total, shape assertions pass within a window, and XLSX expectations
are read with openpyxl and rendered by the extractor's own `normalize_value`. Its loader reads
`expected/<stem>.csv` and the first batch's JSON layouts only:
- `expected/<stem>.csv`: the expected grid of `<sub>/<stem>.<ext>` (leading rows with no number-like cell
  are its header; in-cell line breaks count as spaces);
- `expected/<name>.json`: one object keyed by document path (`xlsx/a.xlsx`) or file name, whose value is
  a list of row objects (header = keys), a `{sheet: {range, header_rows, columns}}` map (the grid is read
  from the workbook), or a list of assertions `{page, assert: {last_row | rows_per_table_in_order |
  each_table}}` (only what is asserted is scored).
Per file: word recall, cell recall, row recall, header accuracy and the extraction time.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import fmean
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import table_corpus, table_scoring
from include.adapters.extract.records import ExtractedRecord, ExtractionError
from include.adapters.extract.router import extract_document
from include.adapters.extract.rows import normalize_value

HEADER_ROWS_ALLOWED = 3


def cell_key(value: object) -> str:
    """A cell as compared: rendered like the extractor renders it, whitespace collapsed, a line break
    after a hyphen or slash joined ("Preva-\\nlence" and "Preva- lence" compare equal)."""
    text = value if isinstance(value, str) else normalize_value(value)
    return re.sub(r"([-/])\s+", r"\1", " ".join(text.split()))


def words(text: str) -> list[str]:
    """Runs of letters and digits: words run together ("TRAVELCBACARD") do not match their parts."""
    return re.findall(r"\w+", text)


@dataclass
class Expected:
    """The expected data rows of one table with their column headers (None: not scored)."""

    rows: list[list[str]]
    headers: list[str | None]
    sheet: str | None = None
    words: bool = True
    page: int | None = None
    table_rows: list[int] | None = None
    each_table: dict[str, Any] | None = None


@dataclass
class Score:
    """Counts for one document, turned into ratios by `ratios`."""

    words: list[int] = field(default_factory=lambda: [0, 0])
    cells: list[int] = field(default_factory=lambda: [0, 0])
    rows: list[int] = field(default_factory=lambda: [0, 0])
    headers: list[int] = field(default_factory=lambda: [0, 0])

    def ratios(self) -> dict[str, float | None]:
        return {
            name: (hit / total if total else None)
            for name, (hit, total) in (
                ("word", self.words),
                ("cell", self.cells),
                ("row", self.rows),
                ("header", self.headers),
            )
        }


def grid_expected(grid: list[list[str]], header_count: int | None = None) -> Expected:
    h = table_corpus.header_rows(grid) if header_count is None else header_count
    width = max((len(r) for r in grid), default=0)
    headers: list[str | None] = []
    for j in range(width):
        above = [cell_key(r[j]) for r in grid[:h] if j < len(r) and cell_key(r[j])]
        headers.append(above[-1] if above else None)
    return Expected(rows=[[cell_key(c) for c in r] for r in grid[h:]], headers=headers)


def load_expected(doc: Path, root: Path) -> list[Expected] | None:
    """The expected tables of one document, or None when none lie beside it."""
    folder = root / "expected"
    grid_file = folder / f"{doc.stem}.csv"
    if grid_file.is_file():
        with grid_file.open(newline="", encoding="utf-8") as handle:
            return [grid_expected([list(r) for r in csv.reader(handle)])]
    rel = doc.relative_to(root).as_posix()
    for source in sorted(folder.glob("*.json")):
        entries = json.loads(source.read_text(encoding="utf-8"))
        entry = entries.get(rel, entries.get(doc.name))
        if entry is not None:
            return _json_expected(entry, doc)
    return None


def _json_expected(entry: Any, doc: Path) -> list[Expected]:
    if isinstance(entry, dict) and any(isinstance(v, dict) and "range" in v for v in entry.values()):
        return [_sheet_expected(doc, sheet, spec) for sheet, spec in entry.items() if isinstance(spec, dict)]
    if isinstance(entry, dict):
        entry = [entry]
    if entry and "assert" in entry[0]:
        return [e for item in entry if (e := _assert_expected(item)) is not None]
    names = list(entry[0]) if entry else []
    grid = [names] + [[str(row.get(n, "")) for n in names] for row in entry]
    return [grid_expected(grid, header_count=1)]


def _sheet_expected(doc: Path, sheet: str, spec: dict[str, Any]) -> Expected:
    import openpyxl

    workbook = openpyxl.load_workbook(doc, data_only=True, read_only=True)
    cells = workbook[sheet][spec["range"]]
    grid = [[cell_key(c.value) for c in row] for row in cells]
    h = int(spec.get("header_rows", 1))
    expected = grid_expected(grid, header_count=h)
    if spec.get("columns"):
        expected.headers = [cell_key(c) for c in spec["columns"]]
    expected.sheet = sheet
    return expected


def _assert_expected(item: dict[str, Any]) -> Expected | None:
    claim, page = item["assert"], item.get("page")
    if "last_row" in claim:
        return Expected(rows=[[cell_key(c) for c in claim["last_row"]]], headers=[], words=False, page=page)
    if "rows_per_table_in_order" in claim:
        shape = claim["rows_per_table_in_order"]
        return Expected(rows=[], headers=[], words=False, page=page, table_rows=shape)
    if "each_table" in claim:
        return Expected(rows=[], headers=[], words=False, page=page, each_table=claim["each_table"])
    return None


def _tables(records: list[ExtractedRecord], page: int | None) -> list[list[ExtractedRecord]]:
    """Row records grouped by table, in document order, on one page (all pages when None)."""
    grouped: dict[str, list[ExtractedRecord]] = {}
    for r in records:
        if r.meta.get("kind") == "row" and (page is None or r.meta.get("page") == page):
            grouped.setdefault(r.record_key.rsplit("/row=", 1)[0], []).append(r)
    return list(grouped.values())


def _score_structure(records: list[ExtractedRecord], table: Expected, score: Score) -> None:
    """Row recall of assertions about table shapes: a table whose row records plus a header of one to
    HEADER_ROWS_ALLOWED rows (pdfplumber counts each header row) make the asserted row count is one
    hit per asserted row."""
    found = _tables(records, table.page)
    if table.table_rows is not None:
        for i, n in enumerate(table.table_rows):
            score.rows[1] += n - 1
            if i < len(found) and n - HEADER_ROWS_ALLOWED <= len(found[i]) <= n - 1:
                score.rows[0] += n - 1
    if table.each_table is not None:
        rows, needle = int(table.each_table["n_rows"]), table.each_table["every_cell_of_row_4_contains"]
        for t in found or [[]]:
            score.rows[1] += rows - 1
            last = t[-1] if len(t) == rows - 1 else None
            if last is not None and all(needle in v for v in _record_cells(last).values()):
                score.rows[0] += rows - 1


def score_document(records: list[ExtractedRecord], expected: list[Expected]) -> Score:
    score = Score()
    text_words = Counter(w for r in records for w in words(r.text))
    for table in expected:
        if table.table_rows is not None or table.each_table is not None:
            _score_structure(records, table, score)
            continue
        pool = [r for r in records if table.sheet is None or r.meta.get("sheet") == table.sheet]
        values = [_record_cells(r) for r in pool]
        found_cells = Counter(v for cells in values for v in cells.values())
        headers = [
            Counter(cell_key(n) for n in r.meta["columns"]) for r in pool if r.meta.get("kind") == "row"
        ]
        if table.words:
            want = Counter(w for row in table.rows for c in row for w in words(c))
            want.update(w for c in table.headers if c and table.sheet is None for w in words(c))
            score.words[0] += sum(min(n, text_words[w]) for w, n in want.items())
            score.words[1] += sum(want.values())
        for row in table.rows:
            cells = [c for c in row if c]
            if not cells:
                continue
            score.cells[1] += len(cells)
            score.cells[0] += sum(1 for c in cells if found_cells[c] > 0)
            score.rows[1] += 1
            if any(not Counter(cells) - names for names in headers) and len(cells) > 1:
                score.cells[0] += len(cells)  # a header repeated in the body: it names the columns
                score.rows[0] += 1
                continue
            match = next((v for v in values if not Counter(cells) - Counter(v.values())), None)
            if match is not None:
                score.rows[0] += 1
            for j, c in enumerate(row):
                want_header = table.headers[j] if j < len(table.headers) else None
                if not c or not want_header or match is None:
                    continue
                score.headers[1] += 1
                names = [name for name, v in match.items() if v == c]
                if any(want_header.lower() in cell_key(name).lower() for name in names):
                    score.headers[0] += 1
    return score


def _record_cells(record: ExtractedRecord) -> dict[str, str]:
    columns = record.meta.get("columns")
    if record.meta.get("kind") == "row" and columns:
        return {name: cell_key(record.text[s:e]) for name, (s, e) in columns.items()}
    return {"": cell_key(record.text)}


def _passes(ratios: dict[str, float | None]) -> bool:
    """The goal of issue 14: cell recall >= 0.95 (where cells are asserted) and row recall >= 0.9."""
    cell, row = ratios["cell"], ratios["row"]
    return (cell is None or cell >= 0.95) and (row is None or row >= 0.9)


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def _extract(doc: Path, warmed: set[str]) -> tuple[list[ExtractedRecord], float, str | None]:
    """The document's records, the seconds they took (imports and model loads excluded: the first
    document of each extension is extracted once before it is timed) and the error, if any."""
    if doc.suffix.lower() not in warmed:
        warmed.add(doc.suffix.lower())
        with contextlib.suppress(ExtractionError):
            extract_document(doc.read_bytes(), doc.name)
    started = time.perf_counter()
    try:
        records, error = extract_document(doc.read_bytes(), doc.name), None
    except ExtractionError as exc:
        records, error = [], str(exc)
    return records, time.perf_counter() - started, error


def _pages(records: list[ExtractedRecord]) -> int:
    return max([int(p) for r in records if isinstance(p := r.meta.get("page"), int)] or [1])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, help="folder of documents with expected/ beside them")
    parser.add_argument(
        "--scorer",
        choices=("strict", "lenient"),
        default="strict",
        help="strict: bench/table_scoring.py (default); lenient: the scorer of issue 14, kept to compare",
    )
    parser.add_argument(
        "--part",
        choices=("tune", "heldout", "all"),
        default="all",
        help="which part of the corpus (see bench/table_corpus.py: about 1/3 of each kind is held out)",
    )
    parser.add_argument(
        "--list-parts", action="store_true", help="print each document's kind and part, then stop"
    )
    args = parser.parse_args(argv)
    root: Path = args.dir.resolve()
    docs = table_corpus.documents(root)
    parts = table_corpus.split_parts(docs)
    if args.list_parts:
        for doc in docs:
            print(f"{doc.relative_to(root).as_posix():60} {table_corpus.kind_of(doc):12} {parts[doc]}")
        return 0
    chosen = [d for d in docs if args.part == "all" or parts[d] == args.part]
    if args.scorer == "lenient":
        return _lenient(root, chosen)
    return _strict(root, chosen, parts)


def _strict(root: Path, docs: list[Path], parts: dict[Path, str]) -> int:
    """Per file, then per kind and part: cell recall, exact rows, header accuracy, shape checks,
    pass (cell >= 0.95, exact rows >= 0.9, every shape check), seconds and seconds per page."""
    print(
        f"{'file':58} {'kind':11} {'part':7} {'cell':>5} {'rows':>5} {'head':>5} {'shape':>5} pass "
        f"{'s':>6} {'s/pg':>6}"
    )
    results: list[tuple[str, str, dict[str, float | None], bool, float, int]] = []
    warmed: set[str] = set()
    for doc in docs:
        expected = table_corpus.load(doc, root)
        if expected is None:
            continue
        records, seconds, error = _extract(doc, warmed)
        tables = table_corpus.extracted_tables(records)
        ratios = table_scoring.score_document(expected.tables, tables, expected.shapes).ratios()
        ok = table_scoring.passes(ratios)
        kind, pages = table_corpus.kind_of(doc), _pages(records)
        results.append((kind, parts[doc], ratios, ok, seconds, pages))
        cols = " ".join(f"{_fmt(ratios[k]):>5}" for k in ("cell", "row", "header", "shape"))
        name = doc.relative_to(root).as_posix()
        name = name if len(name) <= 58 else name[:55] + "..."
        note = f"  error: {error}" if error else ""
        print(
            f"{name:58} {kind:11} {parts[doc]:7} {cols} {'yes' if ok else 'no':>4} {seconds:6.2f} "
            f"{seconds / pages:6.2f}{note}",
            flush=True,
        )
    print()
    print(f"{'kind':12} {'part':8} {'files':>5} {'pass':>5} {'cell':>6} {'rows':>6} {'head':>6} {'s/pg':>6}")
    for kind in (*table_corpus.KINDS, "all"):
        for part in ("tune", "heldout", "all"):
            group = [x for x in results if kind in ("all", x[0]) and part in ("all", x[1])]
            if not group:
                continue
            means = {
                k: (fmean(v) if (v := [r for g in group if (r := g[2][k]) is not None]) else None)
                for k in ("cell", "row", "header")
            }
            per_page = sum(g[4] for g in group) / sum(g[5] for g in group)
            print(
                f"{kind:12} {part:8} {len(group):5} {sum(g[3] for g in group):5} "
                + " ".join(f"{_fmt(means[k]):>6}" for k in ("cell", "row", "header"))
                + f" {per_page:6.2f}"
            )
    return 0


def _lenient(root: Path, docs: list[Path]) -> int:
    print(f"{'file':52} {'words':>6} {'cells':>6} {'rows':>6} {'header':>6} {'time s':>7}")
    totals: list[dict[str, float | None]] = []
    elapsed: list[float] = []
    warmed: set[str] = set()
    for doc in docs:
        expected = load_expected(doc, root)
        if expected is None:
            continue
        records, seconds, error = _extract(doc, warmed)
        if error:
            print(f"{doc.relative_to(root).as_posix():52} error: {error}")
        ratios = score_document(records, expected).ratios()
        totals.append(ratios)
        elapsed.append(seconds)
        cols = " ".join(f"{_fmt(ratios[k]):>6}" for k in ("word", "cell", "row", "header"))
        print(f"{doc.relative_to(root).as_posix():52} {cols} {seconds:7.2f}", flush=True)
    means: dict[str, float | None] = {}
    for k in ("word", "cell", "row", "header"):
        values = [v for t in totals if (v := t[k]) is not None]
        means[k] = fmean(values) if values else None
    passing = sum(1 for t in totals if _passes(t))
    cols = " ".join(f"{_fmt(means[k]):>6}" for k in ("word", "cell", "row", "header"))
    label = f"mean of {len(totals)} files ({passing} at cell >= 0.95, row >= 0.9)"
    print(f"{label:52} {cols} {sum(elapsed):7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
