"""Unruled PDF tables (text set in columns with no lines): found from how the text lines up.

A line is split into segments where the gap between two words is wider than SEGMENT_GAP font sizes. A
table is a run of at least MIN_DATA_LINES lines with MIN_COLUMNS or more segments that read as data (an
amount in them), with the lines between them; its columns are the x bands that the data lines' segments
leave empty (a band crossed by a few long labels still counts); section labels (up to
MAX_SECTION_LINES one-run lines stacked) between data lines stay inside it; header lines are the
lines just above its first data line, up to a caption (one run of text across a column boundary), and
a line of column labels (bare years included) set up to HEADER_GAP line heights above them; the last
header lines holding text in the label column only are section rows of the body; each run of header
words (split at HEADER_SEGMENT_GAP) names the column whose data it overlaps most, else lies nearest,
and a column's name joins its runs top to bottom. Columns stay in the order they stand on the page,
left to right; each cell's text reads in logical order (right-to-left scripts: `logical_order`), and
the label column, the first in reading order, is the rightmost in a right-to-left table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from include.adapters.extract.grid import Grid, is_data_row, is_number_like, is_year
from include.adapters.extract.pdf_tables import (
    Char,
    char_lines,
    line_words,
    logical_order,
    reads_right_to_left,
)

SEGMENT_GAP = 0.9  # font sizes between two words that start a new segment
HEADER_SEGMENT_GAP = 0.5  # the same in header lines, whose cells sit closer together
MIN_COLUMNS = 3
MIN_DATA_LINES = 3
CROSSING_SHARE = 0.1  # a column gap may be crossed by this share of the data lines
MAX_HEADER_LINES = 6
LINE_GAP = 2.5  # line heights: a wider vertical gap ends a table
HEADER_GAP = 4.0  # line heights: a line of column labels may stand this far above the table
MAX_SECTION_LINES = 3  # label lines stacked between two data lines (section, subsection ...)

Box = tuple[float, float, float, float]


@dataclass
class TextLine:
    """One line of words: (text, x0, x1) each, its segments, and its vertical extent."""

    words: list[tuple[str, float, float]]
    segments: list[tuple[str, float, float]]
    top: float
    bottom: float
    size: float


@dataclass
class StreamTable:
    """An unruled table: its grid (one header row of joined names, then a row per line) and its box."""

    grid: Grid
    box: tuple[float, float, float, float]
    edges: list[float]


def stream_tables(
    chars: Sequence[Char], exclude: Sequence[tuple[float, float, float, float]]
) -> list[StreamTable]:
    """The unruled tables among a page's characters, outside the boxes in `exclude` (ruled tables)."""
    free = [ch for ch in chars if ch.get("upright", True) and not any(_inside(ch, box) for box in exclude)]
    lines = [_text_line(line) for line in char_lines(free, "top", "bottom")]
    lines = [line for line in lines if line.words]
    tables: list[StreamTable] = []
    i = 0
    while i < len(lines):
        end = _data_run(lines, i)
        if end is None:
            i += 1
            continue
        start, stop = end
        table = _build(lines, start, stop)
        if table is not None:
            tables.append(table)
        i = stop
    return tables


def turned_stream_tables(
    chars: Sequence[Char], exclude: Sequence[Box], page_size: tuple[float, float]
) -> list[StreamTable]:
    """Unruled tables set sideways: when most characters outside `exclude` run up or down the page,
    they are turned upright as their reader turns the page, read by `stream_tables`, and each
    table's box is turned back onto the page."""
    free = [ch for ch in chars if ch["text"].strip() and not any(_inside(ch, box) for box in exclude)]
    sideways = [ch for ch in free if not ch.get("upright", True)]
    if not free or len(sideways) * 2 <= len(free):
        return []
    up = 2 * sum(1 for ch in sideways if ch.get("matrix", (1, 0, 0, 1))[1] > 0) >= len(sideways)
    width, height = page_size
    upright = [_turned_upright(ch, up, width, height) for ch in sideways]
    return [replace(t, box=_turned_back(t.box, up, width, height)) for t in stream_tables(upright, [])]


