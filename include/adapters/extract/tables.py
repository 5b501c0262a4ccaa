"""Tables to row records: CSV/TSV, XLSX sheets, and tables found in PDFs and office documents."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import PurePath
from statistics import median
from typing import Any

from include.adapters.extract.grid import ReadTable
from include.adapters.extract.lib_calamine import SheetGrid, read_sheets
from include.adapters.extract.limits import active_limits
from include.adapters.extract.records import ExtractedRecord, ExtractionError
from include.adapters.extract.rows import normalize_value, row_text, unique_names
from include.adapters.extract.sheet_cells import check_workbook
from include.adapters.extract.text import decode_text

SNIFF_CHARS = 64 * 1024
HEADER_SEARCH_ROWS = 25
HEADER_LOOKAHEAD = 20
HEADER_SHARE = 0.6
WIDEST_SHARE = 0.8  # a header fills this share of the cells the body usually fills; a note rarely does
MAX_TITLE_LINES = 5  # leading lines of delimited text that may be titles, not rows
MIN_DELIMITED_LINES = 3
_DELIMITERS = (",", ";", "\t", "|")


def looks_like_header(values: Sequence[object]) -> bool:
    """True when the row's non-empty cells are mostly (over half) non-numeric strings."""
    filled = [v for v in values if normalize_value(v)]
    if not filled:
        return False
    words = [v for v in filled if isinstance(v, str) and not _is_number(v)]
    return len(words) * 2 > len(filled)


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "").strip())
    except ValueError:
        return False
    return True


def row_record(
    key: str, names: Sequence[str], values: Sequence[object], **meta: Any
) -> ExtractedRecord | None:
    """One row record through rows.row_text; None when every cell is empty.

    Values beyond the header keep a generated `column_N` name and the record is flagged `ragged`.
    """
    cells: list[tuple[object, object]] = list(zip(names, values, strict=False))
    if len(values) > len(names):
        cells += [("", v) for v in values[len(names) :]]
    text, columns = row_text(cells)
    if not text:
        return None
    if len(values) != len(names):
        meta["ragged"] = "short" if len(values) < len(names) else "long"
    return ExtractedRecord(record_key=key, text=text, meta={"kind": "row", **meta, "columns": columns})


def table_records(df_or_rows: Any, key_prefix: str, **meta: Any) -> list[ExtractedRecord]:
    """Row records of one table: a pandas DataFrame (its columns are the header) or a list of rows
    (the first row is the header). Keys `<key_prefix>/row=N`, N the 1-based data row index."""
    if hasattr(df_or_rows, "itertuples"):
        header: list[object] = [str(c) if not isinstance(c, int) else "" for c in df_or_rows.columns]
        body: Iterable[Sequence[object]] = df_or_rows.itertuples(index=False, name=None)
    else:
        rows = list(df_or_rows)
        if not rows:
            return []
        header, body = list(rows[0]), rows[1:]
    names = unique_names(header)
    records = []
    for n, values in enumerate(body, start=1):
        record = row_record(f"{key_prefix}/row={n}", names, list(values), **meta, row=n)
        if record is not None:
            records.append(record)
    return records


def grid_records(read: ReadTable, key_prefix: str, **meta: Any) -> list[ExtractedRecord]:
    """Records of a table read from a grid: its titles as `<key_prefix>/title=N` (kind preamble), its
    body rows as `<key_prefix>/row=N` under its column names."""
    records = [
        ExtractedRecord(
            record_key=f"{key_prefix}/title={n}", text=title, meta={"kind": "preamble", **meta, "title": n}
        )
        for n, title in enumerate(read.titles, start=1)
    ]
    names = unique_names(read.names)
    for n, values in enumerate(read.rows, start=1):
        record = row_record(f"{key_prefix}/row={n}", names, values, **meta, row=n)
        if record is not None:
            records.append(record)
    return records


def sniff_dialect(text: str, filename: str) -> tuple[str, str]:
    """(delimiter, quotechar) of delimited text: csv.Sniffer's guess when it splits the sample into
    rows of one width, else the candidate that splits it most consistently into the most columns;
    single-column text gets the extension's default (tab for .tsv/.tab, else comma)."""
    sample = text[:SNIFF_CHARS]
    if len(text) > SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    preferred = "\t" if PurePath(filename).suffix.lower() in {".tsv", ".tab"} else ","
    quotechar = '"'
    sniffed: str | None = None
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters="".join(_DELIMITERS))
        sniffed, quotechar = dialect.delimiter, dialect.quotechar or '"'
    except csv.Error:
        pass
    order = [d for d in (sniffed, preferred) if d] + [d for d in _DELIMITERS if d not in (sniffed, preferred)]
    scores = {d: _consistency(sample, d, quotechar) for d in order}
    if sniffed and scores[sniffed][0] >= 0.9 and scores[sniffed][1] >= 2:
        return sniffed, quotechar
    best = max(order, key=lambda d: (scores[d], -order.index(d)))
    return (preferred if scores[best][1] < 2 else best), quotechar


