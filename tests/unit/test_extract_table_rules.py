"""Tables outside PDFs as people read them: delimited text under another extension, spreadsheets with
notes, side-by-side tables and hidden sheets, and tables in images built from the OCR boxes."""

from __future__ import annotations

import io
from collections.abc import Callable

import openpyxl
from PIL import Image, ImageDraw, ImageFont

from devstack.samples import DEJAVU
from include.adapters.extract.detect import detect_type
from include.adapters.extract.records import ExtractedRecord
from include.adapters.extract.router import extract_document


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


def test_paragraphs_with_the_same_commas_stay_paragraphs() -> None:
    # Every line has two commas (a date, an aside): regular enough to sniff as CSV, but paragraphs.
    paragraphs = [f"Ann paid ${n}.50 on May {n}, 2024 (document 1, paragraph {n})." for n in range(1, 41)]
    data = "\n\n".join(paragraphs).encode()
    assert detect_type(data[:8192], "memo.txt") == "text"
    assert len(extract_document(data, "memo.txt")) == 40


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


def table_image(rows: list[list[str]], widths: list[int], ruled: bool, span_first_row: bool = False) -> bytes:
    """A table drawn as pixels: each row 60 px high; with `span_first_row`, the first row's last cell
    spans the last two columns (no rule between them)."""
    font = ImageFont.truetype(str(DEJAVU), 24) if DEJAVU.exists() else ImageFont.load_default(size=24)
    xs = [40]
    for w in widths:
        xs.append(xs[-1] + w)
    ys = [40 + 60 * i for i in range(len(rows) + 1)]
    image = Image.new("L", (xs[-1] + 40, ys[-1] + 40), color=255)
    draw = ImageDraw.Draw(image)
    if ruled:
        for y in ys:
            draw.line([(xs[0], y), (xs[-1], y)], fill=0, width=2)
        for i, x in enumerate(xs):
            top = ys[1] if span_first_row and i == len(xs) - 2 else ys[0]
            draw.line([(x, top), (x, ys[-1])], fill=0, width=2)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            draw.text((xs[c] + 10, ys[r] + 16), text, fill=0, font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_ruled_table_image_comes_out_as_rows_with_a_spanning_group_header() -> None:
    rows = [
        ["Site", "Staff", "Results", ""],
        ["", "", "Passed", "Failed"],
        ["Oslo", "12", "10", "2"],
        ["Lima", "7", "5", "2"],
    ]
    records = extract_document(
        table_image(rows, [160, 120, 160, 160], ruled=True, span_first_row=True), "t.png"
    )
    assert [(r.record_key, values(r)) for r in records if r.meta["kind"] == "row"] == [
        (
            "page=1/table=1/row=1",
            {"Site": "Oslo", "Staff": "12", "Results Passed": "10", "Results Failed": "2"},
        ),
        (
            "page=1/table=1/row=2",
            {"Site": "Lima", "Staff": "7", "Results Passed": "5", "Results Failed": "2"},
        ),
    ]


def test_table_image_without_rules_is_built_from_the_box_alignment() -> None:
    rows = [
        ["City", "Visits", "Share"],
        ["Oslo", "314", "12%"],
        ["Lima", "27", "3%"],
        ["Kyiv", "1208", "85%"],
    ]
    records = extract_document(table_image(rows, [220, 220, 220], ruled=False), "plain.png")
    assert [values(r) for r in records if r.meta["kind"] == "row"] == [
        {"City": "Oslo", "Visits": "314", "Share": "12%"},
        {"City": "Lima", "Visits": "27", "Share": "3%"},
        {"City": "Kyiv", "Visits": "1208", "Share": "85%"},
    ]