def _turned_upright(ch: Char, up: bool, width: float, height: float) -> Char:
    """A character of text running up (or down) the page, placed where it lies once the page is
    turned so that the text runs left to right."""
    if up:
        place = {"x0": height - ch["bottom"], "x1": height - ch["top"], "top": ch["x0"], "bottom": ch["x1"]}
    else:
        place = {"x0": ch["top"], "x1": ch["bottom"], "top": width - ch["x1"], "bottom": width - ch["x0"]}
    return {**ch, **place, "upright": True}


def _turned_back(box: Box, up: bool, width: float, height: float) -> Box:
    x0, top, x1, bottom = box
    return (top, height - x1, bottom, height - x0) if up else (width - bottom, x0, width - top, x1)


def _text_line(chars: list[Char]) -> TextLine:
    words = line_words(chars)
    size = max((float(ch.get("size", 0.0)) for ch in chars), default=1.0) or 1.0
    top = min(ch["top"] for ch in chars)
    bottom = max(ch["bottom"] for ch in chars)
    return TextLine(words, _segments(words, SEGMENT_GAP * size), top, bottom, size)


def _segments(words: list[tuple[str, float, float]], gap: float) -> list[tuple[str, float, float]]:
    """Words joined into runs where the space between two is at most `gap`."""
    segments: list[tuple[str, float, float]] = []
    for text, x0, x1 in words:
        if segments and x0 - segments[-1][2] <= gap:
            segments[-1] = (f"{segments[-1][0]} {text}", segments[-1][1], x1)
        else:
            segments.append((text, x0, x1))
    return segments


def _is_data_line(line: TextLine) -> bool:
    return len(line.segments) >= MIN_COLUMNS and is_data_row([s[0] for s in line.segments])


def _data_run(lines: list[TextLine], i: int) -> tuple[int, int] | None:
    """(first, end) of the run of table lines starting at data line i, when it holds enough data lines."""
    if not _is_data_line(lines[i]):
        return None
    data, j = 1, i + 1
    while j < len(lines) and _close(lines[j - 1], lines[j]) and _within_run(lines, j):
        data += _is_data_line(lines[j])
        j += 1
    while j > i + 1 and not _is_data_line(lines[j - 1]) and not _wraps_on(lines[j - 1]):
        j -= 1  # trailing notes are not rows
    return (i, j) if data >= MIN_DATA_LINES else None


def _within_run(lines: list[TextLine], j: int) -> bool:
    """True when line j goes on a table: it has two or more segments, or it is one run of text (a
    label wrapped over lines, or a section label) with a data line below it, at most
    MAX_SECTION_LINES such one-run lines down (a section's label over a subsection's), each close
    to the next."""
    if len(lines[j].segments) >= 2:
        return True
    for k in range(j + 1, min(j + MAX_SECTION_LINES + 1, len(lines))):
        if not _close(lines[k - 1], lines[k]):
            return False
        if len(lines[k].segments) >= 2:
            return _is_data_line(lines[k])
    return False


def _wraps_on(line: TextLine) -> bool:
    """True for the last line of a row wrapped over lines: set in columns, starting in lower case."""
    return len(line.segments) >= 2 and line.segments[0][0][:1].islower()


def _close(above: TextLine, below: TextLine) -> bool:
    return below.top - above.bottom <= LINE_GAP * (above.bottom - above.top)


def _column_edges(body: list[TextLine]) -> list[float]:
    """Column boundaries: the middles of the x bands empty in all but CROSSING_SHARE of the lines."""
    left = min(s[1] for line in body for s in line.segments)
    right = max(s[2] for line in body for s in line.segments)
    width = int(right - left) + 2
    cover = [0] * width
    for line in body:
        for _, x0, x1 in line.segments:
            for x in range(int(x0 - left), min(int(x1 - left) + 1, width)):
                cover[x] += 1
    allowed = int(CROSSING_SHARE * len(body))
    edges, run_start = [left], None
    for x, count in enumerate(cover):
        if count <= allowed and run_start is None:
            run_start = x
        elif count > allowed and run_start is not None:
            if x - run_start >= 2:
                edges.append(left + (run_start + x) / 2)
            run_start = None
    edges.append(right)
    return edges