def looks_delimited(text: str) -> bool:
    """True when text is a table in delimited form whatever its extension says: at least
    MIN_DELIMITED_LINES lines, and nine in ten of them split into the same number of fields (two or
    more on tab, pipe or semicolon, three or more on comma, which prose also uses), and the lines are
    not paragraphs apart by blank lines."""
    all_lines = text[:SNIFF_CHARS].splitlines()
    lines = [line for line in all_lines if line.strip()]
    if len(lines) < MIN_DELIMITED_LINES:
        return False
    # Paragraphs apart by blank lines are prose, however regular their commas: tables don't double-space.
    if len(all_lines) - len(lines) >= (len(lines) - 1) / 2:
        return False
    sample = "\n".join(lines)
    delimiter, quotechar = sniff_dialect(sample, "sample.txt")
    share, width = _consistency(sample, delimiter, quotechar)
    return share >= 0.9 and width >= (3 if delimiter == "," else 2)


def _consistency(sample: str, delimiter: str, quotechar: str) -> tuple[float, int]:
    """(share of rows with the most common field count, that count) of delimited text; up to
    MAX_TITLE_LINES leading rows narrower than that count (titles, notes) are left out of the share."""
    try:
        widths = [
            len(r)
            for r in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, quotechar=quotechar)
            if r
        ]
    except csv.Error:
        return (0.0, 1)
    if not widths:
        return (0.0, 1)
    width, _ = Counter(widths).most_common(1)[0]
    if width < 2:
        return (0.0, 1)
    lead = 0
    while lead < min(MAX_TITLE_LINES, len(widths) - 1) and widths[lead] < width:
        lead += 1
    body = widths[lead:]
    return (round(body.count(width) / len(body), 2), width)


def extract_csv(data: bytes, filename: str) -> list[ExtractedRecord]:
    """Row records of a CSV/TSV document: `row=N`, N the 1-based data row index (blank rows keep
    their number but give no record). The header is found by `header_index` (title and note rows
    above it become `title=N` preamble records), else the first row when it looks like a header."""
    text = decode_text(data, filename).removeprefix("\ufeff")
    delimiter, quotechar = sniff_dialect(text, filename)
    try:
        rows = list(
            csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quotechar, strict=False)
        )
    except csv.Error as exc:
        raise ExtractionError(filename, f"malformed CSV: {exc}") from exc
    while rows and not any(cell.strip() for cell in rows[0]):
        rows.pop(0)
    if not rows:
        return []
    found = header_index(rows)
    header_at = found if found is not None else (0 if looks_like_header(rows[0]) else None)
    records: list[ExtractedRecord] = []
    if header_at is None:
        names, body = unique_names([""] * len(rows[0])), rows
    else:
        names, body = unique_names(rows[header_at]), rows[header_at + 1 :]
        notes = [note for values in rows[:header_at] if (note := _note_text(values))]
        records += [
            ExtractedRecord(record_key=f"title={n}", text=note, meta={"kind": "preamble", "title": n})
            for n, note in enumerate(notes, start=1)
        ]
    for n, values in enumerate(body, start=1):
        record = row_record(f"row={n}", names, values, row=n)
        if record is not None:
            records.append(record)
    return records


def extract_xlsx(data: bytes, filename: str) -> list[ExtractedRecord]:
    """Row records of every worksheet: `sheet=<name>/row=<excel row>`, or `sheet=<name>/table=T/row=<excel
    row>` where tables sit side by side. Merged ranges give their top-left value to every cell inside
    the data; rows above the detected header, and one-cell notes below the table, become `preamble`
    records. A sheet spanning more than EXTRACT_MAX_SHEET_CELLS cells fails before the workbook is read.

    The cells are read with python-calamine (`lib_calamine.read_sheets`: cached values, merged ranges,
    hidden sheets), not openpyxl: the same records on 11 of the corpus's 12 workbooks, several times
    faster (#24, docs/benchmarks.md "Libraries wired in"). Unlike openpyxl, a merged range reaching
    past the data is clipped to it and an error cell (`#N/A`) reads as empty."""
    check_workbook(data, filename, active_limits())
    records: list[ExtractedRecord] = []
    for sheet in read_sheets(data, filename):
        records += _sheet_records(sheet)
    return records


