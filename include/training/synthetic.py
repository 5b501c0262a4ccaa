"""Faker-generated gold for labels WNUT-17 lacks (DATE, MONEY, EMAIL, PHONE), in business-text templates."""

from __future__ import annotations

import random
from collections.abc import Callable

from faker import Faker

from include.spans import Span
from include.training.dataset import LabeledText

# A template is text with {LABEL} slots; every slot becomes a span of that label.
TEMPLATES: tuple[str, ...] = (
    "Invoice from {ORG} dated {DATE} for {MONEY}.",
    "Please pay {MONEY} to {ORG} by {DATE}.",
    "{PERSON} signed the contract with {ORG} in {LOCATION} on {DATE}.",
    "Contact {PERSON} at {EMAIL} or call {PHONE}.",
    "For questions email {EMAIL} or phone {PHONE} before {DATE}.",
    "name: {PERSON} | email: {EMAIL} | phone: {PHONE} | city: {LOCATION}",
    "customer: {ORG} | amount: {MONEY} | due: {DATE}",
    "date: {DATE} | vendor: {ORG} | total: {MONEY} | contact: {EMAIL}",
    "Meeting with {PERSON} from {ORG} moved to {DATE}.",
    "{ORG} reported revenue of {MONEY} for the quarter ending {DATE}.",
    "Our office in {LOCATION} can be reached at {PHONE}.",
    "Refund of {MONEY} issued to {PERSON} on {DATE}.",
    "Send the signed copy to {EMAIL} no later than {DATE}.",
    "{PERSON} ({EMAIL}) approved a budget of {MONEY}.",
    "Shipment to {LOCATION} for {ORG}, tel. {PHONE}, value {MONEY}.",
    "Dear {PERSON}, your balance of {MONEY} is due on {DATE}.",
    "Emergency contact: {PERSON}, {PHONE}.",
    "The lease starts {DATE} at a monthly rent of {MONEY}.",
)

_DATE_FORMATS = ("%Y-%m-%d", "%B %d, %Y", "%d %B %Y", "%b %d, %Y", "%m/%d/%Y", "%d.%m.%Y", "%d %b %Y")


def _money(fake: Faker, rng: random.Random) -> str:
    amount = rng.choice([rng.randint(5, 999), rng.randint(1000, 250_000)]) + rng.choice([0, rng.random()])
    number = f"{amount:,.2f}" if rng.random() < 0.6 else f"{int(amount):,}"
    return rng.choice(
        [f"${number}", f"USD {number}", f"{number} EUR", f"€{number}", f"£{number}", f"{number} dollars"]
    )


def _phone(fake: Faker, rng: random.Random) -> str:
    if rng.random() < 0.6:
        return fake.phone_number()
    groups = (rng.randint(20, 999), rng.randint(100, 999), rng.randint(1000, 9999))
    return f"+{rng.choice([1, 44, 49, 33, 61])} " + " ".join(map(str, groups))


def _location(fake: Faker, rng: random.Random) -> str:
    return rng.choice([fake.city(), fake.country(), f"{fake.city()}, {fake.country()}"])


GENERATORS: dict[str, Callable[[Faker, random.Random], str]] = {
    "PERSON": lambda f, r: r.choice([f.name(), f"{f.first_name()} {f.last_name()}"]),
    "ORG": lambda f, r: f.company(),
    "LOCATION": _location,
    "DATE": lambda f, r: f.date_between("-5y", "+2y").strftime(r.choice(_DATE_FORMATS)),
    "MONEY": _money,
    "EMAIL": lambda f, r: r.choice([f.email(), f.company_email()]),
    "PHONE": _phone,
}


def fill(template: str, fake: Faker, rng: random.Random, source: str = "") -> LabeledText:
    """One text from a template, with exact spans for every slot."""
    text = ""
    spans: list[Span] = []
    rest = template
    while "{" in rest:
        before, _, after = rest.partition("{")
        label, _, rest = after.partition("}")
        text += before
        value = GENERATORS[label](fake, rng)
        spans.append(Span(start=len(text), end=len(text) + len(value), label=label, text=value))
        text += value
    return LabeledText(text + rest, tuple(spans), source)


def synthetic_gold(count: int, seed: int = 0) -> list[LabeledText]:
    """`count` generated texts, the same for the same seed."""
    rng = random.Random(seed)
    fake = Faker(["en_US", "en_GB"])
    fake.seed_instance(seed)
    return [fill(rng.choice(TEMPLATES), fake, rng, source=f"synthetic#{seed}/{i}") for i in range(count)]
