"""Ruled PDF tables as people read them: spacing from the characters, titles, multi-row headers,
spanning cells, tables running over pages, stacked visual rows and text at the table's edge."""

from __future__ import annotations

import io
from collections.abc import Sequence

from reportlab.pdfgen import canvas

from include.adapters.extract.grid import Grid, join_lines, read_table, visual_rows
from include.adapters.extract.pdf import extract_pdf
from include.adapters.extract.pdf_tables import cell_text
from include.adapters.extract.records import ExtractedRecord

Cell = str | tuple[str, float]  # text, or (text, character spacing)
PAGE_TOP = 760.0
ROW_H = 18.0


def draw_table(
    sheet: canvas.Canvas,
    rows: Sequence[Sequence[Cell]],
    widths: Sequence[float],
    top: float = PAGE_TOP,
    left: float = 60.0,
    row_h: float = ROW_H,
    size: float = 9.0,
) -> None:
    """A fully ruled table; a cell is text drawn as words with narrow gaps and no space glyphs (the
    way some report writers set text), or (text, char_space) drawn letter-spaced."""
    xs = [left]
    for w in widths:
        xs.append(xs[-1] + w)
    ys = [top]
    for row in rows:
        lines = max(len((c if isinstance(c, str) else c[0]).split("\n")) for c in row)
        ys.append(ys[-1] - row_h - (lines - 1) * (size + 1))
    for y in ys:
        sheet.line(xs[0], y, xs[-1], y)
    for x in xs:
        sheet.line(x, ys[0], x, ys[-1])
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            text, spacing = (cell, 0.0) if isinstance(cell, str) else cell
            lines = text.split("\n")
            for i, line in enumerate(lines):
                y = ys[r] - 11 - i * (size + 1)
                draw_words(sheet, line, xs[c] + 3, y, size, spacing)


def draw_words(sheet: canvas.Canvas, text: str, x: float, y: float, size: float, spacing: float) -> None:
    sheet.setFont("Helvetica", size)
    if spacing:
        t = sheet.beginText(x, y)
        t.setFont("Helvetica", size)
        t.setCharSpace(spacing)
        t.textOut(text)
        sheet.drawText(t)
        return
    for word in text.split(" "):
        sheet.drawString(x, y, word)
        x += sheet.stringWidth(word, "Helvetica", size) + 0.28 * size  # a narrow space, no glyph


def pdf_of(*pages: Sequence[Sequence[Cell]], widths: Sequence[float] = (150, 90, 90)) -> bytes:
    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer, invariant=1)
    for rows in pages:
        draw_table(sheet, rows, widths)
        sheet.showPage()
    sheet.save()
    return buffer.getvalue()


def values(record: ExtractedRecord) -> dict[str, str]:
    return {name: record.text[start:end] for name, (start, end) in record.meta["columns"].items()}


def rows_of(records: list[ExtractedRecord]) -> list[dict[str, str]]:
    return [values(r) for r in records if r.meta["kind"] == "row"]


def test_words_set_with_narrow_gaps_keep_their_spaces() -> None:
    data = pdf_of([["Card name", "Purpose", "Amount"], ["CITIBANK - TRAVEL CBA CARD", "MEALS", "$51.24"]])
    assert rows_of(extract_pdf(data, "narrow.pdf")) == [
        {"Card name": "CITIBANK - TRAVEL CBA CARD", "Purpose": "MEALS", "Amount": "$51.24"}
    ]


def test_letter_spaced_text_closes_up() -> None:
    data = pdf_of([["Policy", "Effective", "Premium"], ["Home", ("03/25/2016", 3.0), ("1,200", 2.5)]])
    assert rows_of(extract_pdf(data, "spaced.pdf")) == [
        {"Policy": "Home", "Effective": "03/25/2016", "Premium": "1,200"}
    ]