def _sheet_records(sheet: SheetGrid) -> list[ExtractedRecord]:
    """A sheet's tables side by side (split at columns empty in every row) and each table's rows;
    records of a hidden sheet carry `hidden: true`."""
    width = max((i + 1 for row in sheet.rows for i, v in enumerate(row) if normalize_value(v)), default=0)
    grid = [row[:width] + [None] * (width - len(row)) for row in sheet.rows]
    meta: dict[str, Any] = {"sheet": sheet.name}
    if sheet.hidden:
        meta["hidden"] = True
    blocks = table_blocks(grid)
    records = []
    for t, (start, end) in enumerate(blocks, start=1):
        prefix, block_meta = f"sheet={sheet.name}", dict(meta)
        if len(blocks) > 1:
            prefix, block_meta["table"] = f"{prefix}/table={t}", t
        records += _block_records([row[start:end] for row in grid], prefix, block_meta)
    return records


def table_blocks(grid: Sequence[Sequence[object]]) -> list[tuple[int, int]]:
    """Column ranges [start, end) of the tables side by side on a sheet: runs of columns separated
    by a column empty in every row; a run with fewer than two filled rows (a note) joins the next."""
    width = max((len(row) for row in grid), default=0)
    filled = [any(normalize_value(row[c]) for row in grid if c < len(row)) for c in range(width)]
    runs: list[list[int]] = []
    for c, used in enumerate(filled):
        if used and runs and runs[-1][1] == c:
            runs[-1][1] = c + 1
        elif used:
            runs.append([c, c + 1])
    blocks: list[list[int]] = []
    pending: int | None = None
    for start, end in runs:
        rows = sum(1 for row in grid if any(normalize_value(v) for v in row[start:end]))
        if rows < 2:
            pending = start if pending is None else pending
            continue
        blocks.append([start if pending is None else pending, end])
        pending = None
    if pending is not None and blocks:
        blocks[-1][1] = width
    return [(start, end) for start, end in blocks] or [(0, width)]


def _block_records(grid: list[list[object]], prefix: str, meta: dict[str, Any]) -> list[ExtractedRecord]:
    width = max((len(row) for row in grid), default=0)
    header_at = header_index(grid)
    names = unique_names(grid[header_at] if header_at is not None else [""] * width)
    records = []
    after_gap = False
    for index, values in enumerate(grid):
        excel_row = index + 1
        key = f"{prefix}/row={excel_row}"
        filled = _filled(values)
        if header_at is not None and index <= header_at:
            if index < header_at and (record := _preamble_record(key, values, meta, excel_row)):
                records.append(record)
            continue
        if filled == 0:
            after_gap = after_gap or any(r.meta["kind"] == "row" for r in records)
            continue
        if after_gap and filled == 1 and width > 1:  # a note under the table
            if record := _preamble_record(key, values, meta, excel_row):
                records.append(record)
            continue
        record = row_record(key, names, values, **meta, row=excel_row)
        if record is not None:
            records.append(record)
    return records


def _filled(values: Sequence[object]) -> int:
    return len({normalize_value(v) for v in values} - {""})


def header_index(rows: Sequence[Sequence[object]]) -> int | None:
    """The header row of a table that may have titles or notes above it, among the first
    HEADER_SEARCH_ROWS rows. A candidate looks like a header (`_is_header_row`) and has only narrower
    rows (titles, notes) above it; the header is the first candidate that fills WIDEST_SHARE of the
    cells the rows below it usually fill (the body's width), so a note of two cells above a wider
    table is not taken for it; failing that, the first that fills HEADER_SHARE. None when no row is a
    candidate (a table without header)."""
    width = max((len(row) for row in rows), default=0)
    filled = [_filled(row) for row in rows]
    shares: list[tuple[int, float]] = []
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if not filled[i] or not _is_header_row(row, width):
            continue
        if any(n >= WIDEST_SHARE * filled[i] for n in filled[:i]):
            continue
        below = [n for n in filled[i + 1 : i + 1 + HEADER_LOOKAHEAD] if n]
        shares.append((i, filled[i] / median(below) if below else 1.0))
    for least in (WIDEST_SHARE, HEADER_SHARE):
        found = next((i for i, share in shares if share >= least), None)
        if found is not None:
            return found
    return None


def _is_header_row(values: Sequence[object], width: int) -> bool:
    distinct = {normalize_value(v) for v in values} - {""}
    return looks_like_header(values) and len(distinct) >= min(2, width)


def _note_text(values: Sequence[object]) -> str:
    """A title or note row as one text: its distinct non-empty cells joined by " | "."""
    texts: list[str] = []
    for value in values:
        text = normalize_value(value)
        if text and text not in texts:
            texts.append(text)
    return " | ".join(texts)


def _preamble_record(
    key: str, values: Sequence[object], meta: dict[str, Any], row: int
) -> ExtractedRecord | None:
    text = _note_text(values)
    if not text:
        return None
    return ExtractedRecord(record_key=key, text=text, meta={"kind": "preamble", **meta, "row": row})
