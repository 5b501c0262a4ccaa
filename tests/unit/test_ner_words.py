"""Word units: what one NER label covers, and the cuts gold spans force."""

from __future__ import annotations

import pytest

from include.adapters.ner.words import token_ranges, word_units


def units(text: str, cuts: list[int] | None = None) -> list[str]:
    return [text[a:b] for a, b in word_units(text, cuts or []).ranges]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@user said hi", ["@user", "said", "hi"]),
        ("#tbt #2024", ["#tbt", "#2024"]),
        ("see https://x.org/a?b=c.", ["see", "https://x.org/a?b=c", "."]),
        ("mail jo.doe+x@mail.co.uk,", ["mail", "jo.doe+x@mail.co.uk", ","]),
        ("Moore, (USD) $1,234.56", ["Moore", ",", "(", "USD", ")", "$", "1,234.56"]),
        ("on 03/25/2016 at 12:30", ["on", "03/25/2016", "at", "12:30"]),
        ("AT&T don't INV-2024001", ["AT&T", "don't", "INV-2024001"]),
        ("the U.S. team", ["the", "U.S.", "team"]),
        ("U.S.A and e.g.", ["U.S.A", "and", "e.g."]),
        ("Name: Ann | City: Oslo", ["Name", ":", "Ann", "|", "City", ":", "Oslo"]),
        ("", []),
    ],
)
def test_units(text: str, expected: list[str]) -> None:
    assert units(text) == expected


def test_a_cut_inside_a_unit_splits_it_and_is_counted() -> None:
    text = "USD1000 and INV-2024001"
    out = word_units(text, [3, 7, 15])
    assert [text[a:b] for a, b in out.ranges] == ["USD", "1000", "and", "INV", "-2024001"]
    assert out.forced_splits == 2
    assert word_units(text, [0, 7, 8, 11]).forced_splits == 0  # cuts on unit edges or spaces split nothing


def test_token_ranges_join_a_corpus_tokens() -> None:
    text, ranges = token_ranges(["@", "jane", "rocks"])
    assert text == "@ jane rocks" and [text[a:b] for a, b in ranges] == ["@", "jane", "rocks"]