def test_title_rows_above_the_header_are_preamble_not_column_names() -> None:
    grid = Grid.from_rows(
        [
            ["DISCLOSURE REPORT", None, None],
            ["Calendar Year 2012", None, None],
            ["Name", "City", "Amount"],
            ["AALAEI, BEHZAD", "HIGHLAND, IN", "$51.24"],
        ]
    )
    table = read_table(grid)
    assert table.titles == ["DISCLOSURE REPORT", "Calendar Year 2012"]
    assert table.names == ["Name", "City", "Amount"]
    assert table.rows == [["AALAEI, BEHZAD", "HIGHLAND, IN", "$51.24"]]


def test_header_over_several_rows_names_each_column_under_its_group() -> None:
    rows: list[list[str | None]] = [
        ["Cycle Name", "Distance", "Percent Fuel Savings", None],
        [None, None, "Improved Speed", "Decreased Idle"],
        ["2012_2", "1.3", "5.9%", "17.4%"],
    ]
    origin = [[(0, 0), (0, 1), (0, 2), (0, 2)], [(0, 0), (0, 1), (1, 2), (1, 3)], [(2, c) for c in range(4)]]
    table = read_table(Grid(rows, origin))
    assert table.names == [
        "Cycle Name",
        "Distance",
        "Percent Fuel Savings Improved Speed",
        "Percent Fuel Savings Decreased Idle",
    ]
    assert table.rows == [["2012_2", "1.3", "5.9%", "17.4%"]]


def test_a_cell_spanning_rows_gives_its_text_to_each_row_and_empty_columns_go() -> None:
    rows: list[list[str | None]] = [
        ["Plan Type", "", "County", "Totals"],
        ["GMC", "", "Sacramento", "164,380"],
        [None, "", "San Diego", "71,831"],
    ]
    origin = [[(r, c) for c in range(4)] for r in range(3)]
    origin[2][0] = (1, 0)
    table = read_table(Grid(rows, origin))
    assert table.names == ["Plan Type", "County", "Totals"]
    assert table.rows == [["GMC", "Sacramento", "164,380"], ["GMC", "San Diego", "71,831"]]


def test_stacked_lines_in_a_cell_are_one_record_each() -> None:
    data = pdf_of(
        [["Region", "State", "Sites"], ["West", "Oregon\nNevada\nUtah", "12\n7\n3"], ["East", "Maine", "4"]]
    )
    assert rows_of(extract_pdf(data, "stacked.pdf")) == [
        {"Region": "West", "State": "Oregon", "Sites": "12"},
        {"Region": "West", "State": "Nevada", "Sites": "7"},
        {"Region": "West", "State": "Utah", "Sites": "3"},
        {"Region": "East", "State": "Maine", "Sites": "4"},
    ]


def test_wrapped_text_in_one_cell_stays_one_value() -> None:
    assert visual_rows([["AARON, JOSHUA"], ["REGIONAL PULMONARY &", "SLEEP MEDICINE"], ["$4,700.00"]]) == [
        ["AARON, JOSHUA", "REGIONAL PULMONARY & SLEEP MEDICINE", "$4,700.00"]
    ]


def test_a_table_running_over_pages_keeps_its_header() -> None:
    header = ["Date", "Payee", "Amount"]
    page_1 = [header, ["07/01/2015", "Acme", "1,200"], ["07/09/2015", "Initech", "310"]]
    page_2 = [["07/17/2015", "Globex", "4,864"], ["07/20/2015", "Hooli", "75"]]
    page_3 = [header, ["08/02/2015", "Umbrella", "990"]]
    records = extract_pdf(pdf_of(page_1, page_2, page_3), "ledger.pdf")
    rows = [r for r in records if r.meta["kind"] == "row"]
    assert [values(r)["Amount"] for r in rows] == ["1,200", "310", "4,864", "75", "990"]
    assert all(set(values(r)) == set(header) for r in rows)
    first = "page=1/table=1"
    assert [r.meta.get("continues") for r in rows] == [None, None, first, first, first]
    assert len({r.record_key for r in records}) == len(records)


