"""A small, realistic, seeded sample set of every supported document type, for tests and demos.

Same seed → same bytes for the CSV, TXT, XLSX (fixed document properties and zip timestamps) and PDF
(reportlab `invariant=1`) files. Not byte-stable across machines: scan.png depends on the font found
(DejaVu Sans if installed, else Pillow's built-in font), and every file's content depends on the Faker
version's data.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from faker import Faker

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
    items = invoices(seed)
    writers = {
        "invoices.csv": lambda: _invoices_csv(items, ","),
        "invoices_semicolon.csv": lambda: _invoices_csv(items, ";"),
        "ledger.xlsx": lambda: _ledger_xlsx(items, mac_1904=False),
        "ledger_1904.xlsx": lambda: _ledger_xlsx(items, mac_1904=True),
        "report.pdf": lambda: _report_pdf(items),
        "scan.png": lambda: _scan_png(items),
        "notes_utf16.txt": lambda: _notes(items).encode("utf-16"),
        "memo.txt": lambda: _memo(items).encode("utf-8"),
    }
    paths = []
    for name, write in writers.items():
        path = folder / name
        path.write_bytes(write())
        paths.append(path)
    return paths


def _invoices_csv(items: list[Invoice], delimiter: str) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(["Invoice", "Date", "Contact", "Company", "Email", "Phone", "Address", "Amount (USD)"])
    for i, item in enumerate(items):
        address = f"{item.street}\n{item.city}" if i == 0 else f"{item.street}, {item.city}"
        amount = f"{item.amount:.2f}" if delimiter == "," else f"{item.amount:.2f}".replace(".", ",")
        writer.writerow(
            [
                item.number,
                item.issued.isoformat(),
                item.person,
                item.company,
                item.email,
                item.phone,
                address,
                amount,
            ]
        )
    return buffer.getvalue().encode("utf-8")


def _ledger_xlsx(items: list[Invoice], mac_1904: bool) -> bytes:
    from openpyxl import Workbook
    from openpyxl.utils.datetime import CALENDAR_MAC_1904
    from openpyxl.writer.excel import ExcelWriter

    workbook = Workbook()
    if mac_1904:
        workbook.epoch = CALENDAR_MAC_1904
    workbook.properties.creator = "nerloop samples"
    workbook.properties.created = workbook.properties.modified = FIXED_TIME

    q1 = workbook.active
    q1.title = "Q1"
    q1.append(["Ledger Q1 2024 - Northwind Holdings"])
    q1.merge_cells("A1:F1")
    q1.append(["Date", "Region", "Customer", "Company", "Contact", None, "Amount"])
    q1.merge_cells("E2:F2")
    for i, item in enumerate(items[:4]):
        region = "North America" if i == 0 else None
        q1.append([item.issued, region, item.person, item.company, item.email, item.phone, item.amount])
    q1.merge_cells("B3:B6")
    for row in q1.iter_rows(min_row=3, max_col=1):
        row[0].number_format = "yyyy-mm-dd"

    vendors = workbook.create_sheet("Vendors")
    vendors.append(["Vendor", "City", "Since", "Product"])
    for item in items[4:]:
        vendors.append(
            [item.company, item.city, datetime(item.issued.year, item.issued.month, 1), item.product]
        )
    vendors.append([])
    vendors.append(["Acme Corporation", "Denver", date(2021, 6, 30), "Anvils"])

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    return _fixed_zip_times(buffer.getvalue())


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


def _report_pdf(items: list[Invoice]) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    lead = items[0]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, invariant=1, title="Quarterly report", author="nerloop samples"
    )
    table = Table(
        [["Invoice", "Date", "Customer", "Company", "Amount"]]
        + [[i.number, i.issued.isoformat(), i.person, i.company, f"${i.amount:,.2f}"] for i in items[:4]],
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
            Paragraph("Quarterly report", styles["Title"]),
            Paragraph(
                f"On {lead.issued:%B %d, %Y}, {lead.person} of {lead.company} met our team in "
                f"{lead.city} and signed an order worth ${lead.amount:,.2f}. Questions go to "
                f"{lead.email} or {lead.phone}.",
                styles["BodyText"],
            ),
            Spacer(1, 12),
            Paragraph(
                f"The invoices below were issued between {min(i.issued for i in items):%d %B %Y} and "
                f"{max(i.issued for i in items):%d %B %Y}.",
                styles["BodyText"],
            ),
            Spacer(1, 12),
            table,
            Spacer(1, 12),
            Paragraph("Prepared by the finance office, Northwind Holdings, Seattle.", styles["BodyText"]),
        ]
    )
    return buffer.getvalue()


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


def _notes(items: list[Invoice]) -> str:
    a, b, c = items[0], items[1], items[2]
    return (
        "\r\n\r\n".join(
            [
                f"Meeting notes — {a.issued:%d %B %Y}",
                f"{a.person} ({a.company}) called from {a.city} about invoice {a.number} "
                f"for ${a.amount:,.2f}.\r\n"
                f"Follow up by e-mail at {a.email} or phone {a.phone}.",
                f"{b.person} from {b.company} confirmed delivery to {b.street}, {b.city} "
                f"on {b.issued:%B %d, %Y}.",
                f"Zürich office: {c.person} will review the €{c.amount:,.2f} credit note with {c.company}.",
            ]
        )
        + "\r\n"
    )


def _memo(items: list[Invoice]) -> str:
    a, b = items[3], items[4]
    return (
        f"MEMO\n\nTo: {a.person} <{a.email}>\nFrom: {b.person}, {b.company}\nDate: {a.issued.isoformat()}\n\n"
        f"Please approve the payment of ${a.amount:,.2f} to {a.company} ({a.city}) before "
        f"{b.issued:%B %d, %Y}. Call {b.phone} with questions.\n\n"
        f"The {b.product.lower()} rollout in {b.city} starts next quarter.\n"
    )
