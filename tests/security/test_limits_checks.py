"""Each extraction limit on its own (#23): a hostile file fails fast with the limit's name in its
reason, a file within the limit reads as before. In process, no child: the checks themselves."""

from __future__ import annotations

import dataclasses
import io
import resource
import time
import zipfile
from typing import Any

import pytest

from include.adapters.extract.limits import ExtractLimits, active_limits, limits_applied, render_scale
from include.adapters.extract.pages import render_pages
from include.adapters.extract.records import ExtractionError
from include.adapters.extract.router import extract_document
from include.adapters.extract.sheet_cells import check_workbook, sheet_span
from tests.security import hostile_files as hostile

XLSX_BOMBS = {
    "merged A1:T50000": (hostile.merged_bomb_xlsx("A1:T50000"), "1,000,000 cells (reached by A1:T50000)"),
    "merged A1:XFD1048576": (hostile.merged_bomb_xlsx(), "17,179,869,184 cells"),
    "hyperlink A1:T50000": (hostile.hyperlink_bomb_xlsx("A1:T50000"), "1,000,000 cells"),
    "far cell XFD1048576": (
        hostile.xlsx_with(cells=[("XFD1048576", "x")]),
        "1,048,576 rows × 16,384 columns",
    ),
}


def limits(**changes: Any) -> ExtractLimits:
    return dataclasses.replace(ExtractLimits.from_settings(), **changes)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("name", sorted(XLSX_BOMBS))
def test_sheet_cell_bombs_fail_before_the_workbook_is_read(name: str) -> None:
    data, reason = XLSX_BOMBS[name]
    before, started = _peak_mb(), time.perf_counter()
    with pytest.raises(ExtractionError) as error:
        extract_document(data, "bomb.xlsx")
    seconds = time.perf_counter() - started
    message = str(error.value)
    assert message.startswith("bomb.xlsx: sheet 'Data' spans ") and reason in message, message
    assert "EXTRACT_MAX_SHEET_CELLS" in message
    assert len(data) < 10_000 and seconds < 2 and _peak_mb() - before < 100, (len(data), seconds)


def test_a_sheet_within_the_limit_reads_as_before() -> None:
    data = hostile.merged_bomb_xlsx("A3:B4")
    records = extract_document(data, "ok.xlsx")
    assert records[0].text.startswith("name: Alice Smith")
    with (
        limits_applied(limits(max_sheet_cells=7)),
        pytest.raises(ExtractionError, match="4 rows × 2 columns"),
    ):
        extract_document(data, "ok.xlsx")


def test_sheet_span_counts_cells_without_r_along_their_row() -> None:
    xml = (
        b'<worksheet><sheetData><row r="3"><c><v>1</v></c><c><v>2</v></c><c r="E3"/></row>'
        b"<row><c/><c/></row></sheetData></worksheet>"
    )
    span = sheet_span(lambda: io.BytesIO(xml), "sheet1.xml")
    assert (span.rows, span.columns) == (4, 5)


def test_sheet_span_reads_prefixed_tags_and_comments() -> None:
    xml = b'<x:worksheet><x:sheetData><x:row r="1"><x:c r="B2"/></x:row></x:sheetData></x:worksheet>'
    assert sheet_span(lambda: io.BytesIO(xml), "s").cells == 4
    comments = b'<comments><commentList><comment ref="C9" authorId="0"/></commentList></comments>'
    assert sheet_span(lambda: io.BytesIO(comments), "c").cells == 27


def test_workbook_scan_is_cheap_next_to_openpyxl() -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for r in range(5000):
        ws.append([f"name {r}", r, r * 1.5, "x" * 10])
    buffer = io.BytesIO()
    wb.save(buffer)
    started = time.perf_counter()
    (span,) = check_workbook(buffer.getvalue(), "dense.xlsx", active_limits())
    scan = time.perf_counter() - started
    started = time.perf_counter()
    openpyxl.load_workbook(io.BytesIO(buffer.getvalue()), data_only=True)
    load = time.perf_counter() - started
    assert (span.rows, span.columns) == (5000, 4)
    assert scan < load / 4, (scan, load)


