"""PDF: text paragraphs and table rows, with Docling's full pipeline where model weights exist."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from include.extract.docling_doc import docling_records
from include.extract.layout import Line, group_paragraphs, paragraph_text
from include.extract.office import convert_with
from include.extract.records import ExtractedRecord, ExtractionError
from include.extract.tables import table_records
from include.extract.text import DEFAULT_MAX_CHARS, paragraph_records

ARTIFACTS_ENV = "DOCLING_ARTIFACTS_PATH"
OCR_RESOLUTION = 200
_BBOX_TOLERANCE = 1.0


@dataclass
class PageTables:
    """pdfplumber's view of one page: its table rows and boxes, and whether it has a text layer."""

    number: int
    rows: list[list[list[str | None]]] = field(default_factory=list)
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    has_text: bool = True


def artifacts_dir(artifacts_path: str | Path | None = None) -> Path | None:
    """The Docling model weights folder: the argument, else DOCLING_ARTIFACTS_PATH; None unless it exists."""
    candidate = artifacts_path or os.environ.get(ARTIFACTS_ENV)
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
    no text layer. Encrypted, corrupt or truncated files raise ExtractionError.
    """
    artifacts = artifacts_dir(artifacts_path)
    if artifacts is not None:
        read_pages(data, filename, with_tables=False)
        doc = convert_with(full_converter(str(artifacts)), data, filename, ".pdf")
        return docling_records(doc, max_chars)
    pages = read_pages(data, filename)
    doc = convert_with(native_converter(), data, filename, ".pdf")
    lines = _lines_by_page(doc)
    records: list[ExtractedRecord] = []
    for page in pages:
        prefix = f"page={page.number}/"
        page_lines = [line for line in lines.get(page.number, []) if not _inside_any(line, page.boxes)]
        if page_lines:
            texts = [paragraph_text(p) for p in group_paragraphs(page_lines)]
            records += paragraph_records(texts, key_prefix=prefix, max_chars=max_chars, page=page.number)
        elif not page.has_text and not page.rows:
            records += _ocr_page(data, page.number, max_chars)
        for t, rows in enumerate(page.rows, start=1):
            records += table_records(rows, f"{prefix}table={t}", page=page.number, table=t)
    return records


def read_pages(data: bytes, filename: str, with_tables: bool = True) -> list[PageTables]:
    """Every page's ruled tables through pdfplumber (at least 2 rows and 2 columns: a lone ruled box
    stays paragraph text); also the check that the PDF opens at all."""
    import pdfplumber

    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            if not pdf.pages:
                raise ExtractionError(filename, "PDF has no pages")
            pages = []
            for page in pdf.pages:
                found = [t for t in page.find_tables() if _is_table(t)] if with_tables else []
                pages.append(
                    PageTables(
                        number=page.page_number,
                        rows=[table.extract() for table in found],
                        boxes=[table.bbox for table in found],
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


def _inside_any(line: Line, boxes: list[tuple[float, float, float, float]]) -> bool:
    cx, cy = (line.x0 + line.x1) / 2, line.center_y
    tol = _BBOX_TOLERANCE
    return any(
        x0 - tol <= cx <= x1 + tol and top - tol <= cy <= bottom + tol for x0, top, x1, bottom in boxes
    )


def _ocr_page(data: bytes, number: int, max_chars: int) -> list[ExtractedRecord]:
    import pdfplumber

    from include.extract.image import ocr_records

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        image = pdf.pages[number - 1].to_image(resolution=OCR_RESOLUTION).original
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
