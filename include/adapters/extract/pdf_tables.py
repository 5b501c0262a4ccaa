"""Ruled PDF tables (pdfplumber's boxes) to grids whose cell text comes from the characters themselves.

pdfplumber finds the boxes; the text of each box is built here, because its default spacing joins words
set with narrow spaces ("CITIBANK-TRAVELCBACARD") and keeps letter-spaced digits apart ("0 3 / 2 5").
A space goes where the gap between two characters is clearly wider than the line's usual gap between
letters, so both come out as people read them. Vertical text is read in its own direction.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from itertools import pairwise
from statistics import median
from typing import Any

from include.adapters.extract.grid import Grid

WORD_GAP = 0.15  # of the font size, above the line's median letter gap
_EDGE_TOLERANCE = 1.0
COLUMN_GAP = 1.5
CROWDED_SHARE = 0.25
RAISED_SIZE = 0.8  # raised or lowered text is set at most this share of its line's font size
SIDE_REACH = 36.0  # points: text this close beside a ruled table, on half its rows, is a column of it

Char = dict[str, Any]
_RTL_CLASSES = frozenset({"R", "AL"})
_LTR_CLASSES = frozenset({"L", "EN", "AN"})
_MIRRORED = dict(zip("()[]{}<>«»", ")(][}{><»«", strict=True))


def cell_text(chars: Sequence[Char]) -> str:
    """The text of one cell: its lines top to bottom (vertical text: in reading order) joined by newlines."""
    upright = [ch for ch in chars if ch.get("upright", True)]
    vertical = [ch for ch in chars if not ch.get("upright", True)]
    lines = [_line_text(line, "x0", "x1") for line in char_lines(upright, "top", "bottom")]
    columns = char_lines(vertical, "x0", "x1")
    if vertical and vertical[0].get("matrix", (1, 0, 0, 1))[1] < 0:
        columns.reverse()  # text running down: its first line is the rightmost
    for column in columns:
        upward = column[0].get("matrix", (1, 0, 0, 1))[1] > 0
        ordered = sorted(column, key=lambda ch: -ch["bottom"] if upward else ch["top"])
        if upward:
            ordered = [{**ch, "a": -ch["bottom"], "b": -ch["top"]} for ch in ordered]
        else:
            ordered = [{**ch, "a": ch["top"], "b": ch["bottom"]} for ch in ordered]
        lines.append(_line_text(ordered, "a", "b"))
    return "\n".join(line for line in lines if line)


def char_lines(chars: Sequence[Char], start: str, end: str) -> list[list[Char]]:
    """Characters grouped into lines: a character whose middle lies within the current line's extent
    (on the axis `start`..`end`) joins it; then small raised or lowered text on a baseline of its
    own (a note marker "(1)", a superscript) joins the line it is set against (see `_raised_into`)."""
    lines: list[list[Char]] = []
    extent = (0.0, 0.0)
    for ch in sorted(chars, key=lambda ch: (ch[start] + ch[end]) / 2):
        middle = (ch[start] + ch[end]) / 2
        if lines and extent[0] <= middle <= extent[1]:
            lines[-1].append(ch)
        else:
            lines.append([ch])
            extent = (ch[start], ch[end])
    i = 0
    while i < len(lines):
        j = _raised_into(lines, i, start, end)
        if j is None:
            i += 1
            continue
        raised = lines.pop(i)
        j = j if j < i else j - 1
        lines[j] += raised
        i = max(j - 1, 0)
    return lines


def _raised_into(lines: list[list[Char]], i: int, start: str, end: str) -> int | None:
    """The neighbouring line that line i is raised (or lowered) text of: every character of line i is
    at most RAISED_SIZE of that line's font size, and at least half of line i's extent lies within
    that line's extent. None when neither neighbour is."""
    small = lines[i]
    size = max(_size(ch) for ch in small)
    low, high = min(ch[start] for ch in small), max(ch[end] for ch in small)
    for j in (i - 1, i + 1):
        if not 0 <= j < len(lines):
            continue
        other = lines[j]
        if size > RAISED_SIZE * median(_size(ch) for ch in other):
            continue
        overlap = min(high, max(ch[end] for ch in other)) - max(low, min(ch[start] for ch in other))
        if overlap >= 0.5 * (high - low) > 0:
            return j
    return None