def test_a_line_straddling_the_table_edge_is_kept() -> None:
    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer, invariant=1)
    draw_table(sheet, [["Item", "Qty", "Note"], ["Bolts", "40", "boxed"]], (150, 90, 90))
    sheet.setFont("Helvetica", 9)
    sheet.drawString(300, PAGE_TOP - ROW_H - 10, "Stock as counted on 2 May, see the annex for losses")
    sheet.save()
    records = extract_pdf(buffer.getvalue(), "edge.pdf")
    assert any("see the annex for losses" in r.text for r in records)


def test_vertical_text_reads_in_its_own_direction() -> None:
    def char(text: str, top: float) -> dict[str, object]:
        return {"text": text, "x0": 10.0, "x1": 16.0, "top": top, "bottom": top + 6, "size": 6.0}

    up = (0.0, 1.0, -1.0, 0.0, 0.0, 0.0)
    down = (0.0, -1.0, 1.0, 0.0, 0.0, 0.0)
    word = "JOBCTL"
    going_up = [{**char(ch, 100 - 6 * i), "upright": False, "matrix": up} for i, ch in enumerate(word)]
    going_down = [{**char(ch, 10 + 6 * i), "upright": False, "matrix": down} for i, ch in enumerate(word)]
    assert cell_text(list(reversed(going_up))) == word
    assert cell_text(going_down) == word


def test_columns_outside_a_table_without_outer_frame_are_kept() -> None:
    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer, invariant=1)
    rows = [["Product", "2012", "2013", "Change"], ["COTTON", "1.393,4", "886,7", "(35,8)"]]
    rows += [["RICE", "2.426,7", "2.389,7", "(1,3)"], ["WHEAT", "5.788,6", "4.379,5", "(24,3)"]]
    xs, ys = [150.0, 220.0, 290.0], [PAGE_TOP - ROW_H * i for i in range(len(rows) + 1)]
    for y in ys:
        sheet.line(xs[0], y, xs[-1], y)
    for x in xs:
        sheet.line(x, ys[0], x, ys[-1])
    for r, row in enumerate(rows):
        label, first, second, change = row
        draw_words(sheet, label, 80, ys[r] - 12, 9, 0)
        draw_words(sheet, first, xs[0] + 3, ys[r] - 12, 9, 0)
        draw_words(sheet, second, xs[1] + 3, ys[r] - 12, 9, 0)
        draw_words(sheet, change, xs[2] + 8, ys[r] - 12, 9, 0)
    sheet.save()
    assert rows_of(extract_pdf(buffer.getvalue(), "frameless.pdf")) == [
        dict(zip(rows[0], row, strict=True)) for row in rows[1:]
    ]


def test_a_table_set_sideways_reads_upright_with_its_header_first() -> None:
    rows = [["State", "1975", "2011"], ["Kerala", "5,738", "8,297"], ["Orissa", "3,756", "8,473"]]
    for angle in (-90, 90):  # turned clockwise (text runs down the page) and anticlockwise
        buffer = io.BytesIO()
        sheet = canvas.Canvas(buffer, invariant=1)
        sheet.translate(300, 400)
        sheet.rotate(angle)
        draw_table(sheet, rows, (90, 70, 70), top=0, left=-115)
        sheet.save()
        assert rows_of(extract_pdf(buffer.getvalue(), "sideways.pdf")) == [
            {"State": "Kerala", "1975": "5,738", "2011": "8,297"},
            {"State": "Orissa", "1975": "3,756", "2011": "8,473"},
        ], angle


