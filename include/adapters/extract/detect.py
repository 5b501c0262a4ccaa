"""Document type detection by content and extension."""

from __future__ import annotations

from pathlib import PurePath
from typing import TYPE_CHECKING

from include.adapters.extract.records import ExtractionError

if TYPE_CHECKING:
    from include.core.doc_type import DocType

HEAD_BYTES = 8192

_EXTENSIONS: dict[str, DocType] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".txt": "text",
    ".text": "text",
    ".md": "text",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".pdf": "pdf",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".docx": "docx",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".tif": "image",
    ".tiff": "image",
    ".bmp": "image",
    ".gif": "image",
    ".webp": "image",
}
_TEXT_TYPES = frozenset({"csv", "text", "html"})
_IMAGE_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"II*\x00",
    b"MM\x00*",
    b"GIF87a",
    b"GIF89a",
    b"BM",
)


def type_from_content(head: bytes) -> DocType | None:
    """The type the leading bytes prove, or None when they prove nothing (plain text has no magic)."""
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    if head.startswith(b"PK\x03\x04"):
        if b"word/" in head:
            return "docx"
        if b"xl/" in head:
            return "xlsx"
        return "unknown"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "unknown"
    return None


def type_from_extension(filename: str) -> DocType | None:
    """The type a filename's extension claims, or None for an unknown extension."""
    return _EXTENSIONS.get(PurePath(filename).suffix.lower())


def detect_type(head: bytes, filename: str) -> DocType:
    """The document type from its leading bytes and its filename.

    Content wins where it proves a type; a claimed binary type (PDF, image, XLSX, DOCX) that the
    content contradicts raises ExtractionError, and so does a text extension on a binary format.
    Text whose lines split into the same fields (a pipe-delimited `.txt`) is `csv`.
    """
    by_content = type_from_content(head)
    by_extension = type_from_extension(filename)
    if by_content == "unknown" and by_extension in {"xlsx", "docx"} and head.startswith(b"PK\x03\x04"):
        return by_extension
    if by_content is not None:
        if by_extension is not None and by_extension != by_content:
            raise ExtractionError(
                filename, f"content is {_describe(by_content)} but the extension says {by_extension}"
            )
        return by_content
    if by_extension is not None and by_extension not in _TEXT_TYPES:
        raise ExtractionError(filename, f"content is not {by_extension}: no {by_extension} signature")
    sniffed = by_extension if by_extension is not None else _sniff_text(head)
    if sniffed == "text" and _delimited(head):
        return "csv"
    return sniffed


def _delimited(head: bytes) -> bool:
    """True when text content is delimited rows (a pipe-separated `.txt`): sniff it, not the name."""
    from include.adapters.extract.tables import looks_delimited

    text = head.decode("utf-8", errors="replace")
    if len(head) >= HEAD_BYTES and "\n" in text:
        text = text[: text.rindex("\n")]  # the last line may be cut
    return looks_delimited(text)


def _describe(doc_type: DocType) -> str:
    return "an unsupported binary format" if doc_type == "unknown" else f"{doc_type}"


def _sniff_text(head: bytes) -> DocType:
    if not head:
        return "unknown"
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "unknown"
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip()[:256].lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "html"
    return "text"
