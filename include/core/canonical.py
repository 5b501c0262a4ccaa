"""Canonical fields: span values normalized for analytics (ISO dates, amount + currency, E.164, ...)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from include.core.spans import Span

_CURRENCY_SYMBOLS = {
    "$": "USD",
    "US$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "₩": "KRW",
    "CHF": "CHF",
    "C$": "CAD",
    "A$": "AUD",
    "R$": "BRL",
    "kr": "SEK",
    "zł": "PLN",
}
_ISO_CURRENCY = re.compile(r"\b([A-Z]{3})\b")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Unparsed(ValueError):
    """The span's text does not parse as its field kind."""


def _date(raw: str, _: str) -> dict[str, Any]:
    import dateparser

    parsed = dateparser.parse(
        raw,
        languages=["en"],
        settings={"PREFER_DAY_OF_MONTH": "first", "RETURN_AS_TIMEZONE_AWARE": False, "STRICT_PARSING": False},
    )
    if parsed is None:
        raise Unparsed("not a date")
    return {"value": parsed.date().isoformat()}


def _money(raw: str, _: str) -> dict[str, Any]:
    from price_parser import Price

    price = Price.fromstring(raw)
    if price.amount is None:
        raise Unparsed("no amount")
    code = None
    if price.currency:
        code = _CURRENCY_SYMBOLS.get(price.currency.strip()) or (
            price.currency.strip().upper()
            if _ISO_CURRENCY.fullmatch(price.currency.strip().upper())
            else None
        )
    if code is None:
        m = _ISO_CURRENCY.search(raw.upper())
        code = m.group(1) if m else None
    return {"amount": str(price.amount), "currency": code}


def _phone(raw: str, region: str) -> dict[str, Any]:
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise Unparsed(str(exc)) from exc
    if not phonenumbers.is_possible_number(number):
        raise Unparsed("not a possible phone number")
    return {"value": phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)}


def _email(raw: str, _: str) -> dict[str, Any]:
    value = raw.strip().strip("<>").lower()
    if not _EMAIL.match(value):
        raise Unparsed("not an email address")
    return {"value": value}


def _name(raw: str, _: str) -> dict[str, Any]:
    value = " ".join(raw.split())
    if not value:
        raise Unparsed("empty")
    return {"value": value}


NORMALIZERS: dict[str, Callable[[str, str], dict[str, Any]]] = {
    "date": _date,
    "money": _money,
    "phone": _phone,
    "email": _email,
    "name": _name,
    "organisation": _name,
}


def canonical_fields(
    spans: Sequence[Span], field_map: Mapping[str, str], *, phone_region: str = "US"
) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Canonical values grouped by field kind, and flags for the values that did not parse.

    Labels absent from `field_map` are left out. An unparsed value keeps its raw text with an error.
    """
    fields: dict[str, list[dict[str, Any]]] = {}
    flags: list[str] = []
    for span in spans:
        kind = field_map.get(span.label)
        if kind is None or kind not in NORMALIZERS:
            continue
        entry: dict[str, Any] = {"raw": span.text, "label": span.label, "start": span.start, "end": span.end}
        try:
            entry.update(_cached(kind, span.text, phone_region))
        except Unparsed as exc:
            entry["error"] = str(exc)
            flags.append(f"canonical_unparsed:{kind}:{span.start}-{span.end}")
        fields.setdefault(kind, []).append(entry)
    return fields, flags


@lru_cache(maxsize=4096)
def _cached_tuple(kind: str, raw: str, region: str) -> tuple[tuple[str, Any], ...]:
    return tuple(NORMALIZERS[kind](raw, region).items())


def _cached(kind: str, raw: str, region: str) -> dict[str, Any]:
    return dict(_cached_tuple(kind, raw, region))


def warm_up() -> None:
    """Import and exercise the parsers once: dateparser's first call costs ~1 s, too slow for a webhook."""
    for kind, sample in (("date", "March 1, 2024"), ("money", "$1.00"), ("phone", "+1 415 555 0132")):
        with contextlib.suppress(Unparsed):
            _cached(kind, sample, "US")
