"""PDF extraction without model weights: text paragraphs per page, ruled tables as row records, OCR
for pages without a text layer, and clear errors for encrypted, corrupt and truncated files."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from reportlab.lib import pdfencrypt
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas
from reportlab.platypus import SimpleDocTemplate, Table

from devstack.samples import invoices, write_samples
from include.adapters.extract.pdf import artifacts_dir, extract_pdf
from include.adapters.extract.records import ExtractedRecord, ExtractionError
from include.adapters.extract.router import extract_document
from include.core.settings import get_settings


def values(record: ExtractedRecord) -> dict[str, str]:
    return {name: record.text[start:end] for name, (start, end) in record.meta["columns"].items()}


def pdf_bytes(*pages: list[str], encrypt: pdfencrypt.StandardEncryption | None = None) -> bytes:
    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer, invariant=1, encrypt=encrypt)
    for lines in pages:
        for i, line in enumerate(lines):
            sheet.drawString(72, 760 - 14 * i, line)
        sheet.showPage()
    sheet.save()
    return buffer.getvalue()


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in write_samples(tmp_path_factory.mktemp("samples"))}


@pytest.fixture(scope="module")
def report(samples: dict[str, bytes]) -> list[ExtractedRecord]:
    return extract_pdf(samples["report.pdf"], "report.pdf")


def test_report_paragraphs_per_page(report: list[ExtractedRecord]) -> None:
    lead = invoices()[0]
    paragraphs = [r for r in report if r.meta["kind"] == "paragraph"]
    assert [r.record_key for r in paragraphs] == [f"page=1/para={n}" for n in range(1, 5)]
    assert paragraphs[0].text == "Quarterly report"
    body = paragraphs[1].text
    assert lead.person in body and lead.email in body and lead.phone in body
    assert f"${lead.amount:,.2f}" in body
    assert paragraphs[3].text == "Prepared by the finance office, Northwind Holdings, Seattle."


def test_report_table_rows_with_header_columns(report: list[ExtractedRecord]) -> None:
    rows = [r for r in report if r.meta["kind"] == "row"]
    assert [r.record_key for r in rows] == [f"page=1/table=1/row={n}" for n in range(1, 5)]
    for record, item in zip(rows, invoices(), strict=False):
        assert values(record) == {
            "Invoice": item.number,
            "Date": item.issued.isoformat(),
            "Customer": item.person,
            "Company": item.company,
            "Amount": f"${item.amount:,.2f}",
        }
        assert (record.meta["page"], record.meta["table"]) == (1, 1)


def test_table_lines_do_not_repeat_as_paragraph_text(report: list[ExtractedRecord]) -> None:
    paragraph_text = " ".join(r.text for r in report if r.meta["kind"] == "paragraph")
    assert all(item.number not in paragraph_text for item in invoices()[:4])


def test_pages_number_their_own_paragraphs() -> None:
    data = pdf_bytes(["Page one by Ada Lovelace."], ["Page two in London.", "", "", "Another paragraph."])
    records = extract_pdf(data, "two.pdf")
    assert [(r.record_key, r.text) for r in records] == [
        ("page=1/para=1", "Page one by Ada Lovelace."),
        ("page=2/para=1", "Page two in London."),
        ("page=2/para=2", "Another paragraph."),
    ]


def test_page_without_text_layer_is_ocred(samples: dict[str, bytes]) -> None:
    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer, pagesize=(360, 202), invariant=1)
    sheet.drawImage(ImageReader(io.BytesIO(samples["scan.png"])), 0, 0, 360, 202)
    sheet.showPage()
    sheet.save()
    records = extract_pdf(buffer.getvalue(), "scanned.pdf")
    assert records and all(r.meta["kind"] == "ocr" and r.meta["page"] == 1 for r in records)
    assert invoices()[1].email in " ".join(r.text for r in records)


def test_owner_password_only_pdf_still_reads() -> None:
    data = pdf_bytes(
        ["Signed by Jane Doe."], encrypt=pdfencrypt.StandardEncryption("", ownerPassword="owner")
    )
    assert [r.text for r in extract_pdf(data, "owner.pdf")] == ["Signed by Jane Doe."]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: pdf_bytes(["secret"], encrypt=pdfencrypt.StandardEncryption("pw")), "encrypted PDF"),
        (lambda: pdf_bytes(["Some text", "more"])[:300], "corrupt or truncated PDF"),
        (lambda: b"%PDF-1.4\n" + b"garbage " * 50, "corrupt or truncated PDF"),
        (lambda: pdf_bytes(), "no pages"),
    ],
)
def test_unreadable_pdfs_raise_with_filename(make: Callable[[], bytes], reason: str) -> None:
    with pytest.raises(ExtractionError, match=rf"^bad\.pdf: .*{reason}"):
        extract_pdf(make(), "bad.pdf")


def test_lone_ruled_box_stays_paragraph_text() -> None:
    buffer = io.BytesIO()
    boxed = Table(
        [["Boxed note: call Jane Doe at +1 555 0100."]], style=[("BOX", (0, 0), (-1, -1), 1, "black")]
    )
    grid = Table([["Name", "City"], ["Jane Doe", "Oslo"]], style=[("GRID", (0, 0), (-1, -1), 1, "black")])
    SimpleDocTemplate(buffer, invariant=1).build([boxed, grid])
    records = extract_pdf(buffer.getvalue(), "box.pdf")
    assert [(r.record_key, r.text) for r in records] == [
        ("page=1/para=1", "Boxed note: call Jane Doe at +1 555 0100."),
        ("page=1/table=1/row=1", "Name: Jane Doe | City: Oslo"),
    ]


def test_weights_folder_without_weights_fails_naming_the_file(
    samples: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "RapidOcr").mkdir()
    monkeypatch.setenv("DOCLING_ARTIFACTS_PATH", str(tmp_path))
    with pytest.raises(ExtractionError, match=r"^report\.pdf: pdf extraction failed"):
        extract_document(samples["report.pdf"], "report.pdf")


def test_artifacts_dir_needs_an_existing_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCLING_ARTIFACTS_PATH", raising=False)
    assert artifacts_dir() is None
    assert artifacts_dir(tmp_path / "missing") is None
    monkeypatch.setenv("DOCLING_ARTIFACTS_PATH", str(tmp_path))
    get_settings.cache_clear()  # settings are read once per process
    assert artifacts_dir() == tmp_path