def test_a_header_cell_spanning_down_keeps_the_rows_it_spans_in_the_header() -> None:
    rows: list[list[str | None]] = [
        ["State", "Assessment", None],
        [None, "1975-79", "1988-90"],
        ["Kerala", "5738", "6633"],
    ]
    origin = [[(0, 0), (0, 1), (0, 1)], [(0, 0), (1, 1), (1, 2)], [(2, 0), (2, 1), (2, 2)]]
    table = read_table(Grid(rows, origin))
    assert table.names == ["State", "Assessment 1975-79", "Assessment 1988-90"]
    assert table.rows == [["Kerala", "5738", "6633"]]


def test_an_unruled_table_is_found_from_how_its_text_lines_up() -> None:
    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer, invariant=1)
    sheet.setFont("Helvetica", 9)
    sheet.drawString(60, 760, "Table 4. Participation by system, 2011 (a caption running over the columns)")
    header = [("", "Share of", "Weighted"), ("Education system", "coverage", "response rate")]
    rows = [
        ("Australia", "100", "93"),
        ("Belgium (French)-BEL", "97", "82"),
        ("Iran, Islamic Rep. Of", "100", "99"),
    ]
    y = 740.0
    for line in [*header, *rows]:
        sheet.drawString(60, y, line[0])
        sheet.drawRightString(260, y, line[1])
        sheet.drawRightString(360, y, line[2])
        y -= 12
    sheet.drawString(60, y - 30, "Source: a ministry survey of all schools, published in the spring.")
    sheet.save()
    records = extract_pdf(buffer.getvalue(), "stream.pdf")
    assert rows_of(records) == [
        {"Education system": name, "Share of coverage": share, "Weighted response rate": rate}
        for name, share, rate in rows
    ]
    assert any(r.meta["kind"] == "paragraph" and r.text.startswith("Table 4.") for r in records)
    assert any(r.meta["kind"] == "paragraph" and r.text.startswith("Source:") for r in records)


def test_boxes_that_do_not_match_the_columns_give_way_to_the_text_alignment() -> None:
    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer, invariant=1)
    sheet.setFont("Helvetica", 9)
    rows = [("State", "Revenue", "Capital", "Total"), ("Assam", "14,874", "161", "17,590")]
    rows += [("Bihar", "21,016", "5,329", "30,677"), ("Goa", "4,055", "330", "4,495")]
    top = 700.0
    for r, row in enumerate(rows):  # one shaded-style box per row: a label box and one wide box
        y = top - 16 * r
        sheet.rect(60, y - 16, 100, 16)
        sheet.rect(160, y - 16, 300, 16)
        sheet.drawString(64, y - 12, row[0])
        for x, value in zip((260, 360, 450), row[1:], strict=True):
            sheet.drawRightString(x, y - 12, value)
    sheet.save()
    assert rows_of(extract_pdf(buffer.getvalue(), "shaded.pdf")) == [
        dict(zip(rows[0], row, strict=True)) for row in rows[1:]
    ]


def test_a_line_ending_in_a_slash_runs_on_into_the_next() -> None:
    assert join_lines(["Ballots Incomplete/", "Terminated"]) == "Ballots Incomplete/Terminated"
    assert join_lines(["REGIONAL  PULMONARY &", "SLEEP MEDICINE"]) == "REGIONAL PULMONARY & SLEEP MEDICINE"


def test_letter_spaced_paragraph_text_closes_up_and_keeps_its_word_spaces() -> None:
    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer, invariant=1)
    text = sheet.beginText(72, 680)
    text.setFont("Helvetica", 10)
    text.textOut("Effective: ")
    text.setCharSpace(3)
    text.textOut("03/25/2016")
    sheet.drawText(text)
    text = sheet.beginText(72, 640)
    text.setFont("Helvetica", 10)
    text.setCharSpace(2.5)
    text.textOut("RENEWAL NOTICE")
    sheet.drawText(text)
    sheet.save()
    records = extract_pdf(buffer.getvalue(), "notice.pdf")
    assert [r.text for r in records] == ["Effective: 03/25/2016", "RENEWAL NOTICE"]
