"""General table rules (#24), each on a document built here: notes running over several rows above a
spreadsheet's table, a title line above delimited text, wrapped text in a ruled cell, line breaks in a
quoted CSV cell, a Latin-1 file with one accented symbol, and unruled PDF tables with two figures per
cell, rows wrapped over lines, or set sideways."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
from reportlab.pdfgen import canvas

from include.adapters.extract.detect import detect_type
from include.adapters.extract.grid import reads_wrapped, visual_rows
from include.adapters.extract.pdf_stream import merge_continuations
from include.adapters.extract.records import ExtractedRecord
from include.adapters.extract.router import extract_document
from include.adapters.extract.tables import header_index

Cells = list[list[object]]
NOTES: Cells = [
    ["Quarterly sales report", None, None, None],
    ["Prepared by", "Finance team", None, None],
    ["Status", "provisional", None, None],
    ["Figures in EUR; rounded to the cent", None, None, None],
]
TABLE: Cells = [
    ["Region", "Rep", "Units", "Revenue"],
    ["North", "Ann", 12, 1200.5],
    ["South", "Bob", 7, 700],
    ["East", "Cy", 3, 310.25],
]


def values(record: ExtractedRecord) -> dict[str, str]:
    return {name: record.text[start:end] for name, (start, end) in record.meta["columns"].items()}


def rows_of(records: list[ExtractedRecord]) -> list[dict[str, str]]:
    return [values(r) for r in records if r.meta["kind"] == "row"]


def expected_rows() -> list[dict[str, str]]:
    return [
        {"Region": str(r[0]), "Rep": str(r[1]), "Units": str(r[2]), "Revenue": str(r[3])} for r in TABLE[1:]
    ]


def test_the_header_is_the_first_row_of_the_body_not_a_note_of_two_cells() -> None:
    assert header_index([*NOTES, *TABLE]) == len(NOTES)
    assert header_index([["1", "2", "3"], ["Ada", "Oslo", "N/A"], ["4", "5", "6"]]) is None


def test_notes_over_several_rows_above_an_xlsx_table_are_preamble(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Sales"
    for row in [*NOTES, [], *TABLE]:
        sheet.append(row)
    path = tmp_path / "sales.xlsx"
    workbook.save(path)
    records = extract_document(path.read_bytes(), path.name)
    assert [r.meta["kind"] for r in records[:4]] == ["preamble"] * 4
    assert records[1].text == "Prepared by | Finance team"
    assert rows_of(records) == expected_rows()


def test_notes_over_several_rows_above_a_csv_table_are_preamble(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([[c if c is not None else "" for c in row] for row in [*NOTES, *TABLE]])
    records = extract_document(path.read_bytes(), path.name)
    assert [(r.record_key, r.meta["kind"]) for r in records[:4]] == [
        (f"title={n}", "preamble") for n in range(1, 5)
    ]
    assert [r.record_key for r in records[4:]] == ["row=1", "row=2", "row=3"]
    assert rows_of(records) == expected_rows()


def test_a_title_line_above_pipe_delimited_text_and_a_tsv(tmp_path: Path) -> None:
    body = ["Region|Rep|Units|Revenue", "North|Ann|12|1200.5", "South|Bob|7|700", "East|Cy|3|310.25"]
    txt = tmp_path / "export.txt"
    txt.write_text("\n".join(["Quarterly sales", *body]) + "\n", encoding="utf-8")
    assert detect_type(txt.read_bytes(), txt.name) == "csv"
    records = extract_document(txt.read_bytes(), txt.name)
    assert [r.text for r in records if r.meta["kind"] == "preamble"] == ["Quarterly sales"]
    assert rows_of(records) == expected_rows()

    tsv = tmp_path / "sales.tsv"
    tsv.write_text("\n".join(["Quarterly sales\t\t\t", *(line.replace("|", "\t") for line in body)]) + "\n")
    records = extract_document(tsv.read_bytes(), tsv.name)
    assert rows_of(records) == expected_rows()


def test_a_quoted_csv_cell_with_line_breaks_keeps_its_text_up_to_whitespace(tmp_path: Path) -> None:
    note = "first line\r\n  second line\n\nlast"
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(
        [["id", "note", "amount"], ["1", note, "5"], ["2", "ok", "6"]]
    )
    for name in ("notes.csv", "notes.txt"):
        path = tmp_path / name
        path.write_bytes(buffer.getvalue().encode())
        records = extract_document(path.read_bytes(), path.name)
        assert rows_of(records) == [
            {"id": "1", "note": "first line second line last", "amount": "5"},
            {"id": "2", "note": "ok", "amount": "6"},
        ]


def test_a_latin1_csv_with_one_symbol_reads_as_latin1(tmp_path: Path) -> None:
    path = tmp_path / "legacy.csv"
    path.write_bytes("a,b,c\n1,2,3\n4,5,©\n".encode("latin-1"))
    assert rows_of(extract_document(path.read_bytes(), path.name))[-1] == {"a": "4", "b": "5", "c": "©"}
    greek = tmp_path / "greek.txt"
    greek.write_bytes("Ελληνικά κείμενο δοκιμή".encode("cp1253"))
    assert extract_document(greek.read_bytes(), greek.name)[0].text == "Ελληνικά κείμενο δοκιμή"


def test_wrapped_text_over_as_many_lines_in_every_cell_is_one_row() -> None:
    wrapped = [
        ["All centers have a societal", "implications component"],
        ["NSF, DOE,", "DOD, and NIH"],
        ["All research centers", "and networks"],
    ]
    assert all(map(reads_wrapped, wrapped))
    assert visual_rows(wrapped) == [
        [
            "All centers have a societal implications component",
            "NSF, DOE, DOD, and NIH",
            "All research centers and networks",
        ]
    ]
    assert len(visual_rows([["Oregon", "Nevada"], ["12", "7"]])) == 2


def unruled_pdf(path: Path, rows: list[list[str]], xs: list[float], size: float = 9.0) -> bytes:
    """A table set in columns without rules: each row one line, each cell drawn at its x."""
    sheet = canvas.Canvas(str(path))
    sheet.setFont("Helvetica", size)
    for r, row in enumerate(rows):
        for x, text in zip(xs, row, strict=True):
            if text:
                sheet.drawString(x, 740 - r * (size + 3), text)
    sheet.save()
    return path.read_bytes()


def test_unruled_pairs_under_one_label_are_one_cell_and_wrapped_rows_one_record(tmp_path: Path) -> None:
    rows = [
        ["System", "Span F1", "", "Token F1", "", "Notes"],
        ["baseline", "0.912", "0.905", "0.930", "0.921", "trained on the"],
        ["", "", "", "", "", "public split only"],
        ["ours", "0.965", "0.969", "0.971", "0.975", "with gazetteers"],
        ["ours, large", "0.970", "0.972", "0.977", "0.979", "Gazetteers and"],
        ["model", "", "", "", "", "rules"],
    ]
    data = unruled_pdf(tmp_path / "scores.pdf", rows, [60, 150, 181, 240, 271, 330])
    records = extract_document(data, "scores.pdf")
    assert rows_of(records) == [
        {
            "System": "baseline",
            "Span F1": "0.912 0.905",
            "Token F1": "0.930 0.921",
            "Notes": "trained on the public split only",
        },
        {"System": "ours", "Span F1": "0.965 0.969", "Token F1": "0.971 0.975", "Notes": "with gazetteers"},
        {
            "System": "ours, large model",
            "Span F1": "0.970 0.972",
            "Token F1": "0.977 0.979",
            "Notes": "Gazetteers and rules",
        },
    ]


def test_a_label_wrapped_above_its_figures_starts_the_row_below() -> None:
    rows = [
        ["Violent crime", "467.9", "69.1", ""],
        ["Murder and nonnegligent", "", "", ""],
        ["manslaughter", "10.0", "0.9", "revised"],
        ["", "", "", "in May"],
        ["Robbery", "102.1", "25.5", ""],
    ]
    data = [True, False, True, False, True]
    assert merge_continuations(rows, data) == [
        ["Violent crime", "467.9", "69.1", ""],
        ["Murder and nonnegligent manslaughter", "10.0", "0.9", "revised in May"],
        ["Robbery", "102.1", "25.5", ""],
    ]


def test_an_unruled_table_set_sideways_is_read_turned_upright(tmp_path: Path) -> None:
    rows = [
        ["Region", "Units", "Revenue"],
        ["North", "12", "1,200.50"],
        ["South", "7", "700.00"],
        ["East", "3", "310.25"],
    ]
    path = tmp_path / "sideways.pdf"
    sheet = canvas.Canvas(str(path))
    sheet.translate(300, 100)
    sheet.rotate(90)  # text runs up the page: the reader turns the page clockwise
    sheet.setFont("Helvetica", 9)
    for r, row in enumerate(rows):
        for x, text in zip([0, 90, 160], row, strict=True):
            sheet.drawString(x, -r * 12, text)
    sheet.save()
    assert rows_of(extract_document(path.read_bytes(), path.name)) == [
        {"Region": "North", "Units": "12", "Revenue": "1,200.50"},
        {"Region": "South", "Units": "7", "Revenue": "700.00"},
        {"Region": "East", "Units": "3", "Revenue": "310.25"},
    ]
