"""DOCX and HTML through Docling: paragraphs and tables as the same row records as every other table."""

from __future__ import annotations

import io

import docx
import pytest

from include.adapters.extract.office import extract_docx, extract_html
from include.adapters.extract.records import ExtractedRecord, ExtractionError


def values(record: ExtractedRecord) -> dict[str, str]:
    return {name: record.text[start:end] for name, (start, end) in record.meta["columns"].items()}


def test_docx_paragraphs_and_table_rows() -> None:
    document = docx.Document()
    document.add_heading("Contract summary", 1)
    document.add_paragraph("Anna Schmidt of Globex GmbH signed on 3 March 2024 in Berlin.")
    table = document.add_table(rows=3, cols=3)
    for i, row in enumerate(
        [["Name", "City", "Amount"], ["Anna Schmidt", "Berlin", "€1,200.00"], ["John Roe", "Paris", "€300"]]
    ):
        for j, value in enumerate(row):
            table.cell(i, j).text = value
    document.add_paragraph("Contact: anna@globex.de, +49 30 1234567.")
    buffer = io.BytesIO()
    document.save(buffer)

    records = extract_docx(buffer.getvalue(), "contract.docx")
    assert [(r.record_key, r.meta["kind"]) for r in records] == [
        ("para=1", "paragraph"),
        ("para=2", "paragraph"),
        ("para=3", "paragraph"),
        ("table=1/row=1", "row"),
        ("table=1/row=2", "row"),
    ]
    assert [r.text for r in records[:3]] == [
        "Contract summary",
        "Anna Schmidt of Globex GmbH signed on 3 March 2024 in Berlin.",
        "Contact: anna@globex.de, +49 30 1234567.",
    ]
    assert values(records[3]) == {"Name": "Anna Schmidt", "City": "Berlin", "Amount": "€1,200.00"}


def test_html_paragraphs_and_table_rows() -> None:
    html = (
        b"<html><body><h1>Visit report</h1><p>Maria Lopez from Initech visited Madrid.</p>"
        b"<table><tr><th>Name</th><th>Email</th></tr><tr><td>Maria Lopez</td><td>maria@initech.com</td></tr>"
        b"</table><p>Ends.</p></body></html>"
    )
    records = extract_html(html, "visit.html")
    assert [r.text for r in records if r.meta["kind"] == "paragraph"] == [
        "Visit report",
        "Maria Lopez from Initech visited Madrid.",
        "Ends.",
    ]
    rows = [r for r in records if r.meta["kind"] == "row"]
    assert [r.record_key for r in rows] == ["table=1/row=1"]
    assert values(rows[0]) == {"Name": "Maria Lopez", "Email": "maria@initech.com"}


def test_broken_docx_raises_with_filename() -> None:
    with pytest.raises(ExtractionError, match=r"^letter\.docx: Docling conversion failure"):
        extract_docx(b"PK\x03\x04 word/ garbage", "letter.docx")
