"""Plain text: decoding by BOM, UTF-8 or best guess, paragraphs, and bounded record size."""

from __future__ import annotations

import pytest

from include.adapters.extract.records import ExtractionError
from include.adapters.extract.text import decode_text, extract_text, split_at_whitespace, text_records

SAMPLE = "Grüße aus Zürich — José paid €300 to Müller GmbH.\n\nSecond paragraph.\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_decode_unicode_encodings(encoding: str) -> None:
    assert decode_text(SAMPLE.encode(encoding), "notes.txt") == SAMPLE


def test_decode_cp1252_by_best_guess() -> None:
    text = "Name;City;Amount\nJosé Müller;Zürich;€1.200,50\nFrançoise Dupré;Besançon;€300\n"
    assert decode_text(text.encode("cp1252"), "legacy.csv") == text


def test_undecodable_bytes_raise_with_filename() -> None:
    with pytest.raises(ExtractionError, match=r"^blob\.txt: cannot decode"):
        decode_text(bytes(range(256)) * 4 + b"\x00\x00\x00\x00" * 64, "blob.txt")


def test_paragraphs_split_on_blank_lines_and_newlines_normalize() -> None:
    data = b"First line\r\nsame paragraph\r\n\r\n   \r\nSecond\rparagraph\n\n\nThird"
    records = extract_text(data, "memo.txt")
    assert [(r.record_key, r.text) for r in records] == [
        ("para=1", "First line\nsame paragraph"),
        ("para=2", "Second\nparagraph"),
        ("para=3", "Third"),
    ]
    assert all(r.meta["kind"] == "paragraph" for r in records)


def test_long_paragraph_splits_at_whitespace_into_parts() -> None:
    paragraph = " ".join(f"word{i:03d}" for i in range(100))
    records = text_records(f"Intro.\n\n{paragraph}", max_chars=120)
    parts = [r for r in records if r.meta["para"] == 2]
    assert [r.record_key for r in parts[:2]] == ["para=2/part=1", "para=2/part=2"]
    assert all(len(r.text) <= 120 for r in parts)
    assert " ".join(r.text for r in parts) == paragraph
    assert [r.meta["part"] for r in parts] == list(range(1, len(parts) + 1))


def test_split_cuts_a_run_without_whitespace_hard() -> None:
    assert split_at_whitespace("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_utf16_sample_gives_paragraph_records(samples: dict[str, bytes]) -> None:
    records = extract_text(samples["notes_utf16.txt"], "notes_utf16.txt")
    assert [r.record_key for r in records] == ["para=1", "para=2", "para=3", "para=4"]
    assert records[0].text.startswith("Meeting notes — ")
    assert "Zürich office" in records[3].text and "€" in records[3].text
    assert "\r" not in "".join(r.text for r in records)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    from devstack.samples import write_samples

    return {p.name: p.read_bytes() for p in write_samples(tmp_path_factory.mktemp("samples"))}
