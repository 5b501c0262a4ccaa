"""Generated values for synthetic gold: one generator per entity label, and fillers that are not entities.

Realistic variety over memorised strings: Faker names, companies, cities and addresses in several
shapes, dates and amounts in the formats business documents and spreadsheets show (ISO dates, bare
amounts as a table cell renders them). No value here is taken from the held-out documents
(devstack/heldout.py): their fixed names ("Northwind Holdings", "North America", "Acme Corporation",
"Seattle", "Denver", "Zürich", "Anvils") are left out on purpose, so a score on them measures
generalisation.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date

from faker import Faker

Generator = Callable[[Faker, random.Random], str]

_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d",
    "%B %d, %Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d %b %Y",
    "%d/%m/%Y",
)
_REGIONS = (
    "South America",
    "Latin America",
    "Western Europe",
    "Eastern Europe",
    "Asia Pacific",
    "Middle East",
    "Southeast Asia",
    "Central Europe",
    "Scandinavia",
    "New England",
    "the Midwest",
    "West Africa",
    "Northern Europe",
    "South Asia",
)
_CITIES = (
    "Boston",
    "Chicago",
    "Toronto",
    "London",
    "Manchester",
    "Dublin",
    "Paris",
    "Lyon",
    "Berlin",
    "Munich",
    "Hamburg",
    "Vienna",
    "Geneva",
    "Milan",
    "Madrid",
    "Lisbon",
    "Amsterdam",
    "Oslo",
    "Helsinki",
    "Warsaw",
    "Prague",
    "Singapore",
    "Sydney",
    "Melbourne",
    "Austin",
    "Portland",
    "São Paulo",
    "Montréal",
    "Düsseldorf",
    "Kraków",
    "Málaga",
)
_PRODUCT_NOUNS = (
    "Router",
    "Laptop Stand",
    "Desk Lamp",
    "Coffee Maker",
    "Printer",
    "Headset",
    "Monitor",
    "Drill",
    "Backpack",
    "Tablet",
    "Scanner",
    "Keyboard",
    "Water Filter",
    "Safety Gloves",
    "Server Rack",
    "Label Printer",
)
_PRODUCT_BRANDS = (
    "Nimbus",
    "Orion",
    "Vertex",
    "Apex",
    "Zephyr",
    "Quanta",
    "Helix",
    "Lumen",
    "Stratus",
    "Pico",
)
_ORG_WORDS = (
    "Blue Ridge",
    "Summit",
    "Harbor",
    "Eastwood",
    "Redwood",
    "Silver Lake",
    "Granite",
    "Pinecrest",
    "Meridian",
    "Oakfield",
    "Riverside",
    "Lakeshore",
    "Bright Path",
    "Cedar",
    "Ironbridge",
    "Westgate",
)
_ORG_SUFFIXES = (
    "Holdings",
    "Partners",
    "Industries",
    "Systems",
    "Logistics",
    "Capital",
    "Trading",
    "Foods",
    "Labs",
    "Corporation",
    "Corp.",
    "Co.",
    "GmbH",
    "AG",
    "S.A.",
    "Group",
    "Consulting",
)
_SYMBOLS = ("$", "€", "£", "US$", "CHF ", "¥")
_CODES = ("USD", "EUR", "GBP", "CHF", "CAD", "AUD", "JPY", "SEK")


def _amount(rng: random.Random) -> float:
    return round(rng.choice([rng.uniform(5, 999), rng.uniform(1000, 250_000)]), 2)


def bare_amount(fake: Faker, rng: random.Random) -> str:
    """An amount as a spreadsheet or CSV cell shows it: 10208.71, 2643,97, 13261.7, 15000."""
    amount = _amount(rng)
    text = rng.choice([f"{amount:.2f}", f"{amount:.2f}", repr(amount), f"{int(amount)}", f"{amount:,.2f}"])
    return text.replace(".", ",") if rng.random() < 0.2 and "," not in text else text


def money(fake: Faker, rng: random.Random) -> str:
    """An amount with a currency: $1,234.56, €980.00, USD 5,000, 1.234,56 EUR, 12k dollars."""
    amount = _amount(rng)
    number = rng.choice([f"{amount:,.2f}", f"{amount:,.2f}", f"{int(amount):,}", f"{amount:.2f}"])
    if rng.random() < 0.1:
        number = number.replace(",", " ").replace(".", ",")
    symbol, code = rng.choice(_SYMBOLS), rng.choice(_CODES)
    return rng.choice([f"{symbol}{number}", f"{symbol}{number}", f"{code} {number}", f"{number} {code}"])


def any_money(fake: Faker, rng: random.Random) -> str:
    return money(fake, rng) if rng.random() < 0.7 else bare_amount(fake, rng)


def day(fake: Faker, rng: random.Random) -> str:
    when = fake.date_between(date(2015, 1, 1), date(2029, 12, 31))
    return when.strftime(rng.choice(_DATE_FORMATS))


def iso_day(fake: Faker, rng: random.Random) -> str:
    return fake.date_between(date(2015, 1, 1), date(2029, 12, 31)).isoformat()


def period(fake: Faker, rng: random.Random) -> str:
    """A named period: Q3 2023, FY2022, March 2024, H1 2025."""
    year = rng.randint(2015, 2029)
    return rng.choice(
        [
            f"Q{rng.randint(1, 4)} {year}",
            f"FY{year}",
            f"{fake.month_name()} {year}",
            f"H{rng.randint(1, 2)} {year}",
        ]
    )


def any_date(fake: Faker, rng: random.Random) -> str:
    return period(fake, rng) if rng.random() < 0.1 else day(fake, rng)


def phone(fake: Faker, rng: random.Random) -> str:
    """Phone numbers in North American, international and dotted shapes."""
    shapes = [
        lambda: fake.phone_number(),
        lambda: fake.numerify("+1-###-###-####"),
        lambda: fake.numerify("(###) ###-####"),
        lambda: fake.numerify("###.###.####"),
        lambda: fake.numerify(f"+{rng.choice(['44', '49', '33', '41', '61', '31'])} ## #### ####"),
        lambda: fake.numerify("+## (0)## ### ####"),
    ]
    return rng.choice(shapes)()


def person(fake: Faker, rng: random.Random) -> str:
    return rng.choice([fake.name(), fake.name(), f"{fake.first_name()} {fake.last_name()}"])


def org(fake: Faker, rng: random.Random) -> str:
    """Faker's companies (Smith LLC, Lee-Moore, Ford, Hale and Cox) and name + suffix ones."""
    if rng.random() < 0.7:
        return fake.company()
    word = rng.choice([*_ORG_WORDS, fake.last_name(), fake.city()])
    return f"{word} {rng.choice(_ORG_SUFFIXES)}"


