"""DOCX and HTML through Docling's DocumentConverter (no model weights needed)."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import PurePath
from typing import Any

from include.adapters.extract.docling_doc import docling_records
from include.adapters.extract.records import ExtractedRecord, ExtractionError
from include.adapters.extract.text import DEFAULT_MAX_CHARS


@lru_cache(maxsize=1)
def office_converter() -> Any:
    """The process-wide converter for DOCX and HTML (importing Docling takes seconds)."""
    from docling.datamodel.base_models import InputFormat
    from docling.document_converter import DocumentConverter

    return DocumentConverter(allowed_formats=[InputFormat.DOCX, InputFormat.HTML])


def convert_with(converter: Any, data: bytes, filename: str, suffix: str) -> Any:
    """A DoclingDocument from bytes, named with `suffix` so Docling picks the format whatever the
    filename says; a failed or partial conversion raises ExtractionError."""
    from docling.datamodel.base_models import ConversionStatus, DocumentStream

    name = PurePath(filename).name
    if not name.lower().endswith(suffix):
        name = f"{name}{suffix}"
    result = converter.convert(DocumentStream(name=name, stream=io.BytesIO(data)), raises_on_error=False)
    if result.status != ConversionStatus.SUCCESS:
        reasons = "; ".join(error.error_message for error in result.errors) or result.status.value
        raise ExtractionError(filename, f"Docling conversion {result.status.value}: {reasons}")
    return result.document


def extract_docx(data: bytes, filename: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[ExtractedRecord]:
    """Records of a DOCX document: `para=N` and `table=T/row=R`."""
    return docling_records(convert_with(office_converter(), data, filename, ".docx"), max_chars=max_chars)


def extract_html(data: bytes, filename: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[ExtractedRecord]:
    """Records of an HTML document: `para=N` and `table=T/row=R`."""
    lower = PurePath(filename).name.lower()
    suffix = ".htm" if lower.endswith(".htm") else ".html"
    return docling_records(convert_with(office_converter(), data, filename, suffix), max_chars=max_chars)
