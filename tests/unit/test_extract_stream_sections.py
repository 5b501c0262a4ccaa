"""Unruled tables with section labels (#24), on PDFs built here: a header line of years set apart
from the body, section labels (one or two stacked) between the rows, and the same table set right to
left, whose label column is the rightmost. (The kinds were taken from a file of the corpus's held-out
part; that file is not used here.)"""

from __future__ import annotations

from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from include.adapters.extract.pdf_stream import merge_continuations
from include.adapters.extract.records import ExtractedRecord
from include.adapters.extract.router import extract_document

SIZE = 9.0
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
YEARS = ["2014", "2013", "2012"]
# (label, figures); no figures: a section label. Two labels stacked: a section over a subsection.
BODY = [
    ("Output", []),
    ("Total", ["2.6", "3.2", "3.0"]),
    ("Per person", ["0.7", "1.3", "1.1"]),
    ("Industry", ["0.3", "3.2", "2.9"]),
    ("Use of resources", []),
    ("Public consumption:", []),
    ("Civil", ["2.5", "3.1", "3.8"]),
    ("Defence", ["7.8", "4.7", "3.0"]),
    ("Exports", ["0.6", "1.5", "0.9"]),
]
HEBREW = {
    "Output": "תוצר",
    "Total": "סך הכל",
    "Per person": "לנפש",
    "Industry": "תעשייה",
    "Use of resources": "שימושים",
    "Public consumption:": "צריכה ציבורית:",
    "Civil": "אזרחית",
    "Defence": "ביטחונית",
    "Exports": "יצוא",
}


def rows_of(records: list[ExtractedRecord]) -> list[dict[str, str]]:
    return [
        {name: r.text[start:end] for name, (start, end) in r.meta["columns"].items()}
        for r in records
        if r.meta["kind"] == "row"
    ]


def stream_pdf(path: Path, right_to_left: bool = False) -> bytes:
    """The table without rules: the years 40 pt above the body (more than 2.5 line heights, less
    than 4), one line per row 12 pt apart. Left to right: labels at the left, figures right-aligned.
    Right to left: the figures at the left in the same order, labels right-aligned at the right, set
    in visual order (the letters reversed, as a renderer places them)."""
    pdfmetrics.registerFont(TTFont("DejaVuSans", str(DEJAVU)))
    sheet = canvas.Canvas(str(path))
    sheet.setFont("DejaVuSans", SIZE)
    figures_at = [140.0, 190.0, 240.0] if right_to_left else [200.0, 250.0, 300.0]
    for right, year in zip(figures_at, YEARS, strict=True):
        sheet.drawRightString(right, 740, year)
    for r, (label, figures) in enumerate(BODY):
        y = 700 - r * 12
        if right_to_left:
            sheet.drawRightString(400, y, HEBREW[label][::-1])
        else:
            sheet.drawString(60, y, label)
        for right, figure in zip(figures_at, figures, strict=False):
            sheet.drawRightString(right, y, figure)
    sheet.save()
    return path.read_bytes()


def expected_rows(label_name: str, translate: bool) -> list[dict[str, str]]:
    rows = []
    for label, figures in BODY:
        text = HEBREW[label] if translate else label
        rows.append({label_name: text, **dict(zip(YEARS, figures, strict=False))})
    return rows


def test_years_set_apart_head_the_table_and_section_labels_are_rows(tmp_path: Path) -> None:
    """The line of years heads the figure columns (it used to be a paragraph, and the first data
    row was taken for column names); "Output" just above the data is a row, not a title; the two
    stacked labels stay inside the table (they used to end it and start a second one)."""
    path = tmp_path / "sections.pdf"
    records = extract_document(stream_pdf(path), path.name)
    rows = rows_of(records)
    assert rows == expected_rows("column_1", translate=False)
    assert {r.record_key.split("/row=")[0] for r in records if r.meta["kind"] == "row"} == {"page=1/table=1"}


def test_a_right_to_left_tables_section_labels_are_rows_of_their_own(tmp_path: Path) -> None:
    """The same table set right to left: the label column is the rightmost, so a label line with no
    figures fills the first column in reading order and is a row of its own; it used to be joined
    to the row above as a continuation (its leftmost column being empty)."""
    path = tmp_path / "sections-rtl.pdf"
    records = extract_document(stream_pdf(path, right_to_left=True), path.name)
    assert rows_of(records) == expected_rows("column_4", translate=True)


def test_continuations_read_the_first_column_in_reading_order() -> None:
    rows = [["1", "2", "Total"], ["", "", "Section"], ["3", "4", "Civil"], ["", "", "wrapped on"]]
    data = [True, False, True, False]
    # Left to right, the label column is the leftmost: an empty one means a continuation.
    assert merge_continuations(rows, data) == [["1", "2", "Total Section"], ["3", "4", "Civil wrapped on"]]
    # Right to left, it is the rightmost: "Section" starts a row, "wrapped on" (lower case) continues.
    assert merge_continuations(rows, data, rtl=True) == [
        ["1", "2", "Total"],
        ["", "", "Section"],
        ["3", "4", "Civil wrapped on"],
    ]
