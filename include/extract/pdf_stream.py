"""Unruled PDF tables (text set in columns with no lines): found from how the text lines up.

A line is split into segments where the gap between two words is wider than SEGMENT_GAP font sizes. A
table is a run of at least MIN_DATA_LINES lines with MIN_COLUMNS or more segments that read as data (an
amount in them), with the lines between them; its columns are the x bands that the data lines' segments
leave empty (a band crossed by a few long labels still counts); header lines are the lines just above
its first data line, up to a caption (one run of text across a column boundary); each run of header
words (split at HEADER_SEGMENT_GAP) names the column whose data it overlaps most, else lies nearest,
and a column's name joins its runs top to bottom.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from include.extract.grid import Grid, is_data_row
from include.extract.pdf_tables import Char, char_lines, line_words

SEGMENT_GAP = 0.9  # font sizes between two words that start a new segment
HEADER_SEGMENT_GAP = 0.5  # the same in header lines, whose cells sit closer together
MIN_COLUMNS = 3
MIN_DATA_LINES = 3
CROSSING_SHARE = 0.1  # a column gap may be crossed by this share of the data lines
MAX_HEADER_LINES = 6
LINE_GAP = 2.5  # line heights: a wider vertical gap ends a table


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
    while j < len(lines) and _close(lines[j - 1], lines[j]) and len(lines[j].segments) >= 2:
        data += _is_data_line(lines[j])
        j += 1
    while j > i + 1 and not _is_data_line(lines[j - 1]):
        j -= 1  # trailing notes are not rows
    return (i, j) if data >= MIN_DATA_LINES else None


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
    head = start
    while head > 0 and start - head < MAX_HEADER_LINES and _close(lines[head - 1], lines[head]):
        above = lines[head - 1]
        if _is_data_line(above) or _is_caption(above, edges):
            break
        head -= 1
    extents = _extents([line for line in body if _is_data_line(line)], edges)
    names = [""] * columns
    for line in lines[head:start]:
        for text, x0, x1 in _segments(line.words, HEADER_SEGMENT_GAP * line.size):
            c = min(
                range(columns),
                key=lambda k: (-_overlap(x0, x1, extents[k]), _distance((x0 + x1) / 2, extents[k])),
            )
            names[c] = f"{names[c]} {text}".strip()
    rows: list[list[str | None]] = [list(names)] if head < start else []
    rows += [list(_by_column(line, edges)) for line in body]
    top = lines[head].top
    bottom = body[-1].bottom
    return StreamTable(Grid(rows), (edges[0], top, edges[-1], bottom), edges)


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
    return [" ".join(words) for words in cells]


def _inside(ch: Char, box: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = box
    return x0 <= (ch["x0"] + ch["x1"]) / 2 <= x1 and top <= (ch["top"] + ch["bottom"]) / 2 <= bottom