def email(fake: Faker, rng: random.Random) -> str:
    return rng.choice([fake.email(), fake.company_email(), fake.free_email()])


def city(fake: Faker, rng: random.Random) -> str:
    return rng.choice([fake.city(), fake.city(), rng.choice(_CITIES)])


def location(fake: Faker, rng: random.Random) -> str:
    return rng.choice([city(fake, rng), city(fake, rng), fake.country(), rng.choice(_REGIONS), fake.state()])


def product(fake: Faker, rng: random.Random) -> str:
    """Product names: a catch phrase as Faker's catalogues write it (any case), or brand + model."""
    shapes = [
        lambda: fake.catch_phrase(),
        lambda: fake.catch_phrase().lower(),
        lambda: f"{rng.choice(_PRODUCT_BRANDS)} {rng.choice(_PRODUCT_NOUNS)}",
        lambda: f"{rng.choice(_PRODUCT_BRANDS)} {rng.choice(_PRODUCT_NOUNS)} {rng.randint(2, 9)}00",
    ]
    return rng.choice(shapes)()


ENTITY_VALUES: dict[str, Generator] = {
    "PERSON": person,
    "ORG": org,
    "LOCATION": location,
    "DATE": any_date,
    "MONEY": money,
    "EMAIL": email,
    "PHONE": phone,
    "PRODUCT": product,
}


# Not entities: they look like codes, numbers or places but are O.
def reference(fake: Faker, rng: random.Random) -> str:
    """Invoice, order and ticket numbers: INV-2023104, PO-2024-0042, ORD7781, #10234, A-55120."""
    n = rng.randint(1, 99_999)
    year = rng.randint(2015, 2029)
    prefix = rng.choice(["INV", "PO", "ORD", "SO", "REF", "CN", "TKT", "Q", "BILL"])
    return rng.choice(
        [
            f"{prefix}-{year}{n % 1000:03d}",
            f"{prefix}-{year}-{n:04d}",
            f"{prefix}{n}",
            f"#{n}",
            f"{rng.choice('ABCDX')}-{n:05d}",
            f"{year}/{n:04d}",
        ]
    )


def street(fake: Faker, rng: random.Random) -> str:
    return fake.street_address()


_TITLES = (
    "Ledger",
    "Journal",
    "Statement",
    "Payables",
    "Receivables",
    "Budget",
    "Forecast",
    "Sales",
    "Expenses",
    "Inventory",
    "Payroll",
    "Treasury",
)


def title(fake: Faker, rng: random.Random) -> str:
    """An accounting word that heads a sheet or report: Ledger, Budget, Payables."""
    return rng.choice(_TITLES)


FILLERS: dict[str, Generator] = {"ref": reference, "street": street, "title": title}
