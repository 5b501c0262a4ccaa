"""Strict table scoring: pure functions that compare expected tables with extracted tables.

A cell counts as found only where it belongs: in the extracted row matched to its expected row and in
the extracted column matched to its expected column.

- **Rows** are matched by content, one to one. Each expected row is paired with at most one extracted
  row, and each extracted row with at most one expected row. The pair with the most cell values in
  common is taken first, regardless of columns; ties go to document order. A pair must share at least
  one value.
- **Columns** are matched by header, one to one within each extracted table. An expected column with a
  header matches the extracted column whose name equals the header, or else whose name ends with it as
  a whole word (the extractor names a column under a group header "<group> <header>"); the `_2`, `_3`
  the extractor appends to a repeated name are ignored. An expected
  column without a header (None) is matched by content instead: to the unmatched extracted column that
  agrees with it on the most matched rows. If an expected column has a header that no extracted column
  carries, its cells are not found.
- **Header repeated in the body.** Two tables written back to back show the second table's header as a
  body row of the expected grid, and a table continued over pages repeats its header there. Each
  extracted table's column names may therefore stand in for an expected row (`HEADER_ROW`): once by
  partial content, and for every row that repeats them in full (the extractor drops a repeated header
  rather than emit it as a record). Each expected row counts once and such a row can at most be found
  in full, so it never adds hits beyond the expected total. From that row on, the expected rows stand
  under it as their header (the columns are matched again by its cells).
- **Exact row**: every cell of the expected row equals the value in its matched column. This includes
  the empty cells: an unmatched column or a missing value reads as "". One tolerance: where the
  expected cell is empty, the nearest value above it in the same column is accepted (the sources leave
  a row span's text in its top cell only; the extractor gives it to every row of the span).
- **Header accuracy**: the share of expected columns with a header that were matched by header in the
  extracted table holding most of the expected table's matched rows. A column with no value in any
  expected row is left out (row records carry only the columns they have values in).
- **Shape assertions** (table counts, rows and columns per table) must hold exactly, with no window.

Cell text is compared after `normalize_text` and nothing else. Column names are compared after the same
normalisation, with one addition: a blank header cell named by the expected output's tool (agate/csvkit:
a, b, …) and by the extractor (`column_N`) at the same position counts as equal (`generated_pair`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

HEADER_ROW = -1
"""The row index of an extracted table's column names when they stand in for an expected body row."""

_DEDUP_SUFFIX = re.compile(r"_\d+$")
_BREAK_AFTER_JOINER = re.compile(r"([-/])\s+")
_PLAIN_NUMBER = re.compile(r"^[+-]?((0|[1-9]\d*)(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_MIDNIGHT = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ]00:00(:00(\.0+)?)?$")
_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}(:\d{2}(\.\d+)?)?)$")
_SECOND_FRACTION = re.compile(r"^(.*\d:\d{2}:\d{2})\.(\d*?)0+$")


def normalize_text(value: str) -> str:
    """Cell text as compared. The normalisation is documented and limited to the following:

    - whitespace: runs of whitespace (line breaks included) become one space, and the ends are
      stripped; whitespace after a hyphen or slash is removed, so a word broken over lines
      ("Preva-\\nlence") reads the same as "Preva-lence";
    - number formats: a plain decimal number reads as its value ("21.0" = "21", "0.90" = "0.9",
      "1e3" = "1000"; a leading zero, as in the zip code "08123", keeps the text), and a number with
      comma thousands separators ("1,234.5") reads as the same number without them. Other forms,
      such as "1.393,4", percentages and currencies, stay text;
    - dates, times and booleans: a date-time at midnight reads as its date ("2007-01-01T00:00:00" =
      "2007-01-01"), a space between date and time reads as "T", a fraction of a second drops its
      trailing zeros, like any decimal ("10:10:10.100000" = "10:10:10.1", "10:10:10.000" =
      "10:10:10"), and "True"/"TRUE" read as "true" (and likewise for false).
    """
    text = _BREAK_AFTER_JOINER.sub(r"\1", " ".join(value.split()))
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    if _PLAIN_NUMBER.match(text):
        try:
            number = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
            return text
        if number == number.to_integral_value():
            return str(number.quantize(Decimal(1)))
        return format(number.normalize(), "f")
    if (midnight := _MIDNIGHT.match(text)) is not None:
        return midnight.group(1)
    if (spaced := _DATETIME.match(text)) is not None:
        text = f"{spaced.group(1)}T{spaced.group(2)}"
    if (fraction := _SECOND_FRACTION.match(text)) is not None:
        return f"{fraction.group(1)}.{fraction.group(2)}" if fraction.group(2) else fraction.group(1)
    if text.lower() in ("true", "false"):
        return text.lower()
    return text


