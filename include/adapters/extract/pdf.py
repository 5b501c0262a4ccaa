"""PDF: text paragraphs and table rows, with Docling's full pipeline where model weights exist."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from include.adapters.extract.docling_doc import docling_records
from include.adapters.extract.grid import Grid, read_table
from include.adapters.extract.layout import Line, group_paragraphs, paragraph_text
from include.adapters.extract.limits import ExtractLimits, active_limits, check_pixels, render_scale
from include.adapters.extract.office import convert_with
from include.adapters.extract.pdf_stream import stream_tables, turned_stream_tables
from include.adapters.extract.pdf_tables import (
    boxes_fit_text,
    cell_text,
    centred_in,
    column_edges,
    table_grid,
)
from include.adapters.extract.records import ExtractedRecord, ExtractionError
from include.adapters.extract.tables import grid_records
from include.adapters.extract.text import DEFAULT_MAX_CHARS, paragraph_records

OCR_RESOLUTION = 200
_BBOX_TOLERANCE = 1.0
INSIDE_SHARE = 0.9
_LETTER_SPACED = re.compile(r"(?<!\S)(?:\S ){3,}\S(?!\S)")  # four or more one-character tokens in a row
CONTINUATION_TOLERANCE = 3.0  # points between matching column edges on consecutive pages


@dataclass
class PageTables:
    """pdfplumber's view of one page: its table grids, boxes and column edges, and whether it has a
    text layer."""

    number: int
    grids: list[Grid] = field(default_factory=list)
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    edges: list[list[float]] = field(default_factory=list)
    has_text: bool = True


def artifacts_dir(artifacts_path: str | Path | None = None) -> Path | None:
    """The Docling model weights folder: the argument, else DOCLING_ARTIFACTS_PATH; None unless it exists."""
    from include.core.settings import get_settings

    candidate = artifacts_path or get_settings().extract.docling_artifacts_path
    if candidate and Path(candidate).is_dir():
        return Path(candidate)
    return None


def extract_pdf(
    data: bytes,
    filename: str,
    artifacts_path: str | Path | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> list[ExtractedRecord]:
    """Records of a PDF: `page=P/para=N` and `page=P/table=T/row=R` (first table row = header).

    With model weights: Docling's full pipeline (layout, TableFormer, OCR). Without (the default):
    Docling's NativePdfPipeline for text lines, pdfplumber for ruled tables, RapidOCR for pages with
    no text layer. Encrypted, corrupt or truncated files raise ExtractionError, and so does a PDF of
    more than EXTRACT_MAX_PDF_PAGES pages or with a page over EXTRACT_MAX_PAGE_PIXELS (at 72 dpi).
    """
    check_pdf(data, filename, active_limits())
    artifacts = artifacts_dir(artifacts_path)
    if artifacts is not None:
        read_pages(data, filename, with_tables=False)
        doc = convert_with(full_converter(str(artifacts)), data, filename, ".pdf")
        return docling_records(doc, max_chars)
    pages = read_pages(data, filename)
    doc = convert_with(native_converter(), data, filename, ".pdf")
    lines = _closed_up(data, _lines_by_page(doc))
    records: list[ExtractedRecord] = []
    previous: tuple[str, list[float], list[str]] | None = None  # the last table: key, edges, names
    for page in pages:
        prefix = f"page={page.number}/"
        page_lines = [line for line in lines.get(page.number, []) if not _inside_any(line, page.boxes)]
        if page_lines:
            texts = [paragraph_text(p) for p in group_paragraphs(page_lines)]
            records += paragraph_records(texts, key_prefix=prefix, max_chars=max_chars, page=page.number)
        elif not page.has_text and not page.grids:
            records += _ocr_page(data, page.number, max_chars)
        for t, (grid, edges) in enumerate(zip(page.grids, page.edges, strict=True), start=1):
            key = f"{prefix}table={t}"
            continues = previous if t == 1 and previous and _same_columns(previous[1], edges) else None
            table = read_table(grid, header=continues[2] if continues else None)
            meta: dict[str, object] = {"page": page.number, "table": t}
            if continues:
                meta["continues"] = continues[0]
            records += grid_records(table, key, **meta)
            previous = (continues[0] if continues else key, edges, table.names)
        if not page.grids or (page_lines and page_lines[-1].top > page.boxes[-1][3]):
            previous = None  # no table, or text after the last one: the next page starts afresh
    return records


def check_pdf(data: bytes, filename: str, limits: ExtractLimits) -> None:
    """Page count and page sizes against the limits, read by pdfium before any parser touches a page.
    A PDF pdfium cannot open is left to `read_pages`, which names the problem."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except Exception:
        return
    try:
        count = len(document)
        if count > limits.max_pdf_pages:
            raise ExtractionError(
                filename,
                f"{count:,} pages, over the limit of {limits.max_pdf_pages:,} (EXTRACT_MAX_PDF_PAGES)",
            )
        for index in range(count):
            width, height = document.get_page_size(index)
            check_pixels(filename, f"page {index + 1}", width, height, limits, unit="pt")
    finally:
        document.close()


