"""Document type detection by content and extension."""

from __future__ import annotations

import io
import zipfile

import pytest

from include.adapters.extract.detect import detect_type
from include.adapters.extract.records import ExtractionError


def zipped(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
TIFF = b"II*\x00\x08\x00\x00\x00"
XLSX = zipped("xl/workbook.xml")
DOCX = zipped("word/document.xml")


@pytest.mark.parametrize(
    ("head", "filename", "expected"),
    [
        (PDF, "report.pdf", "pdf"),
        (PDF, "report", "pdf"),
        (PDF, "upload.bin", "pdf"),
        (PNG, "scan.png", "image"),
        (PNG, "scan.jpg", "image"),
        (JPEG, "photo.JPEG", "image"),
        (TIFF, "fax.tif", "image"),
        (XLSX, "ledger.xlsx", "xlsx"),
        (XLSX, "ledger", "xlsx"),
        (DOCX, "letter.docx", "docx"),
        (b"a,b\n1,2\n", "data.csv", "csv"),
        (b"a\tb\n1\t2\n", "data.TSV", "csv"),
        (b"hello", "notes.txt", "text"),
        (b"# Title", "README.md", "text"),
        (b"<!DOCTYPE html><html></html>", "page.htm", "html"),
        (b"\xef\xbb\xbf<html><body>x</body></html>", "download", "html"),
        (b"plain words", "no_extension", "text"),
        ("caf\u00e9".encode("utf-16"), "notes.dat", "text"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", "old.xls", "unknown"),
        (zipped("other.txt"), "archive.zip", "unknown"),
    ],
)
def test_detect_type(head: bytes, filename: str, expected: str) -> None:
    assert detect_type(head, filename) == expected


@pytest.mark.parametrize(
    ("head", "filename"),
    [
        (b"just some text", "report.pdf"),
        (PNG, "report.pdf"),
        (PDF, "notes.txt"),
        (PDF, "data.csv"),
        (XLSX, "letter.docx"),
        (DOCX, "ledger.xlsx"),
        (b"not an image", "scan.png"),
        (b"<html></html>", "ledger.xlsx"),
        (zipped("other.txt"), "data.csv"),
    ],
)
def test_content_contradicting_extension_raises_naming_the_file(head: bytes, filename: str) -> None:
    with pytest.raises(ExtractionError) as caught:
        detect_type(head, filename)
    assert caught.value.filename == filename
    assert str(caught.value).startswith(f"{filename}: ")


def test_extraction_error_pickles_with_its_fields() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(ExtractionError("a.pdf", "encrypted PDF")))
    assert (error.filename, error.reason, str(error)) == ("a.pdf", "encrypted PDF", "a.pdf: encrypted PDF")
