"""Positioned lines (from a PDF text layer or OCR) to reading-order lines and paragraphs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean

PARAGRAPH_GAP = 0.8
HEADING_RATIO = 1.3


@dataclass(frozen=True)
class Line:
    """One line of text and its box in top-left page coordinates; `score` is the OCR confidence."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    score: float | None = None

    @property
    def height(self) -> float:
        return max(self.bottom - self.top, 1e-6)

    @property
    def center_y(self) -> float:
        return (self.top + self.bottom) / 2


def merge_into_lines(boxes: Sequence[Line]) -> list[Line]:
    """Boxes to lines in reading order: boxes whose vertical centre falls within a line's extent join
    it left to right; lines are ordered top to bottom."""
    rows: list[list[Line]] = []
    for box in sorted(boxes, key=lambda b: (b.center_y, b.x0)):
        if rows and rows[-1][0].top <= box.center_y <= rows[-1][0].bottom:
            rows[-1].append(box)
        else:
            rows.append([box])
    lines = []
    for row in rows:
        row.sort(key=lambda b: b.x0)
        scores = [b.score for b in row if b.score is not None]
        lines.append(
            Line(
                text=" ".join(b.text for b in row),
                x0=min(b.x0 for b in row),
                top=min(b.top for b in row),
                x1=max(b.x1 for b in row),
                bottom=max(b.bottom for b in row),
                score=fmean(scores) if scores else None,
            )
        )
    return lines


def group_paragraphs(lines: Sequence[Line]) -> list[list[Line]]:
    """Consecutive lines in reading order grouped into paragraphs: a new paragraph starts after a
    vertical gap wider than PARAGRAPH_GAP line heights, when the text moves up (a new column), or
    when the line height jumps by HEADING_RATIO (a heading)."""
    paragraphs: list[list[Line]] = []
    for line in lines:
        if paragraphs and not _starts_paragraph(paragraphs[-1][-1], line):
            paragraphs[-1].append(line)
        else:
            paragraphs.append([line])
    return paragraphs


def _starts_paragraph(previous: Line, line: Line) -> bool:
    smaller, larger = sorted((previous.height, line.height))
    gap = line.top - previous.bottom
    return gap > PARAGRAPH_GAP * smaller or line.center_y < previous.top or larger > HEADING_RATIO * smaller


def paragraph_text(lines: Sequence[Line]) -> str:
    """A paragraph's lines joined by newlines, as in plain-text records."""
    return "\n".join(line.text.strip() for line in lines if line.text.strip())