def _same_columns(before: list[float], after: list[float]) -> bool:
    """True when two tables have the same number of columns at the same places (a page break)."""
    return len(before) == len(after) and all(
        abs(a - b) <= CONTINUATION_TOLERANCE for a, b in zip(before, after, strict=False)
    )


def read_pages(data: bytes, filename: str, with_tables: bool = True) -> list[PageTables]:
    """Every page's tables, top to bottom: ruled ones through pdfplumber (at least 2 rows and 2
    columns: a lone ruled box stays paragraph text) and unruled ones from how the text lines up
    (pdf_stream); also the check that the PDF opens at all."""
    import pdfplumber

    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            if not pdf.pages:
                raise ExtractionError(filename, "PDF has no pages")
            pages = []
            for page in pdf.pages:
                found = [t for t in page.find_tables() if _is_table(t)] if with_tables else []
                found = [t for t in found if boxes_fit_text(t, page.chars)]
                ruled = [(*table_grid(table, page.chars), column_edges(table)) for table in found]
                boxes = [box for _, box, _ in ruled]
                unruled = (
                    stream_tables(page.chars, boxes)
                    + turned_stream_tables(page.chars, boxes, (float(page.width), float(page.height)))
                    if with_tables
                    else []
                )
                tables = sorted(ruled + [(t.grid, t.box, t.edges) for t in unruled], key=lambda t: t[1][1])
                pages.append(
                    PageTables(
                        number=page.page_number,
                        grids=[grid for grid, _, _ in tables],
                        boxes=[box for _, box, _ in tables],
                        edges=[edges for _, _, edges in tables],
                        has_text=bool(page.chars),
                    )
                )
            return pages
    except ExtractionError:
        raise
    except Exception as exc:
        raise ExtractionError(filename, _pdf_problem(exc)) from exc


def _is_table(table: Any) -> bool:
    return len(table.rows) >= 2 and max((len(row.cells) for row in table.rows), default=0) >= 2


def _pdf_problem(exc: Exception) -> str:
    cause = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
    name = type(cause).__name__
    if "Password" in name or "Encrypt" in name:
        return "encrypted PDF: a password is needed to read it"
    return f"corrupt or truncated PDF: {name}: {cause}"


def _lines_by_page(doc: Any) -> dict[int, list[Line]]:
    from docling_core.types.doc import CoordOrigin, TextItem

    lines: dict[int, list[Line]] = {}
    for item, _level in doc.iterate_items():
        if not isinstance(item, TextItem) or not item.prov or not item.text.strip():
            continue
        prov = item.prov[0]
        height = doc.pages[prov.page_no].size.height
        box = prov.bbox
        if box.coord_origin != CoordOrigin.TOPLEFT:
            box = box.to_top_left_origin(page_height=height)
        lines.setdefault(prov.page_no, []).append(Line(item.text, box.l, box.t, box.r, box.b))
    return lines