@dataclass(frozen=True)
class ExpectedTable:
    """One expected table: its column headers (the bottom-most header cell of each column, None where
    the column has none) and its data rows. `sheet` and `page` limit the extracted rows it may match."""

    header: tuple[str | None, ...]
    rows: tuple[tuple[str, ...], ...]
    sheet: str | None = None
    page: int | None = None
    name: str = ""


@dataclass(frozen=True)
class ExtractedTable:
    """One extracted table: its column names in order and its rows as {column name: value}. A value
    left out of a row is an empty cell."""

    columns: tuple[str, ...]
    rows: tuple[Mapping[str, str], ...]
    sheet: str | None = None
    page: int | None = None


@dataclass(frozen=True)
class ShapeExpectation:
    """What a source asserts about table shapes on a page (all pages when None): the number of tables
    and, per table in document order, its row count (header row included, as the sources count) and
    its column count; `every_rows`: the row count of every table found (at least one must be).
    None means not asserted."""

    page: int | None = None
    n_tables: int | None = None
    rows: tuple[int | None, ...] = ()
    cols: tuple[int | None, ...] = ()
    every_rows: int | None = None
    header_rows: int = 1


@dataclass
class TableScore:
    """Counts for one expected table or one document (added up with `add`)."""

    cells_found: int = 0
    cells_total: int = 0
    rows_exact: int = 0
    rows_total: int = 0
    headers_found: int = 0
    headers_total: int = 0
    shape_ok: int = 0
    shape_total: int = 0
    matches: list[tuple[int, int, int]] = field(default_factory=list)
    """(expected row, extracted table, extracted row or HEADER_ROW) for each matched row."""

    def add(self, other: TableScore) -> None:
        """Add another score's counts to this one (matches are not carried over)."""
        self.cells_found += other.cells_found
        self.cells_total += other.cells_total
        self.rows_exact += other.rows_exact
        self.rows_total += other.rows_total
        self.headers_found += other.headers_found
        self.headers_total += other.headers_total
        self.shape_ok += other.shape_ok
        self.shape_total += other.shape_total

    def ratios(self) -> dict[str, float | None]:
        """cell recall, exact rows, header accuracy and shape: found / total, None where total is 0."""
        return {
            name: (hit / total if total else None)
            for name, hit, total in (
                ("cell", self.cells_found, self.cells_total),
                ("row", self.rows_exact, self.rows_total),
                ("header", self.headers_found, self.headers_total),
                ("shape", self.shape_ok, self.shape_total),
            )
        }


def passes(ratios: Mapping[str, float | None], cell: float = 0.95, row: float = 0.9) -> bool:
    """A file passes when its cell recall is at least `cell`, its exact-row share at least `row` and
    every shape assertion holds (a measure with nothing to score does not count against it)."""
    c, r, s = ratios.get("cell"), ratios.get("row"), ratios.get("shape")
    return (c is None or c >= cell) and (r is None or r >= row) and (s is None or s >= 1.0)


def header_matches(header: str, name: str) -> bool:
    """True when an extracted column `name` carries the expected `header`: equal after
    `normalize_text` (case-insensitive), or the name ends with the header as whole words. A `_N`
    suffix that the extractor adds to make a repeated name unique ("Welfare_2") is ignored."""
    h, n = normalize_text(header).lower(), _DEDUP_SUFFIX.sub("", normalize_text(name)).lower()
    return bool(h) and (n == h or n.endswith(" " + h))


