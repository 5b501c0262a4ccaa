"""How many cells each worksheet of an XLSX spans, read from its XML before openpyxl expands anything.

openpyxl builds a cell object for every cell of a merged range and of a hyperlink range, and the
sheet reader then fills a grid as wide and as deep as the farthest cell: a 5 KB file with one merged
range `A1:XFD1048576` asks for 1.7e10 cells. This scan streams each worksheet part through a regular
expression (constant memory, no XML tree) and reports the rows × columns a sheet spans: its cells
(`<c r=...>`, or counted along the row where `r` is left out) and its `<mergeCell ref>` and
`<hyperlink ref>` ranges. `<dimension>` is not trusted: a writer may leave it out or get it wrong.

The reader is now python-calamine (`lib_calamine.read_sheets`, #24), whose grid is dense from A1 to the
farthest cell with a value, so the same span bounds it; the check is kept as it was written for
openpyxl (merged, hyperlink and comment ranges counted too), stricter than calamine needs.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import IO
from xml.etree import ElementTree

from include.adapters.extract.limits import ExtractLimits
from include.adapters.extract.records import ExtractionError

_CHUNK = 1 << 20
_PREFIX = rb"<(?:[A-Za-z_][\w.-]*:)?"
_CELL = re.compile(_PREFIX + rb"""c\s[^>]*?\br\s*=\s*["']\$?([A-Za-z]{1,3})\$?([0-9]{1,7})["']""")
_ANY_CELL = re.compile(_PREFIX + rb"c[\s/>]")
_RANGE = re.compile(_PREFIX + rb"""(?:mergeCell|hyperlink|comment)\s[^>]*?\bref\s*=\s*["']([^"']*)["']""")
_TAG = re.compile(_PREFIX + rb"(c|row)(?=[\s/>])([^>]*)>")
_ATTR = re.compile(rb"""\b(r)\s*=\s*["']([^"']*)["']""")
_CELL_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")
_WORKSHEET_TYPE = "/worksheet"
_COMMENTS_TYPE = "/comments"
_SMALL_PART = 4 << 20  # relationships and workbook.xml: a few KB in any real workbook


@dataclass
class SheetSpan:
    """The rows × columns a worksheet spans, and the range that reaches farthest."""

    part: str
    rows: int = 0
    columns: int = 0
    widest: str = ""

    @property
    def cells(self) -> int:
        return self.rows * self.columns

    def reach(self, row: int, column: int, what: str) -> None:
        if row > self.rows or column > self.columns:
            self.widest = what
        self.rows, self.columns = max(self.rows, row), max(self.columns, column)


def column_number(letters: str) -> int:
    """`A` → 1, `Z` → 26, `AA` → 27, `XFD` → 16384."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _corner(ref: str) -> tuple[int, int] | None:
    match = _CELL_REF.match(ref.strip())
    if match is None:
        return None
    return int(match.group(2)), column_number(match.group(1))


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    """The stream in blocks of about _CHUNK bytes, each cut after a `>` so no tag is split."""
    carry = b""
    while block := stream.read(_CHUNK):
        text = carry + block
        cut = text.rfind(b">") + 1
        text, carry = text[:cut], text[cut:]
        if len(carry) > _CHUNK:  # one tag over a megabyte: not a worksheet a person wrote
            carry = carry[-1024:]
        yield text


def _ranges(span: SheetSpan, text: bytes) -> None:
    """Reach the ranges of mergeCell, hyperlink and comment tags: openpyxl makes each of their cells."""
    for value in _RANGE.findall(text):
        for ref in value.decode("utf-8", "replace").split():
            corners = [_corner(end) for end in ref.split(":")]
            if all(corners):
                span.reach(max(c[0] for c in corners if c), max(c[1] for c in corners if c), ref)


def sheet_span(open_part: Callable[[], IO[bytes]], part: str, stop_above: int = 0) -> SheetSpan:
    """The span of one worksheet (or comments) XML part; with `stop_above`, the scan ends once the span
    is over it. Cells are read in bulk by their `r`; a part with a cell lacking one is read again tag
    by tag, counting cells along their row as openpyxl does."""
    span = SheetSpan(part)
    with open_part() as stream:
        for text in _chunks(stream):
            cells = _CELL.findall(text)
            if len(cells) != len(_ANY_CELL.findall(text)):
                break
            if cells:
                rows = max({row for _, row in cells}, key=int)
                letters = max({col.upper() for col, _ in cells}, key=lambda c: (len(c), c))
                name = letters.decode()
                span.reach(int(rows), column_number(name), f"{name}{rows.decode()}")
            _ranges(span, text)
            if stop_above and span.cells > stop_above:
                return span
        else:
            return span
    with open_part() as stream:
        return _exact_span(stream, part, stop_above)


def _exact_span(stream: IO[bytes], part: str, stop_above: int) -> SheetSpan:
    span = SheetSpan(part)
    row, column = 0, 0
    for text in _chunks(stream):
        for match in _TAG.finditer(text):
            tag, attrs = match.group(1), dict(_ATTR.findall(match.group(2)))
            if tag == b"row":
                row = int(attrs[b"r"]) if attrs.get(b"r", b"").isdigit() else row + 1
                column = 0  # a row without cells makes none: openpyxl keeps only its height/style
            elif tag == b"c":
                ref = attrs.get(b"r", b"").decode("utf-8", "replace")
                corner = _corner(ref)
                row, column = corner if corner else (max(row, 1), column + 1)
                span.reach(row, column, ref or f"row {row} column {column}")
        _ranges(span, text)
        if stop_above and span.cells > stop_above:
            break
    return span


def _small_xml(archive: zipfile.ZipFile, name: str) -> ElementTree.Element | None:
    """A small XML part (relationships) parsed, or None when missing, too large or unparsable."""
    try:
        if archive.getinfo(name).file_size > _SMALL_PART:
            return None
        return ElementTree.fromstring(archive.read(name))
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, OSError, ValueError):
        return None


def _targets(archive: zipfile.ZipFile, part: str, kind: str) -> dict[str, str]:
    """Relationship id → part name of `part`'s relationships of a type ending in `kind`."""
    folder, base = posixpath.split(part)
    rels = _small_xml(archive, f"{folder}/_rels/{base}.rels")
    out: dict[str, str] = {}
    for el in rels if rels is not None else []:
        target = el.get("Target", "")
        if el.get("Type", "").endswith(kind) and el.get("TargetMode") != "External":
            out[el.get("Id", "")] = (
                target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"{folder}/{target}")
            )
    return out


def worksheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Part name → sheet name of every worksheet, from the workbook and its relationships; every
    `xl/worksheets/*.xml` part besides (a sheet the workbook does not list is still read by some)."""
    names = set(archive.namelist())
    sheet_names: dict[str, str] = {}
    if "xl/workbook.xml" in names and archive.getinfo("xl/workbook.xml").file_size <= _SMALL_PART:
        sheet_names = {e["id"]: e["name"] for e in _sheet_entries(archive.read("xl/workbook.xml"))}
    parts = {
        part: sheet_names.get(rid, "") or posixpath.basename(part)
        for rid, part in _targets(archive, "xl/workbook.xml", _WORKSHEET_TYPE).items()
        if part in names
    }
    for name in sorted(names):
        if name.startswith("xl/worksheets/") and name.endswith(".xml") and name not in parts:
            parts[name] = posixpath.basename(name)
    return parts


def _sheet_entries(workbook: bytes) -> Iterator[dict[str, str]]:
    """The `<sheet name=... r:id=...>` entries of workbook.xml as {name, id}."""
    for match in re.finditer(rb"<(?:\w+:)?sheet\s([^>]*)>", workbook):
        attrs = dict(re.findall(rb"""([\w:]+)\s*=\s*["']([^"']*)["']""", match.group(1)))
        rid = next((v for k, v in attrs.items() if k.endswith(b":id") or k == b"id"), b"")
        yield {"name": attrs.get(b"name", b"").decode("utf-8", "replace"), "id": rid.decode()}


def _scan(archive: zipfile.ZipFile, part: str, limit: int) -> SheetSpan:
    """The span of a worksheet part and of the comments openpyxl anchors on its cells."""
    span = sheet_span(partial(archive.open, part), part, stop_above=limit)
    for comments in _targets(archive, part, _COMMENTS_TYPE).values():
        if span.cells <= limit and comments in archive.namelist():
            more = sheet_span(partial(archive.open, comments), comments, stop_above=limit)
            if more.rows or more.columns:
                span.reach(max(span.rows, more.rows), max(span.columns, more.columns), more.widest)
    return span


def check_workbook(data: bytes, filename: str, limits: ExtractLimits) -> list[SheetSpan]:
    """The span of every worksheet; ExtractionError naming the sheet and its farthest range when one
    spans more than EXTRACT_MAX_SHEET_CELLS. Archives that do not open are left to the reader's error."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return []
    spans = []
    with archive:
        for part, sheet in worksheet_parts(archive).items():
            try:
                span = _scan(archive, part, limits.max_sheet_cells)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError):
                continue  # a damaged part: openpyxl names the problem
            if span.cells > limits.max_sheet_cells:
                raise ExtractionError(
                    filename,
                    f"sheet {sheet!r} spans {span.rows:,} rows × {span.columns:,} columns = "
                    f"{span.cells:,} cells (reached by {span.widest}), over the limit of "
                    f"{limits.max_sheet_cells:,} (EXTRACT_MAX_SHEET_CELLS)",
                )
            spans.append(span)
    return spans
