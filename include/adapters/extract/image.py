"""Images: OCR with RapidOCR (its bundled ONNX models) into table rows and paragraphs in reading order."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Sequence
from functools import lru_cache
from statistics import fmean
from typing import TYPE_CHECKING, Any

from include.adapters.extract.grid import ReadTable, read_table
from include.adapters.extract.image_tables import ImageTable, find_table, rgb_on_white
from include.adapters.extract.layout import Line, group_paragraphs, merge_into_lines, paragraph_text
from include.adapters.extract.lib_img2table import find_tables
from include.adapters.extract.limits import ExtractLimits, active_limits, check_pixels
from include.adapters.extract.records import ExtractedRecord, ExtractionError
from include.adapters.extract.tables import grid_records
from include.adapters.extract.text import DEFAULT_MAX_CHARS, paragraph_parts

if TYPE_CHECKING:
    from PIL.Image import Image


@lru_cache(maxsize=1)
def ocr_engine() -> Any:
    """The process-wide RapidOCR engine (model load once; later calls reuse it)."""
    from rapidocr import RapidOCR

    return RapidOCR(params={"Global.log_level": "error"})


def ocr_lines(image: Image) -> list[Line]:
    """OCR lines of an image in reading order, each with its mean recognition score."""
    return merge_into_lines(ocr_boxes(image))


def ocr_boxes(image: Image) -> list[Line]:
    """The OCR engine's text boxes of an image, each with its recognition score."""
    result = ocr_engine()(rgb_on_white(image))
    if result.boxes is None or result.txts is None:
        return []
    return [
        Line(
            text=text,
            x0=float(min(x for x, _ in box)),
            top=float(min(y for _, y in box)),
            x1=float(max(x for x, _ in box)),
            bottom=float(max(y for _, y in box)),
            score=float(score),
        )
        for box, text, score in zip(result.boxes, result.txts, result.scores, strict=True)
        if text.strip()
    ]


def ocr_records(
    image: Image, key_prefix: str, max_chars: int = DEFAULT_MAX_CHARS, **meta: Any
) -> list[ExtractedRecord]:
    """Records of one image or rendered page: the text outside every table as paragraphs
    `<key_prefix>para=N` (meta kind=ocr and the paragraph's mean OCR score), then each table (see
    `image_tables`) as `<key_prefix>table=T/row=R`, T from 1 top to bottom."""
    boxes = ocr_boxes(image)
    tables = image_tables(image, boxes)
    used = {id(box) for table, _ in tables for box in table.used}
    around = merge_into_lines([b for b in boxes if id(b) not in used])
    records = _paragraph_records(around, key_prefix, max_chars, **meta)
    for t, (_, read) in enumerate(tables, start=1):
        records += grid_records(read, f"{key_prefix}table={t}", **meta, table=t, source="ocr")
    return records


def image_tables(image: Image, boxes: Sequence[Line]) -> list[tuple[ImageTable, ReadTable]]:
    """The tables of an image with rows under their header, top to bottom: every table img2table
    finds, ruled or not (`lib_img2table.find_tables`, filled with our OCR boxes); where it finds none,
    the one our own rules build from the rules and the boxes' alignment (`image_tables.find_table`)."""
    if not boxes:
        return []
    found = [(table, read_table(table.grid)) for table in find_tables(image, boxes, borderless=True)]
    tables = [(table, read) for table, read in found if read.rows]
    own = find_table(image, boxes) if not tables else None
    if own is not None and (read := read_table(own.grid)).rows:
        tables.append((own, read))
    return tables


def _paragraph_records(
    lines: list[Line], key_prefix: str, max_chars: int, **meta: Any
) -> list[ExtractedRecord]:
    records = []
    for n, paragraph in enumerate(group_paragraphs(lines), start=1):
        scores = [line.score for line in paragraph if line.score is not None]
        score = round(fmean(scores), 4) if scores else None
        records += paragraph_parts(
            n, paragraph_text(paragraph), key_prefix, max_chars, kind="ocr", **meta, score=score
        )
    return records


def extract_image(data: bytes, filename: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[ExtractedRecord]:
    """Records of an image document: `page=N/para=M` and `page=N/table=1/row=R`, one page per frame
    (multi-page TIFF). More than EXTRACT_MAX_IMAGE_FRAMES frames, or a frame over
    EXTRACT_MAX_PAGE_PIXELS (a JPEG is first decoded at 1/2 to 1/8 size to fit), fails before decoding."""
    records = []
    for page, frame in enumerate(image_frames(data, filename, active_limits()), start=1):
        records += ocr_records(frame, key_prefix=f"page={page}/", max_chars=max_chars, page=page)
    return records


def image_frames(data: bytes, filename: str, limits: ExtractLimits) -> Iterator[Image]:
    """Each frame of an image file, decoded one at a time within the limits; ExtractionError when the
    file does not decode or a limit is passed."""
    from PIL import Image as PILImage
    from PIL import ImageSequence, UnidentifiedImageError

    problems = (UnidentifiedImageError, OSError, SyntaxError, ValueError, PILImage.DecompressionBombError)
    try:
        image = PILImage.open(io.BytesIO(data))
        count = getattr(image, "n_frames", 1)
    except problems as exc:
        raise ExtractionError(filename, f"cannot decode image: {exc}") from exc
    if count > limits.max_image_frames:
        raise ExtractionError(
            filename,
            f"{count:,} frames, over the limit of {limits.max_image_frames:,} (EXTRACT_MAX_IMAGE_FRAMES)",
        )
    with image:
        for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
            try:
                fit_pixels(frame, limits.max_page_pixels)
                check_pixels(filename, f"frame {number}", *frame.size, limits)
                frame.load()
                decoded = frame.copy()
            except ExtractionError:
                raise
            except problems as exc:
                raise ExtractionError(filename, f"cannot decode image: {exc}") from exc
            yield decoded


def fit_pixels(image: Image, max_pixels: int) -> None:
    """Before decoding: a JPEG over `max_pixels` is set to decode at the largest of 1/2, 1/4, 1/8 size
    that fits (JPEG decodes at those scales for free); other formats are left as they are."""
    width, height = image.size
    if image.format != "JPEG" or width * height <= max_pixels:
        return
    for reduce in (2, 4, 8):
        if math.ceil(width / reduce) * math.ceil(height / reduce) <= max_pixels:
            image.draft(image.mode, (math.ceil(width / reduce), math.ceil(height / reduce)))
            return