def test_pdf_page_size_and_page_count() -> None:
    big = hostile.pdf_pages([(5000, 5000)])
    with pytest.raises(ExtractionError) as error:
        extract_document(big, "big.pdf")
    assert str(error.value) == (
        "big.pdf: page 1 is 5,000 × 5,000 pt = 25.0 Mpx at 72 dpi, over the limit of 20.0 Mpx "
        "(EXTRACT_MAX_PAGE_PIXELS)"
    )
    assert len(big) < 2000
    many = hostile.pdf_pages([(200, 200)] * 12, text="")
    with limits_applied(limits(max_pdf_pages=10)), pytest.raises(ExtractionError) as error:
        extract_document(many, "many.pdf")
    assert str(error.value) == "many.pdf: 12 pages, over the limit of 10 (EXTRACT_MAX_PDF_PAGES)"


def test_page_images_are_scaled_before_rendering() -> None:
    from PIL import Image

    data = hostile.pdf_pages([(4000, 4000)])  # 16 Mpx at 72 dpi: within the limit
    before = _peak_mb()
    (png,) = render_pages(data, "pdf", {1}).values()
    with Image.open(io.BytesIO(png)) as image:
        assert max(image.size) <= 2000
    assert _peak_mb() - before < 150  # 1.5 × scale would be a 6000² bitmap: 144 MB in RGBA alone
    assert render_scale(4000, 4000, 1.5, 20_000_000, 2000) == pytest.approx(0.5)
    assert render_scale(612, 792, 200 / 72, 1_000_000) == pytest.approx((1e6 / (612 * 792)) ** 0.5)


def test_image_frames_and_pixels() -> None:
    gif = hostile.frames_gif(500)
    with pytest.raises(ExtractionError) as error:
        extract_document(gif, "frames.gif")
    assert str(error.value) == "frames.gif: 500 frames, over the limit of 100 (EXTRACT_MAX_IMAGE_FRAMES)"
    png = hostile.blank_image(6000, 5000, "PNG")
    with pytest.raises(ExtractionError, match=r"frame 1 is 6,000 × 5,000 px = 30.0 Mpx, over the limit"):
        extract_document(png, "big.png")


def test_a_large_jpeg_is_decoded_smaller_to_fit() -> None:
    from PIL import Image

    from include.adapters.extract.image import image_frames

    jpeg = hostile.blank_image(6000, 5000, "JPEG")
    (frame,) = list(image_frames(jpeg, "photo.jpg", active_limits()))
    assert frame.size == (3000, 2500)
    (png,) = render_pages(jpeg, "image", {1}).values()
    with Image.open(io.BytesIO(png)) as image:
        assert max(image.size) <= 2000


def test_file_bytes_and_records() -> None:
    csv = b"name,amount\n" + b"".join(b"Alice %d,%d\n" % (i, i) for i in range(50))
    assert len(extract_document(csv, "rows.csv")) == 50
    with limits_applied(limits(max_records=49)), pytest.raises(ExtractionError) as error:
        extract_document(csv, "rows.csv")
    assert str(error.value) == "rows.csv: 50 records, over the limit of 49 per document (EXTRACT_MAX_RECORDS)"
    with (
        limits_applied(limits(max_file_bytes=100)),
        pytest.raises(ExtractionError, match="EXTRACT_MAX_FILE_BYTES"),
    ):
        extract_document(csv, "rows.csv")


def test_a_workbook_that_is_not_a_zip_is_left_to_the_reader() -> None:
    assert check_workbook(b"PK\x03\x04 not a zip", "x.xlsx", active_limits()) == []
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(ExtractionError, match="not a readable XLSX workbook"):
        extract_document(broken.getvalue(), "x.xlsx")