def _build(lines: list[TextLine], start: int, stop: int) -> StreamTable | None:
    body = lines[start:stop]
    edges = _column_edges([line for line in body if _is_data_line(line)])
    columns = len(edges) - 1
    if columns < MIN_COLUMNS:
        return None
    data = [line for line in body if _is_data_line(line)]
    rtl = reads_right_to_left([text for line in body for text, _, _ in line.words])
    head = _header_top(lines, start, edges, _extents(data, edges))
    if head < start:
        edges = _edges_under_labels(edges, _extents(data, edges), lines[start - 1])
        columns = len(edges) - 1
    start = _sections_above_data(lines, head, start, edges, rtl)
    body = lines[start:stop]
    extents = _extents(data, edges)
    names = [""] * columns
    for line in lines[head:start]:
        for text, x0, x1 in _segments(line.words, HEADER_SEGMENT_GAP * line.size):
            c = min(
                range(columns),
                key=lambda k: (-_overlap(x0, x1, extents[k]), _distance((x0 + x1) / 2, extents[k])),
            )
            names[c] = f"{names[c]} {logical_order(text)}".strip()
    lines_by_column = merge_continuations(
        [_by_column(line, edges) for line in body], [_is_data_line(x) for x in body], rtl
    )
    rows: list[list[str | None]] = [list(names)] if head < start else []
    rows += [list(row) for row in lines_by_column]
    top = lines[head].top
    bottom = body[-1].bottom
    left = min([edges[0]] + [x0 for line in lines[head:start] for _, x0, _ in line.words])
    right = max([edges[-1]] + [x1 for line in lines[head:start] for _, _, x1 in line.words])
    return StreamTable(Grid(rows), (left, top, right, bottom), edges)


def _header_top(
    lines: list[TextLine], start: int, edges: list[float], extents: list[tuple[float, float]]
) -> int:
    """The first header line of the table whose first data line is `start`: the close lines above it
    that are neither data nor a caption, up to MAX_HEADER_LINES; and then one line of column labels
    (`_labels_columns`) set apart, up to HEADER_GAP line heights above (a header set off from the
    body by space)."""
    head = start
    while head > 0 and start - head < MAX_HEADER_LINES and _close(lines[head - 1], lines[head]):
        above = lines[head - 1]
        if _is_data_line(above) or _is_caption(above, edges):
            break
        head -= 1
    if head > 0 and start - head < MAX_HEADER_LINES and _labels_columns(lines[head - 1], extents):
        above, below = lines[head - 1], lines[head]
        if below.top - above.bottom <= HEADER_GAP * (below.bottom - below.top):
            head -= 1
    return head


def _labels_columns(line: TextLine, extents: list[tuple[float, float]]) -> bool:
    """True for a line of column labels: two or more runs, none an amount (a bare year heads a column),
    each over the data of one column, no two over the same one."""
    runs = _segments(line.words, HEADER_SEGMENT_GAP * line.size)
    over = [[k for k, extent in enumerate(extents) if _overlap(x0, x1, extent) > 0] for _, x0, x1 in runs]
    amounts = [text for text, _, _ in runs if is_number_like(text) and not is_year(text)]
    columns = [cols[0] for cols in over if len(cols) == 1]
    return len(runs) >= 2 and not amounts and len(columns) == len(runs) == len(set(columns))


def _sections_above_data(lines: list[TextLine], head: int, start: int, edges: list[float], rtl: bool) -> int:
    """Where the body starts: the header's last lines that hold text in the label column only (the
    first column in reading order: the rightmost in a right-to-left table), under a header line
    that labels other columns, are section labels starting the body, not part of the names."""
    label = len(edges) - 2 if rtl else 0
    first = start
    while first > head + 1 and _only_in_column(lines[first - 1], edges, label):
        first -= 1
    if first < start and any(not _only_in_column(line, edges, label) for line in lines[head:first]):
        return first
    return start


def _only_in_column(line: TextLine, edges: list[float], column: int) -> bool:
    return all(_column((x0 + x1) / 2, edges) == column for _, x0, x1 in line.words)


