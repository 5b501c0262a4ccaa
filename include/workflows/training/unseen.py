"""The bootstrap's held-out set: records from writers the training generators do not share.

The training generators (include/workflows/training/synthetic*.py) and the demo's samples write one family of
texts; a score on more of the same says little about real documents. These writers have their own
column headers, prose templates, value formats and Faker locales (Australian, Irish, New Zealand,
Canadian English; training uses US and British), and nothing here is imported from the training
generators. Rows are rendered by the product's row normalizer (include/adapters/extract/rows.row_text), as the
extractor renders a table row. tests/unit/test_training_unseen.py checks that no header or template
string of this module occurs in the training generators.

The nightly gate scores the candidate and the model in service on this set per label, so a label the
SMEs have not corrected yet cannot be forgotten unnoticed (include/workflows/training/nightly.py).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from faker import Faker

from include.adapters.extract.rows import row_text
from include.core.spans import Span
from include.workflows.training.dataset import LabeledText

LOCALES = ("en_AU", "en_IE", "en_NZ", "en_CA")
UNSEEN_SEED = 8101
UNSEEN_COUNT = 400
DATE_FORMATS = ("%d-%b-%Y", "%A %d %B %Y", "%d %b. %Y", "%Y/%m/%d")

Value = Callable[[Faker, random.Random], str]


def _person(fake: Faker, rng: random.Random) -> str:
    first, last = fake.first_name(), fake.last_name()
    return rng.choice((f"{first} {last}", f"{last}, {first}", f"{first[0]}. {last}"))


def _org(fake: Faker, rng: random.Random) -> str:
    base = fake.last_name()
    return rng.choice(
        (f"{base} Pty Ltd", f"{base} & {fake.last_name()}", f"{base} Holdings Ltd", fake.company())
    )


def _place(fake: Faker, rng: random.Random) -> str:
    return fake.city()


def _day(fake: Faker, rng: random.Random) -> str:
    when = fake.date_between(start_date="-6y", end_date="+1y")
    return when.strftime(rng.choice(DATE_FORMATS))


def _amount(fake: Faker, rng: random.Random) -> str:
    value = rng.uniform(15, 250_000)
    return rng.choice((f"AUD {value:,.2f}", f"NZ${value:,.0f}", f"{value:,.2f} EUR", f"C${value:,.2f}"))


def _mail(fake: Faker, rng: random.Random) -> str:
    return f"{fake.user_name()}@{fake.domain_name()}"


def _phone(fake: Faker, rng: random.Random) -> str:
    return fake.phone_number()


def _goods(fake: Faker, rng: random.Random) -> str:
    return (
        rng.choice(("Kestrel", "Quokka", "Tussock", "Harbourline", "Fernleaf", "Moa"))
        + " "
        + rng.choice(("Router X2", "Ledger Suite", "Kiln 300", "Drone Kit", "Sensor Pack", "Desk Lamp"))
    )


VALUES: dict[str, Value] = {
    "PERSON": _person,
    "ORG": _org,
    "LOCATION": _place,
    "DATE": _day,
    "MONEY": _amount,
    "EMAIL": _mail,
    "PHONE": _phone,
    "PRODUCT": _goods,
}

# Column headers by label (None: a column that holds no entity); none of them is a training header.
HEADERS: dict[str | None, tuple[str, ...]] = {
    "PERSON": ("Remitter", "Signatory", "Point of Contact", "Handled By"),
    "ORG": ("Trading Entity", "Beneficiary Firm", "Counterparty"),
    "LOCATION": ("Dispatch Hub", "Suburb", "Head Office Town"),
    "DATE": ("Settlement Day", "Lodged", "Valid Until"),
    "MONEY": ("Gross Payable", "Consideration", "Outlay"),
    "EMAIL": ("Inbox", "Reply-To"),
    "PHONE": ("Hotline", "Landline"),
    "PRODUCT": ("Article", "Line Item"),
    None: ("Batch", "Docket", "Priority"),
}

# Prose with {LABEL} slots; none of these sentences is a training template.
TEMPLATES: tuple[str, ...] = (
    "{PERSON} lodged a claim against {ORG} in {LOCATION} worth {MONEY}.",
    "Kindly remit {MONEY} before {DATE}; queries go to {EMAIL}.",
    "Our {LOCATION} depot dispatched {PRODUCT} for {ORG} on {DATE}.",
    "Ring {PERSON} on {PHONE} regarding the outstanding consideration.",
    "Board minutes: {PERSON} tabled the {ORG} tender ({MONEY}).",
    "Courier collected the {PRODUCT} from {LOCATION} at dawn.",
    "Tender closes {DATE}. Direct enquiries to {PERSON} ({EMAIL}).",
    "{ORG} has appointed {PERSON} as liquidator effective {DATE}.",
    "Afterhours line: {PHONE}. Depot: {LOCATION}.",
    "Stocktake found 12 units of {PRODUCT} missing at {ORG}.",
    "Remittance advice: {MONEY} credited by {ORG}.",
    "Witnessed at {LOCATION} this {DATE} by {PERSON}.",
    "No further correspondence will be entered into.",
    "Schedule B - terms of engagement",
)


def _slot_text(template: str, fake: Faker, rng: random.Random) -> tuple[str, list[Span]]:
    text, spans, rest = "", [], template
    while "{" in rest:
        before, _, after = rest.partition("{")
        label, _, rest = after.partition("}")
        text += before
        value = VALUES[label](fake, rng)
        spans.append(Span(start=len(text), end=len(text) + len(value), label=label, text=value))
        text += value
    return text + rest, spans


def _row(fake: Faker, rng: random.Random) -> tuple[str, list[Span]]:
    kinds = rng.sample(list(HEADERS), rng.randint(3, 6))
    cells: list[tuple[str, str, str | None]] = []
    for kind in kinds:
        header = rng.choice(HEADERS[kind])
        value = VALUES[kind](fake, rng) if kind else rng.choice(("B-77", "Urgent", "D/4411", "Routine"))
        cells.append((header, value, kind))
    text, columns = row_text([(header, value) for header, value, _ in cells])
    spans = [
        Span(start=start, end=end, label=kind, text=text[start:end])
        for (_, _, kind), (start, end) in zip(cells, columns.values(), strict=True)
        if kind
    ]
    return text, spans


def unseen_gold(
    count: int = UNSEEN_COUNT, seed: int = UNSEEN_SEED, row_share: float = 0.5
) -> list[LabeledText]:
    """`count` held-out texts (about `row_share` of them rows), the same for the same seed."""
    rng = random.Random(seed)
    fake = Faker(list(LOCALES))
    fake.seed_instance(seed)
    out = []
    for i in range(count):
        if rng.random() < row_share:
            text, spans = _row(fake, rng)
        else:
            text, spans = _slot_text(rng.choice(TEMPLATES), fake, rng)
        out.append(LabeledText(text, tuple(spans), f"unseen#{seed}/{i}"))
    return out