def _size(ch: Char) -> float:
    return float(ch.get("size", 0.0) or 0.0)


def line_words(chars: Sequence[Char], start: str = "x0", end: str = "x1") -> list[tuple[str, float, float]]:
    """The words of one line as (text, start, end): a word ends at a space character or where the gap
    to the next character is wider than the line's usual letter gap by WORD_GAP font sizes."""
    ordered = sorted(chars, key=lambda ch: ch[start]) if start == "x0" else list(chars)
    glyphs = [ch for ch in ordered if ch["text"].strip()]
    gaps = [b[start] - a[end] for a, b in pairwise(glyphs)]
    usual = max(median(gaps), 0.0) if gaps else 0.0
    words: list[list[Any]] = []
    previous: Char | None = None
    for ch in ordered:
        if not ch["text"].strip():
            previous = None if words else previous
            continue
        size = max(float(ch.get("size", 0.0)), 1.0)
        if previous is None or ch[start] - previous[end] > usual + WORD_GAP * size:
            words.append([ch["text"], ch[start], ch[end]])
        else:
            words[-1][0] += ch["text"]
            words[-1][2] = ch[end]
        previous = ch
    return [(text, float(x0), float(x1)) for text, x0, x1 in words]


def _line_text(chars: Sequence[Char], start: str = "x0", end: str = "x1") -> str:
    return logical_order(" ".join(text for text, _, _ in line_words(chars, start, end)))


def logical_order(visual: str) -> str:
    """A line read left to right off the page (visual order) in the order it is written (logical
    order), for right-to-left scripts: text with no Hebrew or Arabic letter is returned as it is. A
    line with at least as many right-to-left letters as left-to-right ones reads from the right: its
    runs come in reverse order, the characters of each right-to-left run reversed (a mark staying
    after its letter, a bracket turned to face the other way), and each run of Latin letters or
    figures ("120", "1,200.50", "PDF") kept as it is set. In a line of mostly left-to-right text, each
    stretch from a right-to-left letter to the last one before a left-to-right letter is read so."""
    classes = [unicodedata.bidirectional(ch) for ch in visual]
    rtl = sum(c in _RTL_CLASSES for c in classes)
    if not rtl:
        return visual
    if rtl >= sum(c == "L" for c in classes):
        return _right_to_left(visual, classes)
    out: list[str] = []
    i = 0
    while i < len(visual):
        if classes[i] not in _RTL_CLASSES:
            out.append(visual[i])
            i += 1
            continue
        j = i
        while j < len(visual) and classes[j] != "L":
            j += 1
        last = max(k for k in range(i, j) if classes[k] in _RTL_CLASSES) + 1
        out.append(_right_to_left(visual[i:last], classes[i:last]))
        i = last
    return "".join(out)


def reads_right_to_left(texts: Sequence[str]) -> bool:
    """True when the texts hold more right-to-left letters (Hebrew, Arabic) than left-to-right ones:
    a table of them reads from its rightmost column."""
    classes = [unicodedata.bidirectional(ch) for text in texts for ch in text]
    return sum(c in _RTL_CLASSES for c in classes) > sum(c == "L" for c in classes)


def _right_to_left(visual: str, classes: list[str]) -> str:
    """A right-to-left run in visual order turned to logical order (see `logical_order`)."""
    pieces: list[tuple[bool, str]] = []  # (kept as set, text)
    i = 0
    while i < len(visual):
        if classes[i] in _LTR_CLASSES:
            j = i + 1
            while j < len(visual) and classes[j] not in _RTL_CLASSES:
                j += 1
            while classes[j - 1] not in _LTR_CLASSES:
                j -= 1  # spaces and signs after the figures or Latin letters belong to the run around
            pieces.append((True, visual[i:j]))
        else:
            j = i + 1
            while j < len(visual) and classes[j] == "NSM":
                j += 1  # a mark set with the letter before it
            cluster = visual[i:j]
            pieces.append((False, _MIRRORED.get(cluster, cluster)))
        i = j
    return "".join(text for _, text in reversed(pieces))


