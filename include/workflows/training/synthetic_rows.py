"""Synthetic row records shaped like the extractor's: `column: value | column: value`, with gold spans.

A row is rendered by the project's one row normalizer (include/adapters/extract/rows.row_text), so column-name
rules (unique names, `column_N` for blanks, `Contact_2` for repeats) and separators are exactly what
SMEs see. Column names, reference numbers, streets, quantities, statuses and currency codes are O;
the values of person, company, place, date, amount, email, phone and product columns are entities
(an address cell's city is LOCATION, its street O; a bare number in an amount column is MONEY).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from faker import Faker

from include.adapters.extract.rows import row_text
from include.core.spans import Span
from include.workflows.training import synthetic_values as v

# A cell value as parts: plain text (O) or (label, text).
Parts = list[str | tuple[str, str]]


@dataclass(frozen=True)
class Column:
    """A kind of column: the names tables give it, and how its values are written."""

    names: tuple[str, ...]
    value: Callable[[Faker, random.Random], Parts]
    weight: float = 1.0


def _entity(label: str, generate: v.Generator) -> Callable[[Faker, random.Random], Parts]:
    return lambda fake, rng: [(label, generate(fake, rng))]


def _plain(generate: Callable[[Faker, random.Random], str]) -> Callable[[Faker, random.Random], Parts]:
    return lambda fake, rng: [generate(fake, rng)]


def _address(fake: Faker, rng: random.Random) -> Parts:
    street = fake.street_address()
    shape = rng.random()
    if shape < 0.2:
        return [street]
    if shape < 0.45:
        return [street, " ", ("LOCATION", v.city(fake, rng))]  # a line break, collapsed by the reader
    if shape < 0.85:
        return [street, ", ", ("LOCATION", v.city(fake, rng))]
    return [street, ", ", ("LOCATION", v.city(fake, rng)), f", {fake.state_abbr()} {fake.postcode()}"]


def _amount(fake: Faker, rng: random.Random) -> Parts:
    return [("MONEY", v.bare_amount(fake, rng) if rng.random() < 0.65 else v.money(fake, rng))]


def _date(fake: Faker, rng: random.Random) -> Parts:
    return [("DATE", v.iso_day(fake, rng) if rng.random() < 0.6 else v.any_date(fake, rng))]


def _region(fake: Faker, rng: random.Random) -> Parts:
    return [("LOCATION", rng.choice([fake.country(), fake.state(), v.location(fake, rng)]))]


COLUMNS: tuple[Column, ...] = (
    Column(
        (
            "Invoice",
            "Invoice No",
            "Invoice #",
            "Order",
            "Order ID",
            "Reference",
            "Ref",
            "PO Number",
            "Ticket",
        ),
        _plain(v.reference),
        1.5,
    ),
    Column(
        (
            "Date",
            "Issued",
            "Invoice Date",
            "Due",
            "Due Date",
            "Since",
            "Created",
            "Order Date",
            "Signed",
            "Paid On",
        ),
        _date,
        2.0,
    ),
    Column(
        (
            "Contact",
            "Customer",
            "Name",
            "Client",
            "Sales Rep",
            "Account Manager",
            "Buyer",
            "Approved By",
            "Owner",
        ),
        _entity("PERSON", v.person),
        2.0,
    ),
    Column(
        (
            "Company",
            "Vendor",
            "Supplier",
            "Customer",
            "Client",
            "Organization",
            "Payee",
            "Partner",
            "Account",
        ),
        _entity("ORG", v.org),
        2.0,
    ),
    Column(
        ("Email", "E-mail", "Email Address", "Contact", "Contact Email", "Mail"),
        _entity("EMAIL", v.email),
        1.5,
    ),
    Column(
        ("Phone", "Tel", "Telephone", "Mobile", "Contact", "Fax", "Phone Number"),
        _entity("PHONE", v.phone),
        1.5,
    ),
    Column(("Address", "Street", "Billing Address", "Ship To", "Delivery Address"), _address, 1.2),
    Column(("City", "Location", "Office", "Branch", "Town", "Destination"), _entity("LOCATION", v.city), 1.2),
    Column(("Region", "Country", "Territory", "Market", "State"), _region, 0.8),
    Column(
        (
            "Amount",
            "Amount (USD)",
            "Amount (EUR)",
            "Total",
            "Total (GBP)",
            "Price",
            "Balance",
            "Net",
            "Amount Due",
        ),
        _amount,
        2.0,
    ),
    Column(
        ("Product", "Item", "Description", "Service", "Model", "Plan"), _entity("PRODUCT", v.product), 1.0
    ),
    Column(("Qty", "Quantity", "Units", "Seats"), _plain(lambda f, r: str(r.randint(1, 500))), 0.6),
    Column(
        ("Status", "Stage", "Approval"),
        _plain(
            lambda f, r: r.choice(["Paid", "Open", "Overdue", "Draft", "Approved", "Pending", "Cancelled"])
        ),
        0.6,
    ),
    Column(("Tax", "VAT %", "Discount", "Margin", "Rate"), _plain(lambda f, r: f"{r.randint(0, 30)}%"), 0.5),
    Column(("Currency", "Ccy"), _plain(lambda f, r: r.choice(["USD", "EUR", "GBP", "CHF", "CAD"])), 0.5),
    Column(("SKU", "Code", "Item Code", "Part No"), _plain(lambda f, r: f.bothify("??-####").upper()), 0.5),
    Column(("Notes", "Comment", "Remarks"), _plain(lambda f, r: f.bs().capitalize()), 0.4),
    Column(("Paid", "Active", "Approved"), _plain(lambda f, r: r.choice(["true", "false"])), 0.3),
)


def _header(name: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.06:
        return name.upper()
    if roll < 0.1:
        return name.lower().replace(" ", "_")
    if roll < 0.12:
        return ""  # a blank header: the reader names it column_N
    return name


def synthetic_row(fake: Faker, rng: random.Random) -> tuple[str, list[Span]]:
    """One row text with 3-9 columns and its gold spans."""
    count = rng.randint(3, 9)
    chosen: list[Column] = []
    pool = list(COLUMNS)
    while len(chosen) < count:
        column = rng.choices(pool, weights=[c.weight for c in pool])[0]
        pool.remove(column)
        chosen.append(column)
    rng.shuffle(chosen)
    cells = [(_header(rng.choice(c.names), rng), c.value(fake, rng)) for c in chosen]
    text, columns = row_text(
        [(name, "".join(p if isinstance(p, str) else p[1] for p in parts)) for name, parts in cells]
    )
    spans: list[Span] = []
    for (_, parts), (start, _) in zip(cells, columns.values(), strict=True):
        offset = start
        for part in parts:
            value = part if isinstance(part, str) else part[1]
            if not isinstance(part, str):
                spans.append(Span(start=offset, end=offset + len(value), label=part[0], text=value))
            offset += len(value)
    return text, spans
