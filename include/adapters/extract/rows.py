"""The one row normalizer: a table row rendered as row text, with each column's value range kept."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal

SEPARATOR = " | "
NAME_VALUE = ": "


def normalize_value(value: object) -> str:
    """A cell value as one line of text: whitespace collapsed, ISO 8601 dates, integral floats as ints.

    Missing values (None, NaN, NaT, blank strings) give "". A datetime at exactly midnight without a
    time zone renders as a date, which is how spreadsheets store dates. A duration renders as a
    spreadsheet's elapsed-time format `[h]:mm:ss` shows it (see `duration_text`).
    """
    if value is None or _is_missing(value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None and value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return duration_text(value)
    if isinstance(value, float):
        return _number_text(value)
    if isinstance(value, Decimal):
        return _number_text(value) if value.is_finite() else str(value)
    return " ".join(str(value).split())


def duration_text(value: timedelta) -> str:
    """A duration as total hours, minutes and seconds, `[-]H:MM:SS[.ffffff]`: what a spreadsheet cell
    formatted `[h]:mm:ss` (elapsed time, hours not wrapped at 24) shows, with a fraction of a second
    kept when there is one (trailing zeros dropped). 10 days 15:10:10 is "255:10:10", not Python's
    "10 days, 15:10:10"."""
    sign = "-" if value < timedelta(0) else ""
    micros = abs(value) // timedelta(microseconds=1)
    seconds, fraction = divmod(micros, 1_000_000)
    hours, rest = divmod(seconds, 3600)
    text = f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{text}.{fraction:06d}".rstrip("0") if fraction else text


def _is_missing(value: object) -> bool:
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        return False


def _number_text(value: float | Decimal) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value == int(value):
        return str(int(value))
    exact = Decimal(repr(value)) if isinstance(value, float) else value
    return format(exact, "f")


def unique_names(names: Iterable[object]) -> list[str]:
    """Column names made unique and non-blank: a blank name at position i becomes `column_i`
    (1-based), a repeated name gets `_2`, `_3`, ... in order of appearance."""
    result: list[str] = []
    seen: set[str] = set()
    for position, raw in enumerate(names, start=1):
        base = normalize_value(raw) or f"column_{position}"
        name, n = base, 1
        while name in seen:
            n += 1
            name = f"{base}_{n}"
        seen.add(name)
        result.append(name)
    return result


def row_text(cells: Sequence[tuple[object, object]]) -> tuple[str, dict[str, list[int]]]:
    """Render `(column, value)` cells as `column: value | column: value`, skipping empty values.

    Returns the row text and {column: [start, end]} with `text[start:end]` equal to the rendered
    value. Column names are made unique first (see `unique_names`), so every column keeps a range.
    """
    names = unique_names(name for name, _ in cells)
    parts: list[str] = []
    columns: dict[str, list[int]] = {}
    length = 0
    for name, (_, raw) in zip(names, cells, strict=True):
        value = normalize_value(raw)
        if not value:
            continue
        if parts:
            parts.append(SEPARATOR)
            length += len(SEPARATOR)
        prefix = f"{name}{NAME_VALUE}"
        start = length + len(prefix)
        parts.append(prefix + value)
        length = start + len(value)
        columns[name] = [start, length]
    return "".join(parts), columns
