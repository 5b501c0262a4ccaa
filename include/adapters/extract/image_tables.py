"""Tables in images: rows and columns built from the OCR boxes and the ruling lines drawn on the page.

Ruled tables: the long dark runs of pixels are the rules; the slots between them are the grid, and a
rule missing between two slots (a spanning cell) joins them. Without rules: rows are boxes that overlap
vertically, columns the horizontal bands no row's boxes cross. Either way each OCR box goes to the slot
holding its centre, and the grid is read by the same rules as a PDF table (include/adapters/extract/grid.py).

Since #24 img2table finds an image's tables first (`lib_img2table.find_tables`, several per image);
`find_table` is the fallback for a picture where img2table finds none (`image.image_tables`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np

from include.adapters.extract.grid import Grid, is_number_like
from include.adapters.extract.layout import Line, merge_into_lines

if TYPE_CHECKING:
    from PIL.Image import Image

DARK = 128  # grey level below which a pixel is ink
RULE_SHARE = 0.15  # a rule is a dark run at least this share of the image's width (height)
EDGE_SHARE = 0.6  # a rule is drawn between two slots when this share of their shared edge is dark
MIN_COLUMN_GAP = 12.0  # pixels of clear space between two columns of a table without rules


@dataclass
class ImageTable:
    """A table found in an image: its grid, its box, and the OCR boxes it used."""

    grid: Grid
    box: tuple[float, float, float, float]
    used: list[Line]


def find_table(image: Image, boxes: Sequence[Line]) -> ImageTable | None:
    """The table of an image from its OCR boxes: by its ruling lines where it has them, else by the
    boxes' alignment; None when the boxes do not form at least two rows and two columns."""
    ink = np.asarray(image.convert("L")) < DARK
    ys = _rules(ink, axis=1)
    xs = _rules(ink, axis=0)
    if len(ys) >= 3 and len(xs) >= 3:
        inside = [b for b in boxes if xs[0] <= _cx(b) <= xs[-1] and ys[0] <= b.center_y <= ys[-1]]
        if inside:
            return ImageTable(_ruled_grid(ink, xs, ys, inside), (xs[0], ys[0], xs[-1], ys[-1]), inside)
    return _aligned_table(boxes)


def _cx(box: Line) -> float:
    return (box.x0 + box.x1) / 2


def _rules(ink: np.ndarray, axis: int) -> list[float]:
    """Positions of the rules across `axis` (1: horizontal rules, as y; 0: vertical rules, as x):
    lines of pixels holding a dark run of RULE_SHARE of the length; neighbours merge into one."""
    lines = ink if axis == 1 else ink.T
    need = max(int(RULE_SHARE * lines.shape[1]), 2)
    found = [i for i, line in enumerate(lines) if _longest_run(line) >= need]
    merged: list[list[int]] = []
    for i in found:
        if merged and i - merged[-1][-1] <= 3:
            merged[-1].append(i)
        else:
            merged.append([i])
    return [float(np.mean(group)) for group in merged]


def _longest_run(line: np.ndarray) -> int:
    if not line.any():
        return 0
    padded = np.concatenate(([0], line.astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[::2]).max())


def _drawn(ink: np.ndarray, fixed: float, start: float, end: float, vertical: bool) -> bool:
    """True when the rule at `fixed` is drawn over most of start..end (a band of 2 pixels either side)."""
    lo, hi = int(start) + 2, int(end) - 2
    if hi <= lo:
        return True
    f = round(fixed)
    band = ink[lo:hi, max(f - 2, 0) : f + 3] if vertical else ink[max(f - 2, 0) : f + 3, lo:hi]
    hits = band.any(axis=1 if vertical else 0)
    return bool(hits.mean() >= EDGE_SHARE)


def _ruled_grid(ink: np.ndarray, xs: list[float], ys: list[float], boxes: Sequence[Line]) -> Grid:
    rows, cols = len(ys) - 1, len(xs) - 1
    origin: list[list[tuple[int, int]]] = []
    for r in range(rows):
        origin.append([])
        for c in range(cols):
            if c > 0 and not _drawn(ink, xs[c], ys[r], ys[r + 1], vertical=True):
                origin[r].append(origin[r][c - 1])
            elif r > 0 and not _drawn(ink, ys[r], xs[c], xs[c + 1], vertical=False):
                origin[r].append(origin[r - 1][c])
            else:
                origin[r].append((r, c))
    slots: dict[tuple[int, int], list[Line]] = {}
    for box in boxes:
        r = _band(ys, box.center_y)
        c = _band(xs, _cx(box))
        slots.setdefault(origin[r][c], []).append(box)
    cells: list[list[str | None]] = [
        [_slot_text(slots.get((r, c), [])) if origin[r][c] == (r, c) else None for c in range(cols)]
        for r in range(rows)
    ]
    return Grid(cells, origin)


def _band(edges: list[float], value: float) -> int:
    for i in range(len(edges) - 1):
        if value < edges[i + 1]:
            return i
    return len(edges) - 2


def _slot_text(boxes: Sequence[Line]) -> str:
    return "\n".join(line.text.strip() for line in merge_into_lines(boxes) if line.text.strip())


def _aligned_table(boxes: Sequence[Line]) -> ImageTable | None:
    """A table without rules: rows of vertically overlapping boxes, columns split where no box
    crosses a gap of MIN_COLUMN_GAP pixels; at least two rows of two or more columns, and a figure."""
    if not boxes:
        return None
    left, right = min(b.x0 for b in boxes), max(b.x1 for b in boxes)
    covered = np.zeros(int(right - left) + 2, dtype=bool)
    for b in boxes:
        covered[int(b.x0 - left) : int(b.x1 - left) + 1] = True
    gaps: list[float] = []
    run = 0
    for i, used in enumerate(covered):
        run = 0 if used else run + 1
        if run == int(MIN_COLUMN_GAP):
            gaps.append(left + i - MIN_COLUMN_GAP / 2)
    if not gaps:
        return None
    xs = [left - 1, *gaps, right + 1]
    lines = merge_into_lines(boxes)
    ys = [lines[0].top - 1] + [(a.bottom + b.top) / 2 for a, b in pairwise(lines)]
    ys.append(lines[-1].bottom + 1)
    grid_rows = len(ys) - 1
    slots: dict[tuple[int, int], list[Line]] = {}
    for box in boxes:
        slots.setdefault((_band(ys, box.center_y), _band(xs, _cx(box))), []).append(box)
    multi = sum(1 for r in range(grid_rows) if len({c for rr, c in slots if rr == r}) >= 2)
    if multi < 2 or not any(is_number_like(b.text.strip()) for b in boxes):
        return None  # prose in columns is not a table: a table has figures
    cells: list[list[str | None]] = [
        [_slot_text(slots.get((r, c), [])) for c in range(len(xs) - 1)] for r in range(grid_rows)
    ]
    return ImageTable(Grid(cells), (xs[0], ys[0], xs[-1], ys[-1]), list(boxes))


def rgb_on_white(image: Image) -> Image:
    """RGB, transparency laid on white (OCR and img2table both read three channels)."""
    from PIL import Image as PILImage

    if image.mode in {"RGBA", "LA"} or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = PILImage.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
