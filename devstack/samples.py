"""A small, realistic, seeded sample set of every supported document type, for tests and demos.

Same seed → same bytes for the CSV, TXT, XLSX (fixed document properties and zip timestamps) and PDF
(reportlab `invariant=1`) files. Not byte-stable across machines: scan.png depends on the font found
(DejaVu Sans if installed, else Pillow's built-in font), and every file's content depends on the Faker
version's data.

Each document also carries what it wrote (`sample_documents`): its paragraphs and table rows as
parts, with the entity values marked as `Mention`s, so devstack/heldout.py can place gold spans on
the extracted records.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from faker import Faker

from include.adapters.extract.rows import normalize_value

FIXED_TIME = datetime(2024, 1, 1, 0, 0, 0)
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@dataclass(frozen=True)
class Invoice:
    """One fake invoice: the people, organisations, places, dates and amounts the samples talk about."""

    number: str
    issued: date
    person: str
    company: str
    email: str
    phone: str
    city: str
    street: str
    amount: float
    product: str


@dataclass(frozen=True)
class Mention:
    """A value the generator wrote that is an entity of `label`, as the document shows it."""

    label: str
    text: str


Part = str | Mention
Unit = tuple[Part, ...]
"""A written paragraph or table cell: plain text and mentions, in order."""


def unit_text(unit: Sequence[Part]) -> str:
    """The text a unit writes."""
    return "".join(part.text if isinstance(part, Mention) else part for part in unit)


@dataclass(frozen=True)
class SampleDocument:
    """One generated file: its name, bytes, and the units it wrote.

    `paragraphs` are the text blocks a reader sees (a spreadsheet's title rows included); `rows` are
    the data rows of its tables as a reader sees them (header rows excluded, merged cells repeated
    on every row they cover), each a list of cells. `has_gold` is False where the text reaches the
    extractor only through OCR (the scan), so the units cannot be placed exactly.
    """

    name: str
    data: bytes
    paragraphs: list[Unit] = field(default_factory=list)
    rows: list[list[Unit]] = field(default_factory=list)
    has_gold: bool = True


def invoices(seed: int = 7, count: int = 6) -> list[Invoice]:
    """Seeded fake invoices (dates in 2024, never relative to today)."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return [
        Invoice(
            number=f"INV-{2024_000 + i}",
            issued=fake.date_between_dates(date(2024, 1, 1), date(2024, 12, 31)),
            person=fake.name(),
            company=fake.company(),
            email=fake.company_email(),
            phone=fake.numerify("+1-###-555-####"),
            city=fake.city(),
            street=fake.street_address(),
            amount=round(fake.pyfloat(min_value=100, max_value=20000, right_digits=2), 2),
            product=fake.catch_phrase(),
        )
        for i in range(1, count + 1)
    ]