def _edges_under_labels(
    edges: list[float], extents: list[tuple[float, float]], labels: TextLine
) -> list[float]:
    """The column edges with the edge between two columns dropped where one column label of the
    header line just above the data (`labels`) lies over both and no label lies over only one of
    them: a cell holding two figures ("0.965 0.969") set as far apart as columns is one cell."""
    runs = _segments(labels.words, HEADER_SEGMENT_GAP * labels.size)
    over = [{k for k, extent in enumerate(extents) if _overlap(x0, x1, extent) > 0} for _, x0, x1 in runs]
    kept = [edges[0]]
    for k in range(len(extents) - 1):
        shared = any({k, k + 1} <= cols for cols in over)
        alone = any(cols & {k, k + 1} and not {k, k + 1} <= cols for cols in over)
        if not shared or alone:
            kept.append(edges[k + 1])
    kept.append(edges[-1])
    return kept


def merge_continuations(rows: list[list[str]], data: list[bool], rtl: bool = False) -> list[list[str]]:
    """Rows of a table set one line per row, with the lines of a wrapped row joined: a line that is
    not data (no amount in it) and fills none of the anchor columns (those holding a figure on every
    data line)
    continues the row above when its first column is empty or starts in lower case, and starts the
    row below when it fills only the first column and the row below's first column starts in lower
    case (a label wrapped over two lines). Each cell joins its lines with a space. The first column
    is the first in reading order: with `rtl` (a right-to-left table), the rightmost."""
    if rtl:
        return [row[::-1] for row in merge_continuations([row[::-1] for row in rows], data)]
    width = max((len(row) for row in rows), default=0)
    figures = [row for row, d in zip(rows, data, strict=True) if d]
    anchors = [c for c in range(1, width) if figures and all(is_number_like(row[c]) for row in figures)]
    merged: list[list[str]] = []
    carried: list[str] | None = None
    for i, row in enumerate(rows):
        if carried is not None:
            row = _joined(carried, row)
            carried = None
        if data[i] or (anchors and any(row[c] for c in anchors)):
            merged.append(row)
            continue
        below = rows[i + 1] if i + 1 < len(rows) else None
        if merged and (not row[0] or row[0][:1].islower()):
            merged[-1] = _joined(merged[-1], row)
        elif below is not None and not any(row[1:]) and below[0][:1].islower():
            carried = row
        else:
            merged.append(row)
    return merged


def _joined(upper: list[str], lower: list[str]) -> list[str]:
    return [f"{a} {b}".strip() for a, b in zip(upper, lower, strict=True)]


def _is_caption(line: TextLine, edges: list[float]) -> bool:
    """True for a caption line above a table: one run of text crossing a column boundary."""
    if len(line.segments) != 1:
        return False
    _, x0, x1 = line.segments[0]
    return any(x0 < edge < x1 for edge in edges[1:-1])


def _extents(data: list[TextLine], edges: list[float]) -> list[tuple[float, float]]:
    """Where each column's data words lie: (leftmost start, rightmost end)."""
    found: list[list[float]] = [[] for _ in range(len(edges) - 1)]
    for line in data:
        for _, x0, x1 in line.words:
            c = _column((x0 + x1) / 2, edges)
            found[c] += [x0, x1]
    return [(min(xs), max(xs)) if xs else (edges[k], edges[k + 1]) for k, xs in enumerate(found)]


def _overlap(x0: float, x1: float, extent: tuple[float, float]) -> float:
    return max(0.0, min(x1, extent[1]) - max(x0, extent[0]))


def _distance(x: float, extent: tuple[float, float]) -> float:
    return max(extent[0] - x, 0.0, x - extent[1])


def _column(x: float, edges: list[float]) -> int:
    return next((k for k in range(len(edges) - 1) if x < edges[k + 1]), len(edges) - 2)


def _by_column(line: TextLine, edges: list[float]) -> list[str]:
    cells: list[list[str]] = [[] for _ in range(len(edges) - 1)]
    for text, x0, x1 in line.words:
        cells[_column((x0 + x1) / 2, edges)].append(text)
    return [logical_order(" ".join(words)) for words in cells]


def _inside(ch: Char, box: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = box
    return x0 <= (ch["x0"] + ch["x1"]) / 2 <= x1 and top <= (ch["top"] + ch["bottom"]) / 2 <= bottom
