"""Tables in images and image-only PDF pages through the extractor (#24): img2table finds every table
of the picture (our own rule found at most one, and read a picture with two tables as one), the OCR
text outside them stays paragraphs. Pictures drawn here with PIL; needs img2table and OpenCV's contrib
build installed (requirements-img2table.txt)."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from devstack.samples import DEJAVU
from include.adapters.extract.records import ExtractedRecord
from include.adapters.extract.router import extract_document

STAFF = [["Site", "Staff"], ["Rome", "12"], ["Lima", "7"]]
COSTS = [["Item", "Cost", "Year"], ["Paper", "40", "2023"], ["Ink", "15", "2024"]]


def _ruled_table(
    draw: ImageDraw.ImageDraw,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    top: int,
    rows: list[list[str]],
) -> int:
    """A ruled table at the left margin, columns 200 then 160 px wide, rows 60 px; its bottom edge."""
    xs = [40, 240] + [240 + 160 * (i + 1) for i in range(len(rows[0]) - 1)]
    ys = [top + 60 * i for i in range(len(rows) + 1)]
    for y in ys:
        draw.line([(xs[0], y), (xs[-1], y)], fill=0, width=2)
    for x in xs:
        draw.line([(x, ys[0]), (x, ys[-1])], fill=0, width=2)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            draw.text((xs[c] + 10, ys[r] + 16), text, fill=0, font=font)
    return ys[-1]


def two_tables_picture() -> Image.Image:
    """A line of text, a ruled table, a line of text, a second ruled table with another header."""
    font = ImageFont.truetype(str(DEJAVU), 24) if DEJAVU.exists() else ImageFont.load_default(size=24)
    image = Image.new("L", (900, 820), color=255)
    draw = ImageDraw.Draw(image)
    draw.text((40, 30), "Staff and costs by site, second quarter.", fill=0, font=font)
    bottom = _ruled_table(draw, font, 100, STAFF)
    draw.text((40, bottom + 50), "Costs are in thousands of euros.", fill=0, font=font)
    _ruled_table(draw, font, bottom + 140, COSTS)
    return image


def values(record: ExtractedRecord) -> dict[str, str]:
    return {name: record.text[start:end] for name, (start, end) in record.meta["columns"].items()}


def readout(records: list[ExtractedRecord]) -> list[tuple[str, object]]:
    return [(r.record_key, values(r) if r.meta["kind"] == "row" else r.text) for r in records]


EXPECTED = [
    ("page=1/para=1", "Staff and costs by site, second quarter."),
    ("page=1/para=2", "Costs are in thousands of euros."),
    ("page=1/table=1/row=1", {"Site": "Rome", "Staff": "12"}),
    ("page=1/table=1/row=2", {"Site": "Lima", "Staff": "7"}),
    ("page=1/table=2/row=1", {"Item": "Paper", "Cost": "40", "Year": "2023"}),
    ("page=1/table=2/row=2", {"Item": "Ink", "Cost": "15", "Year": "2024"}),
]


@pytest.fixture(scope="module")
def picture() -> Image.Image:
    return two_tables_picture()


def test_every_table_of_an_image_is_read_and_the_text_around_stays_paragraphs(picture: Image.Image) -> None:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    records = extract_document(buffer.getvalue(), "two-tables.png")
    assert readout(records) == EXPECTED
    rows = [r for r in records if r.meta["kind"] == "row"]
    assert [(r.meta["table"], r.meta["source"]) for r in rows] == [(1, "ocr")] * 2 + [(2, "ocr")] * 2


def test_an_image_only_pdf_page_reads_its_tables_the_same_way(picture: Image.Image) -> None:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=(450, 410), invariant=1)  # 900 x 820 px at 144 dpi, no text layer
    png = io.BytesIO()
    picture.save(png, format="PNG")
    page.drawImage(ImageReader(png), 0, 0, 450, 410)
    page.showPage()
    page.save()
    records = extract_document(buffer.getvalue(), "scanned-tables.pdf")
    assert readout(records) == EXPECTED
    assert {r.meta["page"] for r in records} == {1}