def table_grid(table: Any, chars: Sequence[Char]) -> tuple[Grid, tuple[float, float, float, float]]:
    """A grid from a pdfplumber Table, and the box it covers: one column per distinct cell left edge,
    one row per distinct top edge; a cell's box says which slots it spans; text from the characters
    centred in it. Text beside the ruled box on its rows (a table without an outer frame) is a column
    of its own on that side, so a first or last column without rules is not lost."""
    boxes = [b for b in table.cells if b is not None]
    chars = _pull_in_straddling_words(chars, table.bbox)
    within = [ch for ch in chars if centred_in(ch, table.bbox)]
    xs = _edges(b[0] for b in boxes)
    tops = _edges(b[1] for b in boxes)
    cells: list[list[str | None]] = [[None] * len(xs) for _ in tops]
    origin: list[list[tuple[int, int]]] = [[(r, c) for c in range(len(xs))] for r in range(len(tops))]
    for x0, top, x1, bottom in sorted(boxes, key=lambda b: (b[1], b[0])):
        r0, c0 = _index(tops, top), _index(xs, x0)
        cells[r0][c0] = cell_text([ch for ch in within if centred_in(ch, (x0, top, x1, bottom))])
        for r in range(r0, len(tops)):
            if tops[r] >= bottom - _EDGE_TOLERANCE:
                break
            for c in range(c0, len(xs)):
                if xs[c] >= x1 - _EDGE_TOLERANCE:
                    break
                origin[r][c] = (r0, c0)
    left, top, right, bottom = table.bbox
    bands, stops = [*tops, bottom], [*xs, right]
    for r, row in enumerate(cells):
        for c, text in enumerate(row):
            if text is None and origin[r][c] == (r, c):  # no ruled box here: text lying there is kept
                slot = (stops[c], bands[r], stops[c + 1], bands[r + 1])
                row[c] = cell_text([ch for ch in within if centred_in(ch, slot)])
    turn = _sideways(chars, table.bbox)
    if turn:
        return turned(Grid(cells, origin), turn), table.bbox
    for side in ("left", "right"):
        filled = [r for r, row in enumerate(cells) if any(row)]
        column = _side_column(chars, (left, top, right, bottom), bands, side, filled)
        if column is None:
            continue
        texts, edge = column
        for r in range(len(cells)):
            if side == "left":
                cells[r].insert(0, texts[r])
                origin[r] = [(r, 0)] + [(r0, c0 + 1) for r0, c0 in origin[r]]
            else:
                cells[r].append(texts[r])
                origin[r].append((r, len(cells[r]) - 1))
        left, right = (edge, right) if side == "left" else (left, edge)
    return Grid(cells, origin), (left, top, right, bottom)


def _sideways(chars: Sequence[Char], box: tuple[float, float, float, float]) -> int:
    """0 for a table set upright; 1 when most of its text runs down the page (turned clockwise), -1
    when most runs up (turned anticlockwise)."""
    inside = [ch for ch in chars if centred_in(ch, box) and ch["text"].strip()]
    turned_chars = [ch for ch in inside if not ch.get("upright", True)]
    if len(turned_chars) * 2 <= len(inside):
        return 0
    down = sum(1 for ch in turned_chars if ch.get("matrix", (1, 0, 0, 1))[1] < 0)
    return 1 if down * 2 >= len(turned_chars) else -1


def turned(grid: Grid, turn: int) -> Grid:
    """A sideways table as its reader turns it upright: text running down the page (turn 1) has its
    first row at the right and its first column at the top; text running up (turn -1) has its first
    row at the left and its first column at the bottom."""
    height, width = len(grid.cells), len(grid.cells[0]) if grid.cells else 0

    def place(r: int, c: int) -> tuple[int, int]:
        return (width - 1 - c, r) if turn > 0 else (c, height - 1 - r)

    groups: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for r in range(height):
        for c in range(width):
            groups.setdefault(grid.origin[r][c], []).append(place(r, c))
    cells: list[list[str | None]] = [[None] * height for _ in range(width)]
    origin: list[list[tuple[int, int]]] = [[(i, j) for j in range(height)] for i in range(width)]
    for (r0, c0), spots in groups.items():
        first = min(spots)
        for i, j in spots:
            origin[i][j] = first
        cells[first[0]][first[1]] = grid.cells[r0][c0] or ""
    return Grid(cells, origin)


