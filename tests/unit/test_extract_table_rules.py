"""Tables outside PDFs as people read them: delimited text under another extension, spreadsheets with
notes, side-by-side tables and hidden sheets, and tables in images built from the OCR boxes."""

from __future__ import annotations

from include.extract.detect import detect_type
from include.extract.records import ExtractedRecord
from include.extract.router import extract_document


def values(record: ExtractedRecord) -> dict[str, str]:
    return {name: record.text[start:end] for name, (start, end) in record.meta["columns"].items()}


def test_pipe_delimited_txt_is_a_table_not_prose() -> None:
    lines = ["id|name|city|amount"] + [
        f"{n}|Customer number {n}|Springfield|{n * 10}.50" for n in range(1, 81)
    ]
    data = "\n".join(lines).encode()
    assert len(data) > 2000
    assert detect_type(data[:8192], "export.txt") == "csv"
    records = extract_document(data, "export.txt")
    assert len(records) == 80
    assert values(records[-1]) == {
        "id": "80",
        "name": "Customer number 80",
        "city": "Springfield",
        "amount": "800.50",
    }


def test_prose_with_commas_stays_text() -> None:
    prose = b"Dear Ann, thanks for the note.\nWe met in Paris, Texas, last May.\nSee you soon.\n"
    assert detect_type(prose, "letter.txt") == "text"
