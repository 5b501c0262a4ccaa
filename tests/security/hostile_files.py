"""Hostile documents built in memory: small files that ask a parser for a lot (issue #23)."""

from __future__ import annotations

import io
import os
import signal
import time
import zipfile

import openpyxl
from PIL import Image, ImageDraw
from reportlab.pdfgen import canvas


def xlsx_with(sheet_xml_after_data: str = "", cells: list[tuple[str, object]] | None = None) -> bytes:
    """A one-sheet workbook (header + one row) with raw XML put right after `</sheetData>` (merged
    cells, hyperlinks) and optional extra cells written by openpyxl."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Data"
    ws.append(["name", "amount"])
    ws.append(["Alice Smith", 120])
    for ref, value in cells or []:
        ws[ref] = value
    buffer = io.BytesIO()
    wb.save(buffer)
    return _patch_zip(buffer.getvalue(), "xl/worksheets/sheet1.xml", b"</sheetData>", sheet_xml_after_data)


def merged_bomb_xlsx(ref: str = "A1:XFD1048576") -> bytes:
    """One merged range over `ref`: openpyxl makes a cell object for each of its cells."""
    return xlsx_with(f'<mergeCells count="1"><mergeCell ref="{ref}"/></mergeCells>')


def hyperlink_bomb_xlsx(ref: str = "A1:T50000") -> bytes:
    """One hyperlink over `ref`: openpyxl copies the link into each of its cells."""
    return xlsx_with(f'<hyperlinks><hyperlink ref="{ref}" display="x" location="Data!A1"/></hyperlinks>')


def _patch_zip(data: bytes, part: str, after: bytes, insert: str) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == part and insert:
                body = body.replace(after, after + insert.encode())
            target.writestr(item, body)
    return out.getvalue()


def pdf_pages(
    sizes: list[tuple[float, float]], text: str = "Alice Smith paid 120 EUR to Bob Jones."
) -> bytes:
    """A PDF with one page per (width, height) in points, each with a line of text (when given)."""
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, invariant=1)
    for width, height in sizes:
        c.setPageSize((width, height))
        if text:
            c.drawString(72, height - 72, text)
        c.showPage()
    c.save()
    return buffer.getvalue()


def frames_gif(count: int, side: int = 32) -> bytes:
    """An animated GIF of `count` distinct frames (identical frames would be merged by Pillow)."""
    frames = []
    for i in range(count):
        frame = Image.new("P", (side, side), 0)
        ImageDraw.Draw(frame).point((i % side, (i // side) % side), fill=1)
        frames.append(frame)
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def blank_image(width: int, height: int, fmt: str) -> bytes:
    """A white grey-scale image of that size (compresses to a few KB)."""
    buffer = io.BytesIO()
    Image.new("L", (width, height), 255).save(buffer, fmt)
    return buffer.getvalue()


# -- functions the sandbox worker runs in tests (importable there by module path) -----------------


def sleep_then(seconds: float, value: int) -> int:
    time.sleep(seconds)
    return value


def allocate(n_bytes: int) -> int:
    return len(bytearray(n_bytes))


def kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def worker_pid() -> int:
    return os.getpid()