def _closed_up(data: bytes, lines: dict[int, list[Line]]) -> dict[int, list[Line]]:
    """Lines that read as letter-spaced ("0 3 / 2 5 / 2 0 1 6") rebuilt from their characters, where a
    space goes only where the gap is wider than the line's usual letter gap ("03/25/2016")."""
    suspects = {
        page: [i for i, line in enumerate(found) if _LETTER_SPACED.search(line.text)]
        for page, found in lines.items()
    }
    suspects = {page: found for page, found in suspects.items() if found}
    if not suspects:
        return lines
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page, indexes in suspects.items():
            chars = pdf.pages[page - 1].chars
            for i in indexes:
                line = lines[page][i]
                box = (
                    line.x0 - _BBOX_TOLERANCE,
                    line.top - _BBOX_TOLERANCE,
                    line.x1 + _BBOX_TOLERANCE,
                    line.bottom + _BBOX_TOLERANCE,
                )
                text = " ".join(cell_text([ch for ch in chars if centred_in(ch, box)]).split("\n"))
                if text.strip():
                    lines[page][i] = replace(line, text=text)
    return lines


def _inside_any(line: Line, boxes: list[tuple[float, float, float, float]]) -> bool:
    """True when the line lies within a table box: its middle height inside, and all but a sliver of
    its width (a line straddling the table's edge stays paragraph text, so none of it is lost)."""
    tol = _BBOX_TOLERANCE
    width = max(line.x1 - line.x0, 1e-6)
    for x0, top, x1, bottom in boxes:
        overlap = min(line.x1, x1 + tol) - max(line.x0, x0 - tol)
        if top - tol <= line.center_y <= bottom + tol and overlap >= INSIDE_SHARE * width:
            return True
    return False


def _ocr_page(data: bytes, number: int, max_chars: int) -> list[ExtractedRecord]:
    import pdfplumber

    from include.adapters.extract.image import ocr_records

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[number - 1]
        scale = render_scale(page.width, page.height, OCR_RESOLUTION / 72, active_limits().max_page_pixels)
        image = page.to_image(resolution=72 * scale).original
    return ocr_records(image, key_prefix=f"page={number}/", max_chars=max_chars, page=number)


@lru_cache(maxsize=1)
def native_converter() -> Any:
    """The process-wide model-free PDF converter (Docling's NativePdfPipeline: text lines with boxes)."""
    from docling.datamodel.base_models import InputFormat
    from docling.datamodel.pipeline_options import NativePdfPipelineOptions
    from docling.document_converter import DocumentConverter, PdfFormatOption
    from docling.pipeline.native_pdf_pipeline import NativePdfPipeline

    option = PdfFormatOption(pipeline_cls=NativePdfPipeline, pipeline_options=NativePdfPipelineOptions())
    return DocumentConverter(allowed_formats=[InputFormat.PDF], format_options={InputFormat.PDF: option})


@lru_cache(maxsize=2)
def full_converter(artifacts_path: str) -> Any:
    """The process-wide full PDF converter using the model weights under `artifacts_path`; OCR only
    where `RapidOcr/` weights were copied there too."""
    from docling.datamodel.base_models import InputFormat
    from docling.datamodel.pipeline_options import PdfPipelineOptions
    from docling.document_converter import DocumentConverter, PdfFormatOption

    do_ocr = (Path(artifacts_path) / "RapidOcr").is_dir()
    options = PdfPipelineOptions(artifacts_path=artifacts_path, do_table_structure=True, do_ocr=do_ocr)
    return DocumentConverter(
        allowed_formats=[InputFormat.PDF],
        format_options={InputFormat.PDF: PdfFormatOption(pipeline_options=options)},
    )
