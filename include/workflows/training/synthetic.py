"""Generated gold for business documents: prose templates and extractor-shaped row records.

WNUT-17 has no DATE, MONEY, EMAIL or PHONE and no tables; this fills the gap. A template is text with
{LABEL} slots (each becomes a span of that label) and {filler} slots in lower case (reference numbers,
streets: written, never entities). Rows come from include/workflows/training/synthetic_rows.py. Titles with no
entity at all ("MEMO", "Quarterly report") are there too, so the model sees that most words are O.
"""

from __future__ import annotations

import random

from faker import Faker

from include.core.spans import Span
from include.workflows.training.dataset import LabeledText
from include.workflows.training.synthetic_rows import synthetic_row
from include.workflows.training.synthetic_values import ENTITY_VALUES, FILLERS, period

TEMPLATES: tuple[str, ...] = (
    "Invoice from {ORG} dated {DATE} for {MONEY}.",
    "Please pay {MONEY} to {ORG} by {DATE}.",
    "{PERSON} signed the contract with {ORG} in {LOCATION} on {DATE}.",
    "Contact {PERSON} at {EMAIL} or call {PHONE}.",
    "For questions email {EMAIL} or phone {PHONE} before {DATE}.",
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
    "{PERSON} ({ORG}) asked about order {ref} for {MONEY}.",
    "Credit note {ref} of {MONEY} was sent to {ORG} on {DATE}.",
    "Goods were delivered to {street}, {LOCATION} on {DATE}.",
    "{PERSON} of {ORG} visited our site in {LOCATION} and ordered {PRODUCT} worth {MONEY}.",
    "Reach {PERSON} by e-mail at {EMAIL} or by phone on {PHONE}.",
    "Invoice {ref} ({MONEY}) is overdue; {PERSON} will call {ORG} today.",
    "Minutes — {DATE}",
    "Call report, {DATE}",
    "From: {PERSON} <{EMAIL}>\nTo: {PERSON}, {ORG}\nSubject: order {ref}",
    "Attendees: {PERSON}, {PERSON} ({ORG}) and {PERSON}.",
    "Sent: {DATE}\nFrom: {PERSON}, {ORG}\nPhone: {PHONE}",
    "The audit covers payments made between {DATE} and {DATE}.",
    "Our {LOCATION} team will present {PRODUCT} to {ORG} next month.",
    "Pilot of {PRODUCT} with {ORG} starts in {LOCATION} on {DATE}.",
    "Customers in {LOCATION} asked for {PRODUCT}.",
    "Billing address: {street}, {LOCATION}. Account {ref}.",
    "{LOCATION} branch: {PERSON} will settle the {MONEY} dispute with {ORG}.",
    "Issued by the accounts team of {ORG}, {LOCATION}.",
    "{PERSON} confirmed receipt of {MONEY} from {ORG} ({LOCATION}).",
    "{title} {PERIOD} - {ORG}",
    "{title} - {ORG} - {PERIOD}",
    "{title} {PERIOD}",
    "Prepared by {ORG}, {LOCATION}.",
    "Compiled by the {title} team of {ORG} in {LOCATION}.",
    "{ORG} sales by region, {PERIOD}",
    "Expenses {PERIOD} ({ORG})",
    "Payment reminder for {ref}: {MONEY} due {DATE}. Questions: {EMAIL}.",
    "Pick-up at {street}, {LOCATION}; contact {PERSON}, {PHONE}.",
    "MEMO",
    "Quarterly report",
    "Receipt",
    "Confidential",
    "Summary of open invoices",
    "Action items",
    "Please find the signed agreement attached.",
    "Thank you for your business.",
)

ROW_SHARE = 0.5
"""Part of the generated texts that are row records (the rest are prose from TEMPLATES)."""


def fill(template: str, fake: Faker, rng: random.Random, source: str = "") -> LabeledText:
    """One text from a template, with exact spans for every {LABEL} slot ({PERIOD} is a DATE)."""
    text = ""
    spans: list[Span] = []
    rest = template
    while "{" in rest:
        before, _, after = rest.partition("{")
        slot, _, rest = after.partition("}")
        text += before
        if slot in FILLERS:
            text += FILLERS[slot](fake, rng)
            continue
        label = "DATE" if slot == "PERIOD" else slot
        value = period(fake, rng) if slot == "PERIOD" else ENTITY_VALUES[label](fake, rng)
        spans.append(Span(start=len(text), end=len(text) + len(value), label=label, text=value))
        text += value
    return LabeledText(text + rest, tuple(spans), source)


def synthetic_gold(count: int, seed: int = 0, row_share: float = ROW_SHARE) -> list[LabeledText]:
    """`count` generated texts (about `row_share` of them row records), the same for the same seed."""
    rng = random.Random(seed)
    fake = Faker(["en_US", "en_GB"])
    fake.seed_instance(seed)
    texts = []
    for i in range(count):
        source = f"synthetic#{seed}/{i}"
        if rng.random() < row_share:
            text, spans = synthetic_row(fake, rng)
            texts.append(LabeledText(text, tuple(spans), source))
        else:
            texts.append(fill(rng.choice(TEMPLATES), fake, rng, source))
    return texts
