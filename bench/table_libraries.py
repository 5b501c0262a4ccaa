"""Libraries against our rules (#24): per file, our extractor and table libraries, on the strict scorer.

    python bench/table_libraries.py DIR [--part tune|heldout|all] [--kind KIND ...] [--lib NAME ...]
        [--file SUBSTRING ...] [--raster [--raster-pages N]]

For each scored document of the kinds a library covers, our extractor (`extract_document`) and each
library run on the same bytes; each result becomes row records and goes through the same scorer as
bench/table_fidelity.py (`table_corpus.extracted_tables` → `table_scoring.score_document`).

Libraries, and how their tables become records (the adapters):
- `camelot-lattice`, `camelot-stream` (camelot-py, PDFs): each table's cells, with lattice's spans
  (a cell not bounded on the left/top belongs to the cell there), become our `Grid`, read by our
  grid rules (`grid.read_table`: titles, header rows, column names) into `page=P/table=T/row=R`;
- `ruled+camelot-stream` (PDFs): our ruled tables (pdfplumber) on pages that have one, camelot
  stream's tables on the other pages (instead of our pdf_stream): how camelot stream would be wired;
- `img2table`, `img2table-borderless` (images): our RapidOCR boxes (one OCR pass, the same text as
  ours), img2table's tables from `include/adapters/extract/lib_img2table.find_tables` (ruled only, or also
  tables without rules), each a `Grid` (a spanning cell is the same cell in every slot it covers)
  read by our grid rules into `page=1/table=T/row=R`;
- `img2table-borderless-pdf` (kind `pdf-raster`, with `--raster`): each scored PDF turned into an
  image-only PDF (every page its picture at 200 dpi, no text layer), scored on the PDF's
  expectations; ours reads it through its OCR path for pages without text, img2table renders each
  page the same way and finds the tables as above;
- `calamine` (XLSX): worksheets read by `include/adapters/extract/lib_calamine.read_sheets` instead of
  openpyxl, then our sheet rules as they stand (`tables.table_blocks`, header detection, notes).

Timing: each method's first document of each extension is run once untimed (imports, model loads);
seconds are wall time of one run. `ours` is the whole extraction (for PDFs it also reads paragraphs
with Docling); `ours-tables` is the PDF table part alone (`pdf.read_pages` + `read_table`), the part
a library would replace. Per kind and part: files, passing, mean cell recall, mean exact rows, shape and
seconds per page (a workbook or image counts as one page).

img2table needs OpenCV's contrib build (`cv2.ximgproc`): both are pinned in requirements-img2table.txt,
installed with --no-deps after the stack by scripts/setup_venv.sh (the contrib `cv2` replaces the
headless one's files). Since #24 `ours` uses img2table itself for images and image-only PDF pages
(`include/adapters/extract/image.py`): `ours` reads images as `img2table-borderless` does, falling back to
our own rule (`image_tables.find_table`) only where img2table finds no table.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import table_corpus, table_scoring
from include.adapters.extract.grid import Grid, read_table
from include.adapters.extract.records import ExtractedRecord, ExtractionError
from include.adapters.extract.router import extract_document
from include.adapters.extract.tables import grid_records

Method = Callable[[bytes, str], list[ExtractedRecord]]

LIBS_BY_KIND: dict[str, tuple[str, ...]] = {
    "pdf-ruled": ("ours-tables", "camelot-lattice", "camelot-stream", "ruled+camelot-stream"),
    "pdf-unruled": ("ours-tables", "camelot-lattice", "camelot-stream", "ruled+camelot-stream"),
    "image": ("img2table", "img2table-borderless"),
    "pdf-raster": ("img2table-borderless-pdf",),
    "xlsx": ("calamine",),
}


# ---------------------------------------------------------------- grids from library cells


def spans_grid(texts: Sequence[Sequence[str]], joins_left: Any, joins_up: Any) -> Grid:
    """A Grid from a table's slot texts and two predicates on (row, column): the slot belongs to the
    cell on its left / above it. Text stays where the library put it (the span's top-left slot)."""
    origin: list[list[tuple[int, int]]] = []
    cells: list[list[str | None]] = []
    for r, row in enumerate(texts):
        origin.append([])
        cells.append([])
        for c, text in enumerate(row):
            if c > 0 and joins_left(r, c):
                origin[r].append(origin[r][c - 1])
            elif r > 0 and c < len(origin[r - 1]) and joins_up(r, c):
                origin[r].append(origin[r - 1][c])
            else:
                origin[r].append((r, c))
            cells[r].append(text if origin[r][c] == (r, c) else None)
    return Grid(cells, origin)


def grids_records(grids: Sequence[tuple[int, Grid]], **meta: Any) -> list[ExtractedRecord]:
    """Row records of (page, grid) pairs in document order: `page=P/table=T/row=R`, read by our grid
    rules (titles, header, names)."""
    records: list[ExtractedRecord] = []
    numbers: dict[int, int] = {}
    for page, grid in grids:
        if not grid.cells or not any(any(row) for row in grid.cells):
            continue
        t = numbers[page] = numbers.get(page, 0) + 1
        read = read_table(grid)
        records += grid_records(read, f"page={page}/table={t}", page=page, table=t, **meta)
    return records


# ---------------------------------------------------------------- camelot


def camelot_records(data: bytes, filename: str, flavor: str) -> list[ExtractedRecord]:
    return grids_records(camelot_grids(data, flavor), source=f"camelot-{flavor}")


def camelot_grids(data: bytes, flavor: str, pages: str = "all") -> list[tuple[int, Grid]]:
    """(page, grid) of each table camelot finds, in page order and camelot's order on the page."""
    import camelot

    tables = camelot.read_pdf(io.BytesIO(data), pages=pages, flavor=flavor, suppress_stdout=True)
    grids: list[tuple[int, Grid]] = []
    for table in sorted(tables, key=lambda t: (int(t.page), t.order or 0)):
        if flavor == "lattice":
            cells = table.cells
            texts = [[cell.text.strip() for cell in row] for row in cells]
            grid = spans_grid(
                texts,
                joins_left=lambda r, c, cells=cells: not cells[r][c].left,
                joins_up=lambda r, c, cells=cells: not cells[r][c].top,
            )
        else:
            grid = Grid([[str(v).strip() for v in row] for row in table.df.itertuples(index=False)])
        grids.append((int(table.page), grid))
    return grids


def ruled_then_camelot_stream(data: bytes, filename: str) -> list[ExtractedRecord]:
    """Our ruled tables (pdfplumber, as `pdf.read_pages` keeps them) on pages that have one; on the
    other pages camelot stream's tables instead of pdf_stream's: how camelot would be wired in."""
    import pdfplumber

    from include.adapters.extract.pdf import _is_table
    from include.adapters.extract.pdf_tables import boxes_fit_text, table_grid

    grids: list[tuple[int, Grid]] = []
    unruled: list[int] = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            found = [t for t in page.find_tables() if _is_table(t) and boxes_fit_text(t, page.chars)]
            ruled = sorted((table_grid(t, page.chars) for t in found), key=lambda g: g[1][1])
            grids += [(page.page_number, grid) for grid, _ in ruled]
            if not ruled:
                unruled.append(page.page_number)
    if unruled:
        grids += camelot_grids(data, "stream", ",".join(map(str, unruled)))
    return grids_records(sorted(grids, key=lambda g: g[0]), source="ruled+camelot-stream")


# ---------------------------------------------------------------- img2table


def img2table_records(data: bytes, filename: str, borderless: bool) -> list[ExtractedRecord]:
    """Our OCR boxes (one pass), img2table's tables (`lib_img2table.find_tables`), our grid rules."""
    from PIL import Image as PILImage

    from include.adapters.extract.image import ocr_boxes
    from include.adapters.extract.lib_img2table import find_tables

    image = PILImage.open(io.BytesIO(data))
    image.load()
    tables = find_tables(image, ocr_boxes(image), borderless=borderless)
    return grids_records([(1, t.grid) for t in tables], source="img2table")


def img2table_pdf_records(data: bytes, filename: str) -> list[ExtractedRecord]:
    """An image-only PDF: each page rendered as our extractor renders a page without text
    (`pdf._ocr_page`), then as `img2table-borderless`."""
    import pdfplumber

    from include.adapters.extract.image import ocr_boxes
    from include.adapters.extract.lib_img2table import find_tables
    from include.adapters.extract.limits import active_limits, render_scale
    from include.adapters.extract.pdf import OCR_RESOLUTION

    grids: list[tuple[int, Grid]] = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            scale = render_scale(
                page.width, page.height, OCR_RESOLUTION / 72, active_limits().max_page_pixels
            )
            image = page.to_image(resolution=72 * scale).original
            grids += [(page.page_number, t.grid) for t in find_tables(image, ocr_boxes(image))]
    return grids_records(grids, source="img2table")


def raster_pdf(data: bytes) -> bytes:
    """The PDF with every page replaced by its picture at the OCR resolution: no text layer left."""
    import pypdfium2 as pdfium

    from include.adapters.extract.pdf import OCR_RESOLUTION

    pdf = pdfium.PdfDocument(data)
    try:
        images = [page.render(scale=OCR_RESOLUTION / 72).to_pil().convert("RGB") for page in pdf]
    finally:
        pdf.close()
    out = io.BytesIO()
    images[0].save(out, format="PDF", resolution=OCR_RESOLUTION, save_all=True, append_images=images[1:])
    return out.getvalue()


# ---------------------------------------------------------------- calamine


def calamine_records(data: bytes, filename: str) -> list[ExtractedRecord]:
    """extract_xlsx with python-calamine as the reader: our sheet rules as in
    include/adapters/extract/tables.py
    `_sheet_records`, from the grid `lib_calamine.read_sheets` gives."""
    from include.adapters.extract import tables
    from include.adapters.extract.lib_calamine import read_sheets
    from include.adapters.extract.limits import active_limits
    from include.adapters.extract.rows import normalize_value
    from include.adapters.extract.sheet_cells import check_workbook

    check_workbook(data, filename, active_limits())
    records: list[ExtractedRecord] = []
    for sheet in read_sheets(data, filename):
        grid = sheet.rows
        width = max((i + 1 for row in grid for i, v in enumerate(row) if normalize_value(v)), default=0)
        grid = [row[:width] + [None] * (width - len(row)) for row in grid]
        meta: dict[str, Any] = {"sheet": sheet.name}
        if sheet.hidden:
            meta["hidden"] = True
        blocks = tables.table_blocks(grid)
        for t, (start, end) in enumerate(blocks, start=1):
            prefix, block_meta = f"sheet={sheet.name}", dict(meta)
            if len(blocks) > 1:
                prefix, block_meta["table"] = f"{prefix}/table={t}", t
            records += tables._block_records([row[start:end] for row in grid], prefix, block_meta)
    return records


# ---------------------------------------------------------------- ours


def ours_tables(data: bytes, filename: str) -> list[ExtractedRecord]:
    """The table part of our PDF extraction alone (pdfplumber ruled + pdf_stream unruled, our grid
    rules), without paragraphs or page-break continuation."""
    from include.adapters.extract.pdf import read_pages

    return grids_records([(page.number, grid) for page in read_pages(data, filename) for grid in page.grids])


METHODS: dict[str, Method] = {
    "ours": lambda data, name: extract_document(data, name),
    "ours-tables": ours_tables,
    "camelot-lattice": lambda data, name: camelot_records(data, name, "lattice"),
    "camelot-stream": lambda data, name: camelot_records(data, name, "stream"),
    "img2table": lambda data, name: img2table_records(data, name, borderless=False),
    "img2table-borderless": lambda data, name: img2table_records(data, name, borderless=True),
    "img2table-borderless-pdf": img2table_pdf_records,
    "ruled+camelot-stream": ruled_then_camelot_stream,
    "calamine": calamine_records,
}


# ---------------------------------------------------------------- the run


@dataclass
class Result:
    doc: str
    kind: str
    part: str
    method: str
    ratios: dict[str, float | None]
    passed: bool
    seconds: float
    pages: int
    error: str | None


def page_count(doc: Path, data: bytes) -> int:
    if doc.suffix.lower() != ".pdf":
        return 1
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        return len(pdf)
    finally:
        pdf.close()


def run_method(
    method: str, data: bytes, name: str, kind: str, warmed: set[str]
) -> tuple[list[ExtractedRecord], float, str | None]:
    fn = METHODS[method]
    warm_key = f"{method}{Path(name).suffix.lower()}{'-raster' if kind == 'pdf-raster' else ''}"
    if warm_key not in warmed:
        warmed.add(warm_key)
        with contextlib.suppress(Exception):
            fn(data, name)
    started = time.perf_counter()
    try:
        records, error = fn(data, name), None
    except ExtractionError as exc:
        records, error = [], str(exc)
    except Exception as exc:  # a library's own failure counts as finding nothing
        records, error = [], f"{type(exc).__name__}: {str(exc)[:120]}"
    return records, time.perf_counter() - started, error


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, help="folder of documents with expected/ beside them")
    parser.add_argument("--part", choices=("tune", "heldout", "all"), default="all")
    parser.add_argument(
        "--kind", action="append", choices=tuple(LIBS_BY_KIND), help="repeatable; default all"
    )
    parser.add_argument("--lib", action="append", choices=tuple(METHODS), help="repeatable; default all")
    parser.add_argument("--file", action="append", help="only documents whose name contains this")
    parser.add_argument(
        "--raster", action="store_true", help="also the PDFs as image-only PDFs (kind pdf-raster; OCR, slow)"
    )
    parser.add_argument(
        "--raster-pages", type=int, default=1, help="rasterise only PDFs of at most this many pages"
    )
    args = parser.parse_args(argv)
    root: Path = args.dir.resolve()
    docs = table_corpus.documents(root)
    parts = table_corpus.split_parts(docs)
    kinds = args.kind or [k for k in LIBS_BY_KIND if k != "pdf-raster" or args.raster]
    print(
        f"{'file':50} {'kind':11} {'part':7} {'method':18} {'cell':>5} {'rows':>5} {'shape':>5} pass "
        f"{'s':>6} {'s/pg':>6}"
    )
    results: list[Result] = []
    warmed: set[str] = set()
    runs: list[tuple[Path, str]] = [(doc, table_corpus.kind_of(doc)) for doc in docs]
    runs += [(doc, "pdf-raster") for doc, kind in list(runs) if kind.startswith("pdf-")]
    for doc, kind in runs:
        if kind not in kinds or (args.part != "all" and parts[doc] != args.part):
            continue
        if args.file and not any(f in doc.name for f in args.file):
            continue
        expected = table_corpus.load(doc, root)
        if expected is None:
            continue
        data = doc.read_bytes()
        pages = page_count(doc, data)
        if kind == "pdf-raster":
            if pages > args.raster_pages:
                continue
            data = raster_pdf(data)
        for method in ("ours", *LIBS_BY_KIND[kind]):
            if args.lib and method != "ours" and method not in args.lib:
                continue
            records, seconds, error = run_method(method, data, doc.name, kind, warmed)
            tables = table_corpus.extracted_tables(records)
            ratios = table_scoring.score_document(expected.tables, tables, expected.shapes).ratios()
            ok = table_scoring.passes(ratios)
            name = doc.relative_to(root).as_posix()
            results.append(Result(name, kind, parts[doc], method, ratios, ok, seconds, pages, error))
            short = name if len(name) <= 50 else name[:47] + "..."
            cols = " ".join(f"{_fmt(ratios[k]):>5}" for k in ("cell", "row", "shape"))
            note = f"  error: {error[:100]}" if error else ""
            print(
                f"{short:50} {kind:11} {parts[doc]:7} {method:18} {cols} {'yes' if ok else 'no':>4} "
                f"{seconds:6.2f} {seconds / pages:6.2f}{note}",
                flush=True,
            )
    summarize(results)
    return 0


def summarize(results: Sequence[Result]) -> None:
    print()
    print(
        f"{'kind':12} {'part':8} {'method':18} {'files':>5} {'pass':>5} {'cell':>6} {'rows':>6} "
        f"{'shape':>6} {'s/pg':>6}"
    )
    methods = list(dict.fromkeys(r.method for r in results))
    for kind in dict.fromkeys(r.kind for r in results):
        for part in ("tune", "heldout"):
            for method in methods:
                group = [r for r in results if (r.kind, r.part, r.method) == (kind, part, method)]
                if not group:
                    continue
                means = {
                    k: (fmean(v) if (v := [x for g in group if (x := g.ratios[k]) is not None]) else None)
                    for k in ("cell", "row", "shape")
                }
                per_page = sum(g.seconds for g in group) / sum(g.pages for g in group)
                print(
                    f"{kind:12} {part:8} {method:18} {len(group):5} {sum(g.passed for g in group):5} "
                    + " ".join(f"{_fmt(means[k]):>6}" for k in ("cell", "row", "shape"))
                    + f" {per_page:6.2f}"
                )


if __name__ == "__main__":
    raise SystemExit(main())