def _pull_in_straddling_words(chars: Sequence[Char], box: tuple[float, float, float, float]) -> list[Char]:
    """The characters with every word that starts inside the table but runs over its left or right
    edge moved inside that edge (its letters keep their order), so the word stays whole in its cell."""
    left, top, right, bottom = box
    band = sorted(
        (i for i, ch in enumerate(chars) if top <= (ch["top"] + ch["bottom"]) / 2 <= bottom),
        key=lambda i: (round(chars[i]["top"]), chars[i]["x0"]),
    )
    moved = list(chars)
    for prev, i in pairwise(band):
        a, b = chars[prev], chars[i]
        same_line = abs(a["top"] - b["top"]) < 1.0 and b["text"].strip() and a["text"].strip()
        glued = same_line and b["x0"] - a["x1"] <= WORD_GAP * max(float(b.get("size", 0.0)), 1.0)
        inside = left <= (moved[prev]["x0"] + moved[prev]["x1"]) / 2 <= right
        if glued and inside and (b["x0"] + b["x1"]) / 2 > right:
            step = min((b["x1"] - b["x0"]) / 100, 0.01)
            start = min(moved[prev]["x1"], right - 3 * _EDGE_TOLERANCE)
            moved[i] = {**b, "x0": start + step, "x1": start + 2 * step}
    return moved


def _side_column(
    chars: Sequence[Char],
    box: tuple[float, float, float, float],
    bands: list[float],
    side: str,
    filled_rows: list[int],
) -> tuple[list[str], float] | None:
    """The text beside a table on one side, one entry per row band, and its outer edge; None unless
    it sits within SIDE_REACH of the table on at least half of the rows holding text."""
    left, top, right, bottom = box
    beside = [
        ch
        for ch in chars
        if top <= (ch["top"] + ch["bottom"]) / 2 <= bottom
        and (ch["x1"] <= left + _EDGE_TOLERANCE if side == "left" else ch["x0"] >= right - _EDGE_TOLERANCE)
    ]
    if not beside:
        return None
    rows: list[list[Char]] = [[] for _ in range(len(bands) - 1)]
    for ch in beside:
        middle = (ch["top"] + ch["bottom"]) / 2
        r = max(i for i in range(len(bands) - 1) if bands[i] <= middle + _EDGE_TOLERANCE)
        rows[r].append(ch)
    filled = [row for row in rows if row]
    near = min(
        left - max(ch["x1"] for ch in row) if side == "left" else min(ch["x0"] for ch in row) - right
        for row in filled
    )
    if len(filled) * 2 < len(filled_rows) or near > SIDE_REACH:
        return None
    edge = min(ch["x0"] for ch in beside) if side == "left" else max(ch["x1"] for ch in beside)
    return [cell_text(row) for row in rows], edge


def boxes_fit_text(table: Any, chars: Sequence[Char]) -> bool:
    """False when a ruled table's boxes do not match its text: more than CROWDED_SHARE of its
    characters sit in boxes whose lines hold runs set a column apart (gaps of COLUMN_GAP font sizes),
    as where shading or stray rules make boxes that span whole rows of a table set in columns."""
    total = crowded = 0
    within = [ch for ch in chars if centred_in(ch, table.bbox) and ch["text"].strip()]
    for box in (b for b in table.cells if b is not None):
        inside = [ch for ch in within if centred_in(ch, box)]
        total += len(inside)
        for line in char_lines(inside, "top", "bottom"):
            words = line_words(line)
            size = max(float(line[0].get("size", 0.0)), 1.0)
            if any(b[1] - a[2] > COLUMN_GAP * size for a, b in pairwise(words)):
                crowded += len(inside)
                break
    return total == 0 or crowded <= CROWDED_SHARE * total


def column_edges(table: Any) -> list[float]:
    """The left edges of a table's columns and its right edge: how a continuation is recognised."""
    boxes = [b for b in table.cells if b is not None]
    return [*_edges(b[0] for b in boxes), max(b[2] for b in boxes)]


def _edges(values: Any) -> list[float]:
    edges: list[float] = []
    for value in sorted(values):
        if not edges or value - edges[-1] > _EDGE_TOLERANCE:
            edges.append(value)
    return edges


def _index(edges: list[float], value: float) -> int:
    return min(range(len(edges)), key=lambda i: abs(edges[i] - value))


def centred_in(ch: Char, box: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = box
    return x0 <= (ch["x0"] + ch["x1"]) / 2 <= x1 and top <= (ch["top"] + ch["bottom"]) / 2 <= bottom