def generated_name(position: int) -> str:
    """agate's (csvkit's) name for a blank header at 0-based `position`: a, b, ..., z, aa, bb, ..."""
    return chr(ord("a") + position % 26) * (position // 26 + 1)


def generated_pair(position: int, header: str, name: str) -> bool:
    """Both sides named a blank header cell at `position` their own way: the expected output with
    agate's letter name, the extractor with `column_N` (1-based). Documented normalisation."""
    return normalize_text(header).lower() == generated_name(position) and name == f"column_{position + 1}"


def map_columns_by_header(header: Sequence[str | None], columns: Sequence[str]) -> dict[int, str]:
    """Expected column index -> extracted column name, one to one. Equal names are taken first (a blank
    header's generated name counts as equal: `generated_pair`), then names ending with the header; ties
    go to the leftmost extracted column."""
    mapping: dict[int, str] = {}
    used: set[str] = set()
    for exact in (True, False):
        for j, h in enumerate(header):
            if h is None or j in mapping:
                continue
            for name in columns:
                if name in used:
                    continue
                equal = normalize_text(h).lower() == _DEDUP_SUFFIX.sub(
                    "", normalize_text(name)
                ).lower() or generated_pair(j, h, name)
                if (equal if exact else header_matches(h, name)) and normalize_text(h):
                    mapping[j] = name
                    used.add(name)
                    break
    return mapping


def _values(row: Mapping[str, str]) -> dict[str, str]:
    return {k: nv for k, v in row.items() if (nv := normalize_text(v))}


def _candidates(
    tables: Sequence[ExtractedTable],
) -> list[tuple[int, int, dict[str, str]]]:
    """Every extracted row, then each table's column names as a stand-in row (HEADER_ROW)."""
    found: list[tuple[int, int, dict[str, str]]] = []
    for t, table in enumerate(tables):
        found.extend((t, i, _values(row)) for i, row in enumerate(table.rows))
    for t, table in enumerate(tables):
        found.append((t, HEADER_ROW, _values({c: c for c in table.columns})))
    return found


def match_rows(
    expected: Sequence[Sequence[str]],
    candidates: Sequence[tuple[int, int, Mapping[str, str]]],
    taken: set[tuple[int, int]] | None = None,
) -> dict[int, int]:
    """Expected row index -> candidate index, one to one, by the number of values in common (as
    multisets, columns ignored; values already normalised). Rows whose values are the same multiset
    are paired first, in order; then the remaining pairs by most values in common, ties by document
    order. `taken` holds (table, row) pairs already used by another expected table; matched ones are
    added to it."""
    taken = set() if taken is None else taken
    want = [Counter(normalize_text(c) for c in row if normalize_text(c)) for row in expected]
    have = [Counter(values.values()) for _, _, values in candidates]
    free = [i for i, (t, r, _) in enumerate(candidates) if (t, r) not in taken]
    result: dict[int, int] = {}
    used: set[int] = set()
    by_key: dict[tuple[str, ...], list[int]] = {}
    for i in free:
        by_key.setdefault(tuple(sorted(have[i].elements())), []).append(i)
    for e, counter in enumerate(want):
        bucket = by_key.get(tuple(sorted(counter.elements())))
        if counter and bucket:
            # column names stand in for every expected row that repeats them in full
            result[e] = bucket[0] if candidates[bucket[0]][1] == HEADER_ROW else bucket.pop(0)
            used.add(result[e])
    index: dict[str, list[int]] = {}
    for i in free:
        if i not in used:
            for value in have[i]:
                index.setdefault(value, []).append(i)
    pairs: list[tuple[int, int, int]] = []
    for e, counter in enumerate(want):
        if e in result or not counter:
            continue
        near = {i for value in counter for i in index.get(value, ()) if i not in used}
        pairs.extend((-sum((counter & have[i]).values()), e, i) for i in near)
    for _, e, i in sorted(pairs):
        if e not in result and i not in used:
            result[e] = i
            used.add(i)
    for i in result.values():
        taken.add((candidates[i][0], candidates[i][1]))
    return result


def score_table(
    expected: ExpectedTable,
    tables: Sequence[ExtractedTable],
    taken: set[tuple[int, int]] | None = None,
) -> TableScore:
    """Score one expected table against the extracted tables (already limited to its sheet or page).
    `taken` carries the extracted rows used by earlier expected tables of the same document."""
    score = TableScore()
    candidates = _candidates(tables)
    matched = match_rows(expected.rows, candidates, taken)
    width = max([len(expected.header), *(len(r) for r in expected.rows)], default=0)
    sections = _sections(expected, matched, candidates, width)
    mappings: list[dict[int, dict[int, str]]] = []
    for header, members in sections:
        mapping = {t: map_columns_by_header(header, table.columns) for t, table in enumerate(tables)}
        for t, table in enumerate(tables):
            _map_by_content(expected, header, members, matched, candidates, t, table, mapping[t])
        mappings.append(mapping)
    section_of = {e: s for s, (_, members) in enumerate(sections) for e in members}
    above: list[str] = [""] * width
    for e, row in enumerate(expected.rows):
        cells = [normalize_text(c) for c in row] + [""] * (width - len(row))
        if e > 0 and section_of[e] != section_of[e - 1]:
            above = [""] * width
        fill, above = above, [c or a for c, a in zip(cells, above, strict=True)]
        if not any(cells):
            continue
        score.rows_total += 1
        score.cells_total += sum(1 for c in cells if c)
        if e not in matched:
            continue
        t, r, values = candidates[matched[e]]
        score.matches.append((e, t, r))
        columns = mappings[section_of[e]][t]
        got = [values.get(columns[j], "") if j in columns else "" for j in range(width)]
        score.cells_found += sum(1 for c, g in zip(cells, got, strict=True) if c and c == g)
        score.rows_exact += all(
            g == c or (not c and g == f) for c, g, f in zip(cells, got, fill, strict=True)
        )
    header = sections[0][0]
    filled = {j for row in expected.rows for j, c in enumerate(row) if normalize_text(c)}
    headed = [j for j, h in enumerate(header) if h is not None and j in filled]
    score.headers_total = len(headed)
    first = [i for e, i in matched.items() if section_of[e] == 0]
    if headed and first:
        main = Counter(candidates[i][0] for i in first).most_common(1)[0][0]
        by_header = map_columns_by_header(header, tables[main].columns)
        score.headers_found = sum(1 for j in headed if j in by_header)
    return score


def _sections(
    expected: ExpectedTable,
    matched: Mapping[int, int],
    candidates: Sequence[tuple[int, int, Mapping[str, str]]],
    width: int,
) -> list[tuple[list[str | None], list[int]]]:
    """The expected rows cut where a body row was matched to an extracted table's column names: the
    rows from there on stand under that row as their header. Returns (header, row indices) pairs; the
    first section stands under the expected header. Blank header cells read as None."""

    def named(cells: Sequence[str | None]) -> list[str | None]:
        padded = list(cells) + [None] * (width - len(cells))
        return [c if c is not None and normalize_text(c) else None for c in padded]

    sections: list[tuple[list[str | None], list[int]]] = [(named(expected.header), [])]
    for e, row in enumerate(expected.rows):
        if e in matched and candidates[matched[e]][1] == HEADER_ROW and e > 0:
            sections.append((named(row), []))
        sections[-1][1].append(e)
    return sections


def _map_by_content(
    expected: ExpectedTable,
    header: Sequence[str | None],
    members: Sequence[int],
    matched: Mapping[int, int],
    candidates: Sequence[tuple[int, int, Mapping[str, str]]],
    t: int,
    table: ExtractedTable,
    mapping: dict[int, str],
) -> None:
    """Give each expected column without a header the free extracted column of table `t` that agrees
    with it on the most matched rows among `members` (at least one)."""
    for j, h in enumerate(header):
        if h is not None or j in mapping:
            continue
        votes: Counter[str] = Counter()
        for e in members:
            if e not in matched:
                continue
            ct, _, values = candidates[matched[e]]
            want = normalize_text(expected.rows[e][j]) if j < len(expected.rows[e]) else ""
            if ct != t or not want:
                continue
            for name in table.columns:
                if name not in mapping.values() and values.get(name) == want:
                    votes[name] += 1
        if votes:
            mapping[j] = max(votes, key=lambda n: (votes[n], -table.columns.index(n)))


def score_document(
    expected: Sequence[ExpectedTable],
    tables: Sequence[ExtractedTable],
    shapes: Sequence[ShapeExpectation] = (),
) -> TableScore:
    """Score a document: each expected table against the extracted tables of its sheet or page (rows
    used by one expected table are not available to the next), plus the shape assertions."""
    total = TableScore()
    taken_by_scope: dict[tuple[str | None, int | None], set[tuple[int, int]]] = {}
    for table in expected:
        scope = [
            x
            for x in tables
            if (table.sheet is None or x.sheet == table.sheet)
            and (table.page is None or x.page == table.page)
        ]
        taken = taken_by_scope.setdefault((table.sheet, table.page), set())
        total.add(score_table(table, scope, taken))
    for shape in shapes:
        total.add(score_shape(shape, tables))
    return total


def score_shape(shape: ShapeExpectation, tables: Sequence[ExtractedTable]) -> TableScore:
    """One check per asserted number: the table count, and each table's rows (data rows plus
    `header_rows`) and columns, in document order on the page. A check holds only on equality."""
    score = TableScore()
    found = [t for t in tables if shape.page is None or t.page == shape.page]
    if shape.n_tables is not None:
        score.shape_total += 1
        score.shape_ok += len(found) == shape.n_tables
    for i, n in enumerate(shape.rows):
        if n is not None:
            score.shape_total += 1
            score.shape_ok += i < len(found) and len(found[i].rows) + shape.header_rows == n
    for i, n in enumerate(shape.cols):
        if n is not None:
            score.shape_total += 1
            score.shape_ok += i < len(found) and len(found[i].columns) == n
    if shape.every_rows is not None:
        for table in found or [ExtractedTable(columns=(), rows=())]:
            score.shape_total += 1
            score.shape_ok += bool(found) and len(table.rows) + shape.header_rows == shape.every_rows
    return score
