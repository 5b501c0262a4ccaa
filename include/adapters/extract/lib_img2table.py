"""Tables in images found by img2table (OpenCV image processing, no model weights), filled with the OCR
boxes the caller already has, and returned as the grids our grid rules read.

img2table finds every table of an image: ruled ones from their lines, and (`borderless=True`, the
setting chosen on the tune part of the corpus, see docs/benchmarks.md "Libraries against our rules")
tables without rules from how the text blocks line up. Its OCR step is given our own RapidOCR boxes
(`ocr_boxes` in include/adapters/extract/image.py), so the image is read once and the text is the same as in
our own table finder (`image_tables.find_table`); only the structure comes from img2table. A cell
spanning slots is the same cell in each of them; here it starts in its top-left slot and covers the
others (`Grid.origin`), as in `image_tables`.

img2table imports `cv2.ximgproc` (OpenCV's contrib build): it needs opencv-contrib-python-headless of
the same version as the pinned opencv-python-headless (both install the `cv2` package).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from include.adapters.extract.grid import Grid
from include.adapters.extract.image_tables import ImageTable, rgb_on_white
from include.adapters.extract.layout import Line

if TYPE_CHECKING:
    from PIL.Image import Image

MIN_CONFIDENCE = 50
"""OCR boxes scored below this (0-100) are left out of cells, as img2table does by default."""


def find_tables(image: Image, boxes: Sequence[Line], borderless: bool = True) -> list[ImageTable]:
    """Every table img2table finds in `image`, top to bottom then left to right, each cell holding the
    OCR boxes that lie mostly inside it (lines joined by newlines); `used` holds the boxes whose centre
    lies in the table's box. No boxes, no tables."""
    if not boxes:
        return []
    from img2table.document import Image as Img2TableImage

    png = io.BytesIO()
    rgb_on_white(image).save(png, format="PNG")
    document = Img2TableImage(src=png.getvalue(), detect_rotation=False)
    found = document.extract_tables(
        ocr=_given_boxes(boxes),
        implicit_rows=False,
        implicit_columns=False,
        borderless_tables=borderless,
        min_confidence=MIN_CONFIDENCE,
    )
    tables = []
    for table in sorted(found, key=lambda t: (t.bbox.y1, t.bbox.x1)):
        box = (float(table.bbox.x1), float(table.bbox.y1), float(table.bbox.x2), float(table.bbox.y2))
        used = [b for b in boxes if box[0] <= (b.x0 + b.x1) / 2 <= box[2] and box[1] <= b.center_y <= box[3]]
        tables.append(ImageTable(table_grid([list(row) for row in table.content.values()]), box, used))
    return tables


def table_grid(slots: Sequence[Sequence[Any]]) -> Grid:
    """A Grid from img2table's rows of cells (objects with `bbox` and `value`): a slot holding the
    same cell as the slot on its left, else above it, is covered by that cell."""
    cells: list[list[str | None]] = []
    origin: list[list[tuple[int, int]]] = []
    for r, row in enumerate(slots):
        cells.append([])
        origin.append([])
        for c, cell in enumerate(row):
            if c > 0 and _same(cell, row[c - 1]):
                origin[r].append(origin[r][c - 1])
            elif r > 0 and c < len(slots[r - 1]) and _same(cell, slots[r - 1][c]):
                origin[r].append(origin[r - 1][c])
            else:
                origin[r].append((r, c))
            cells[r].append((cell.value or "").strip() if origin[r][c] == (r, c) else None)
    return Grid(cells, origin)


def _same(a: Any, b: Any) -> bool:
    return a is b or a.bbox == b.bbox


def _given_boxes(boxes: Sequence[Line]) -> Any:
    """An img2table OCR instance that returns `boxes` (one image) instead of reading the image again."""
    from img2table.ocr._types import OCRData, OCRInstance

    records = [
        {
            "id": f"line_{i}",
            "parent": f"line_{i}",
            "value": b.text.strip(),
            "confidence": int(100 * (b.score if b.score is not None else 1.0)),
            "x1": int(b.x0),
            "y1": int(b.top),
            "x2": round(b.x1),
            "y2": round(b.bottom),
        }
        for i, b in enumerate(boxes)
    ]

    class GivenBoxes(OCRInstance):
        def of(self, document: Any) -> Any:
            return OCRData(records={0: records})

    return GivenBoxes()
