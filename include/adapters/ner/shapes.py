"""Shape rules: a predicted span whose text cannot be its label is dropped before anyone sees it.

An email address is `local@domain.tld`. An address begins with a name (`sheehy.cheryl@…`) and the
encoder's vocabulary is lower-case, so an unfamiliar word on its own (`Sheehy, Cheryl`, a product called
`Tussock`, a column header) sometimes comes out as EMAIL, and so does a social-media handle (`@jsmith`);
no SME should have to delete those, and the nightly gate should not count them as the model forgetting
EMAIL. An amount is a number with at most a currency: besides digits and separators it holds only
currency symbols, codes (`NZ$`, `AUD`, `C$`) and money or number words (`12k dollars`, `ten euros`); a
fine-tuned model's MONEY on a product with a number (`Tussock Kiln 300`) is dropped. Labels without a rule
pass unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from include.core.spans import Span

_ADDRESS = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
_WORD = re.compile(r"[^\W\d_]+")
_NUMBER_WORDS = frozenset(
    {"a", "an", "and", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}
    | {"eleven", "twelve", "fifteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty"}
    | {"ninety", "hundred", "hundreds", "thousand", "thousands", "million", "millions", "billion"}
    | {"billions", "trillion", "k", "m", "mn", "mm", "bn", "mio", "mrd"}
)
_CURRENCY_WORDS = frozenset(
    {"dollar", "dollars", "euro", "euros", "eur", "pound", "pounds", "sterling", "yen", "yuan", "renminbi"}
    | {"rupee", "rupees", "franc", "francs", "krona", "kronor", "krone", "kroner", "kr", "peso", "pesos"}
    | {"rand", "real", "reais", "rs", "rp", "fr", "cent", "cents", "pence", "penny", "buck", "bucks", "grand"}
    | {"usd", "gbp", "chf", "cad", "aud", "nzd", "jpy", "cny", "inr", "sek", "nok", "dkk"}
)


def _amount(text: str) -> bool:
    words = [w.lower() for w in _WORD.findall(text) if not (w.isupper() and len(w) <= 3)]
    if any(w not in _NUMBER_WORDS and w not in _CURRENCY_WORDS for w in words):
        return False
    return any(c.isdigit() for c in text) or any(w in _CURRENCY_WORDS for w in words)


RULES: dict[str, Callable[[str], bool]] = {
    "EMAIL": lambda text: _ADDRESS.search(text) is not None,
    "MONEY": _amount,
}


def plausible(spans: Sequence[Span]) -> list[Span]:
    """The spans whose text fits their label's shape rule."""
    return [s for s in spans if (rule := RULES.get(s.label)) is None or rule(s.text)]
