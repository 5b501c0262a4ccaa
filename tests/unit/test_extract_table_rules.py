"""Tables outside PDFs as people read them: delimited text under another extension, spreadsheets with
notes, side-by-side tables and hidden sheets, and tables in images built from the OCR boxes."""

from __future__ import annotations

import io
from collections.abc import Callable

import openpyxl

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


def workbook_bytes(build: Callable[[openpyxl.Workbook], None]) -> bytes:
    workbook = openpyxl.Workbook()
    build(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_note_above_the_table_is_preamble_and_the_real_header_names_the_columns() -> None:
    def build(workbook: openpyxl.Workbook) -> None:
        sheet = workbook.active
        sheet.title = "Sales"
        sheet.append(["Prepared by", "Finance team"])
        sheet.append(["Figures are provisional"])
        sheet.append([])
        sheet.append([])
        sheet.append(["Region", "Rep", "Units", "Revenue", "Quarter"])
        sheet.append(["North", "Ann", 12, 1200.5, "Q1"])
        sheet.append(["South", "Bob", 7, 700, "Q1"])
        sheet.append([])
        sheet.append(["Source: ledger export of 2 May"])

    records = extract_document(workbook_bytes(build), "sales.xlsx")
    kinds = [(r.record_key, r.meta["kind"]) for r in records]
    assert kinds == [
        ("sheet=Sales/row=1", "preamble"),
        ("sheet=Sales/row=2", "preamble"),
        ("sheet=Sales/row=6", "row"),
        ("sheet=Sales/row=7", "row"),
        ("sheet=Sales/row=9", "preamble"),
    ]
    assert values(records[2]) == {
        "Region": "North",
        "Rep": "Ann",
        "Units": "12",
        "Revenue": "1200.5",
        "Quarter": "Q1",
    }


def test_tables_side_by_side_are_separate_tables() -> None:
    def build(workbook: openpyxl.Workbook) -> None:
        sheet = workbook.active
        sheet.title = "Board"
        sheet.append(["Name", "Team", None, "City", "Visits"])
        sheet.append(["Ann", "Red", None, "Oslo", 3])
        sheet.append(["Bob", "Blue", None, "Lima", 5])
        sheet.append([None, None, None, "Kyiv", 2])

    records = extract_document(workbook_bytes(build), "board.xlsx")
    assert [(r.record_key, values(r)) for r in records] == [
        ("sheet=Board/table=1/row=2", {"Name": "Ann", "Team": "Red"}),
        ("sheet=Board/table=1/row=3", {"Name": "Bob", "Team": "Blue"}),
        ("sheet=Board/table=2/row=2", {"City": "Oslo", "Visits": "3"}),
        ("sheet=Board/table=2/row=3", {"City": "Lima", "Visits": "5"}),
        ("sheet=Board/table=2/row=4", {"City": "Kyiv", "Visits": "2"}),
    ]


def test_a_hidden_sheet_is_marked() -> None:
    def build(workbook: openpyxl.Workbook) -> None:
        workbook.active.append(["Name", "Team"])
        workbook.active.append(["Ann", "Red"])
        lookup = workbook.create_sheet("Lookup")
        lookup.append(["Code", "Label"])
        lookup.append(["R", "Red"])
        lookup.sheet_state = "hidden"

    records = extract_document(workbook_bytes(build), "hidden.xlsx")
    assert [(r.meta["sheet"], r.meta.get("hidden", False)) for r in records] == [
        ("Sheet", False),
        ("Lookup", True),
    ]