def write_samples(folder: Path, seed: int = 7) -> list[Path]:
    """Write the sample set into `folder` (created if missing); returns the paths in a fixed order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for document in sample_documents(seed):
        path = folder / document.name
        path.write_bytes(document.data)
        paths.append(path)
    return paths


def sample_documents(seed: int = 7, count: int = 6) -> list[SampleDocument]:
    """The sample set in memory, in a fixed order: `count` invoices (at least 5) told in every
    document type, with what each document wrote."""
    if count < 5:
        raise ValueError(f"count must be at least 5 (the documents quote invoices 1-5), got {count}")
    items = invoices(seed, count)
    writers: dict[str, Callable[[str], SampleDocument]] = {
        "invoices.csv": lambda name: _invoices_csv(name, items, ","),
        "invoices_semicolon.csv": lambda name: _invoices_csv(name, items, ";"),
        "ledger.xlsx": lambda name: _ledger_xlsx(name, items, mac_1904=False),
        "ledger_1904.xlsx": lambda name: _ledger_xlsx(name, items, mac_1904=True),
        "report.pdf": lambda name: _report_pdf(name, items),
        "scan.png": lambda name: SampleDocument(name, _scan_png(items), has_gold=False),
        "notes_utf16.txt": lambda name: _text_document(name, _notes(items), "utf-16", "\r\n"),
        "memo.txt": lambda name: _text_document(name, _memo(items), "utf-8", "\n"),
    }
    return [write(name) for name, write in writers.items()]


def _text_document(name: str, paragraphs: list[Unit], encoding: str, newline: str) -> SampleDocument:
    text = (newline * 2).join(unit_text(p) for p in paragraphs) + newline
    return SampleDocument(name, text.encode(encoding), paragraphs=paragraphs)


def _invoices_csv(name: str, items: list[Invoice], delimiter: str) -> SampleDocument:
    rows: list[list[Unit]] = []
    for i, item in enumerate(items):
        amount = f"{item.amount:.2f}" if delimiter == "," else f"{item.amount:.2f}".replace(".", ",")
        rows.append(
            [
                (item.number,),
                (Mention("DATE", item.issued.isoformat()),),
                (Mention("PERSON", item.person),),
                (Mention("ORG", item.company),),
                (Mention("EMAIL", item.email),),
                (Mention("PHONE", item.phone),),
                (item.street, "\n" if i == 0 else ", ", Mention("LOCATION", item.city)),
                (Mention("MONEY", amount),),
            ]
        )
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(["Invoice", "Date", "Contact", "Company", "Email", "Phone", "Address", "Amount (USD)"])
    writer.writerows([unit_text(cell) for cell in row] for row in rows)
    return SampleDocument(name, buffer.getvalue().encode("utf-8"), rows=rows)


def _ledger_xlsx(name: str, items: list[Invoice], mac_1904: bool) -> SampleDocument:
    from openpyxl import Workbook
    from openpyxl.utils.datetime import CALENDAR_MAC_1904
    from openpyxl.writer.excel import ExcelWriter

    workbook = Workbook()
    if mac_1904:
        workbook.epoch = CALENDAR_MAC_1904
    workbook.properties.creator = "nerloop samples"
    workbook.properties.created = workbook.properties.modified = FIXED_TIME

    title: Unit = ("Ledger ", Mention("DATE", "Q1 2024"), " - ", Mention("ORG", "Northwind Holdings"))
    region = "North America"
    rows: list[list[Unit]] = []
    q1 = workbook.active
    q1.title = "Q1"
    q1.append([unit_text(title)])
    q1.merge_cells("A1:F1")
    q1.append(["Date", "Region", "Customer", "Company", "Contact", None, "Amount"])
    q1.merge_cells("E2:F2")
    for i, item in enumerate(items[:4]):
        shown = region if i == 0 else None
        q1.append([item.issued, shown, item.person, item.company, item.email, item.phone, item.amount])
        rows.append(
            [
                (Mention("DATE", normalize_value(item.issued)),),
                (Mention("LOCATION", region),),  # merged over B3:B6: every row shows it
                (Mention("PERSON", item.person),),
                (Mention("ORG", item.company),),
                (Mention("EMAIL", item.email),),
                (Mention("PHONE", item.phone),),
                (Mention("MONEY", normalize_value(item.amount)),),
            ]
        )
    q1.merge_cells("B3:B6")
    for row in q1.iter_rows(min_row=3, max_col=1):
        row[0].number_format = "yyyy-mm-dd"

    vendors = workbook.create_sheet("Vendors")
    vendors.append(["Vendor", "City", "Since", "Product"])
    listed = [(i.company, i.city, datetime(i.issued.year, i.issued.month, 1), i.product) for i in items[4:]]
    for values in listed:
        vendors.append(list(values))
    vendors.append([])
    acme = ("Acme Corporation", "Denver", date(2021, 6, 30), "Anvils")
    vendors.append(list(acme))
    for company, city, since, product in [*listed, acme]:
        rows.append(
            [
                (Mention("ORG", company),),
                (Mention("LOCATION", city),),
                (Mention("DATE", normalize_value(since)),),
                (Mention("PRODUCT", product),),
            ]
        )

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    return SampleDocument(name, _fixed_zip_times(buffer.getvalue()), paragraphs=[title], rows=rows)


def _fixed_zip_times(data: bytes) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()


def _report_pdf(name: str, items: list[Invoice]) -> SampleDocument:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    lead = items[0]
    first, last = min(i.issued for i in items), max(i.issued for i in items)
    title: Unit = ("Quarterly report",)
    summary: Unit = (
        "On ",
        Mention("DATE", f"{lead.issued:%B %d, %Y}"),
        ", ",
        Mention("PERSON", lead.person),
        " of ",
        Mention("ORG", lead.company),
        " met our team in ",
        Mention("LOCATION", lead.city),
        " and signed an order worth ",
        Mention("MONEY", f"${lead.amount:,.2f}"),
        ". Questions go to ",
        Mention("EMAIL", lead.email),
        " or ",
        Mention("PHONE", lead.phone),
        ".",
    )
    period: Unit = (
        "The invoices below were issued between ",
        Mention("DATE", f"{first:%d %B %Y}"),
        " and ",
        Mention("DATE", f"{last:%d %B %Y}"),
        ".",
    )
    footer: Unit = (
        "Prepared by the finance office, ",
        Mention("ORG", "Northwind Holdings"),
        ", ",
        Mention("LOCATION", "Seattle"),
        ".",
    )
    rows: list[list[Unit]] = [
        [
            (i.number,),
            (Mention("DATE", i.issued.isoformat()),),
            (Mention("PERSON", i.person),),
            (Mention("ORG", i.company),),
            (Mention("MONEY", f"${i.amount:,.2f}"),),
        ]
        for i in items[:4]
    ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, invariant=1, title="Quarterly report", author="nerloop samples"
    )
    table = Table(
        [["Invoice", "Date", "Customer", "Company", "Amount"]]
        + [[unit_text(c) for c in row] for row in rows],
        repeatRows=1,
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
            ]
        )
    )
    document.build(
        [
            Paragraph(unit_text(title), styles["Title"]),
            Paragraph(unit_text(summary), styles["BodyText"]),
            Spacer(1, 12),
            Paragraph(unit_text(period), styles["BodyText"]),
            Spacer(1, 12),
            table,
            Spacer(1, 12),
            Paragraph(unit_text(footer), styles["BodyText"]),
        ]
    )
    return SampleDocument(name, buffer.getvalue(), paragraphs=[title, summary, period, footer], rows=rows)


def _scan_png(items: list[Invoice]) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(DEJAVU), 28) if DEJAVU.exists() else ImageFont.load_default(size=28)
    lead = items[1]
    paragraphs = [
        ["RECEIPT", f"Invoice {lead.number}"],
        [f"Customer: {lead.person}", f"Company: {lead.company}", f"City: {lead.city}"],
        [f"Date: {lead.issued.isoformat()}", f"Total: ${lead.amount:,.2f}", f"Email: {lead.email}"],
    ]
    image = Image.new("L", (1000, 560), color=255)
    draw = ImageDraw.Draw(image)
    y = 40
    for lines in paragraphs:
        for line in lines:
            draw.text((50, y), line, fill=0, font=font)
            y += 44
        y += 40
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _notes(items: list[Invoice]) -> list[Unit]:
    a, b, c = items[0], items[1], items[2]
    return [
        ("Meeting notes — ", Mention("DATE", f"{a.issued:%d %B %Y}")),
        (
            Mention("PERSON", a.person),
            " (",
            Mention("ORG", a.company),
            ") called from ",
            Mention("LOCATION", a.city),
            f" about invoice {a.number} for ",
            Mention("MONEY", f"${a.amount:,.2f}"),
            ".\r\nFollow up by e-mail at ",
            Mention("EMAIL", a.email),
            " or phone ",
            Mention("PHONE", a.phone),
            ".",
        ),
        (
            Mention("PERSON", b.person),
            " from ",
            Mention("ORG", b.company),
            f" confirmed delivery to {b.street}, ",
            Mention("LOCATION", b.city),
            " on ",
            Mention("DATE", f"{b.issued:%B %d, %Y}"),
            ".",
        ),
        (
            Mention("LOCATION", "Zürich"),
            " office: ",
            Mention("PERSON", c.person),
            " will review the ",
            Mention("MONEY", f"€{c.amount:,.2f}"),
            " credit note with ",
            Mention("ORG", c.company),
            ".",
        ),
    ]


def _memo(items: list[Invoice]) -> list[Unit]:
    a, b = items[3], items[4]
    return [
        ("MEMO",),
        (
            "To: ",
            Mention("PERSON", a.person),
            " <",
            Mention("EMAIL", a.email),
            ">\nFrom: ",
            Mention("PERSON", b.person),
            ", ",
            Mention("ORG", b.company),
            "\nDate: ",
            Mention("DATE", a.issued.isoformat()),
        ),
        (
            "Please approve the payment of ",
            Mention("MONEY", f"${a.amount:,.2f}"),
            " to ",
            Mention("ORG", a.company),
            " (",
            Mention("LOCATION", a.city),
            ") before ",
            Mention("DATE", f"{b.issued:%B %d, %Y}"),
            ". Call ",
            Mention("PHONE", b.phone),
            " with questions.",
        ),
        (
            "The ",
            Mention("PRODUCT", b.product.lower()),
            " rollout in ",
            Mention("LOCATION", b.city),
            " starts next quarter.",
        ),
    ]
