"""Image OCR: known words come back as paragraph records in reading order; bad images raise."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from devstack.samples import invoices, write_samples
from include.adapters.extract.image import extract_image
from include.adapters.extract.layout import Line, group_paragraphs, merge_into_lines
from include.adapters.extract.records import ExtractedRecord, ExtractionError


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    paths = write_samples(tmp_path_factory.mktemp("samples"))
    return next(p for p in paths if p.name == "scan.png").read_bytes()


@pytest.fixture(scope="module")
def scan_records(scan: bytes) -> list[ExtractedRecord]:
    return extract_image(scan, "scan.png")


def test_ocr_finds_known_words_in_reading_order(scan_records: list[ExtractedRecord]) -> None:
    item = invoices()[1]
    assert [r.record_key for r in scan_records] == ["page=1/para=1", "page=1/para=2", "page=1/para=3"]
    assert scan_records[0].text.splitlines() == ["RECEIPT", f"Invoice {item.number}"]
    text = "\n".join(r.text for r in scan_records)
    for expected in (item.person, item.company, item.email, item.issued.isoformat(), f"${item.amount:,.2f}"):
        assert expected in text


def test_ocr_records_carry_kind_page_and_mean_score(scan_records: list[ExtractedRecord]) -> None:
    for record in scan_records:
        assert record.meta["kind"] == "ocr" and record.meta["page"] == 1
        assert 0.5 < record.meta["score"] <= 1.0


def test_boxes_on_one_line_join_left_to_right_and_gaps_split_paragraphs() -> None:
    boxes = [
        Line("World", 120, 10, 200, 30, 0.9),
        Line("Hello", 10, 12, 100, 31, 0.7),
        Line("next line", 10, 36, 150, 56),
        Line("new paragraph", 10, 90, 200, 110),
    ]
    lines = merge_into_lines(boxes)
    assert [line.text for line in lines] == ["Hello World", "next line", "new paragraph"]
    assert lines[0].score == pytest.approx(0.8)
    assert [[line.text for line in p] for p in group_paragraphs(lines)] == [
        ["Hello World", "next line"],
        ["new paragraph"],
    ]


def test_blank_image_gives_no_records() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (200, 100), "white").save(buffer, format="PNG")
    assert extract_image(buffer.getvalue(), "blank.png") == []


@pytest.mark.parametrize(
    "data",
    [b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20, b"\xff\xd8\xff\xe0 not really a jpeg"],
)
def test_undecodable_image_raises_with_filename(data: bytes) -> None:
    with pytest.raises(ExtractionError, match=r"^broken\.img: cannot decode image"):
        extract_image(data, "broken.img")


def test_truncated_png_raises(scan: bytes) -> None:
    with pytest.raises(ExtractionError, match=r"^scan\.png: cannot decode image"):
        extract_image(scan[: len(scan) // 2], "scan.png")
