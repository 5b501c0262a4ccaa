"""The extraction entry point: detect a document's type and route its bytes to the right extractor."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from include.adapters.extract.detect import HEAD_BYTES, detect_type
from include.adapters.extract.limits import active_limits, check_file_bytes, check_records, is_out_of_memory
from include.adapters.extract.records import ExtractedRecord, ExtractionError

if TYPE_CHECKING:
    from include.core.doc_type import DocType

Extractor = Callable[[bytes, str], list[ExtractedRecord]]


def extractor_for(doc_type: DocType) -> Extractor | None:
    """The extractor of a document type; None for `unknown` (imports stay lazy: Docling takes seconds)."""
    if doc_type == "text":
        from include.adapters.extract.text import extract_text

        return extract_text
    if doc_type == "csv":
        from include.adapters.extract.tables import extract_csv

        return extract_csv
    if doc_type == "xlsx":
        from include.adapters.extract.tables import extract_xlsx

        return extract_xlsx
    if doc_type == "pdf":
        from include.adapters.extract.pdf import extract_pdf

        return extract_pdf
    if doc_type == "image":
        from include.adapters.extract.image import extract_image

        return extract_image
    if doc_type == "docx":
        from include.adapters.extract.office import extract_docx

        return extract_docx
    if doc_type == "html":
        from include.adapters.extract.office import extract_html

        return extract_html
    return None


def extract_document(data: bytes, filename: str, doc_type: DocType | None = None) -> list[ExtractedRecord]:
    """The records of one document, in document order, with unique record keys.

    `doc_type` skips detection when the caller already knows it. Same bytes give the same keys and
    texts. Any failure, including one inside a third-party library, raises ExtractionError naming
    the file and the cause; so does a breach of the limits in force (`include.adapters.extract.limits`). Run
    it in a child process with the time and memory limits through `include.adapters.extract.sandbox`.
    """
    if not data:
        raise ExtractionError(filename, "empty file")
    limits = active_limits()
    check_file_bytes(filename, len(data), limits)
    if doc_type is None:
        doc_type = detect_type(data[:HEAD_BYTES], filename)
    extractor = extractor_for(doc_type)
    if extractor is None:
        raise ExtractionError(filename, f"unsupported document type {doc_type!r}")
    try:
        records = extractor(data, filename)
    except Exception as exc:
        cause = exc.__cause__ if isinstance(exc, ExtractionError) else exc
        if cause is not None and is_out_of_memory(cause):  # an extractor may have named it otherwise
            raise ExtractionError(
                filename,
                f"{doc_type} extraction ran out of memory (EXTRACT_MAX_MEMORY_BYTES is "
                f"{limits.max_memory_bytes / 2**30:.1f} GiB of address space): {_first_line(cause)}",
            ) from exc
        if isinstance(exc, ExtractionError):
            raise
        raise ExtractionError(filename, f"{doc_type} extraction failed: {type(exc).__name__}: {exc}") from exc
    check_records(filename, len(records), limits)
    duplicates = [key for key, count in Counter(r.record_key for r in records).items() if count > 1]
    if duplicates:
        raise ExtractionError(filename, f"duplicate record keys {duplicates[:3]}")
    return records


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:300]
