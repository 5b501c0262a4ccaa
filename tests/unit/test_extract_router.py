"""The extraction entry point over the whole sample set: routing, errors, determinism, invariants."""

from __future__ import annotations

import pytest

from devstack.samples import write_samples
from include.adapters.extract import router
from include.adapters.extract.records import ExtractedRecord, ExtractionError
from include.adapters.extract.router import extract_document


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in write_samples(tmp_path_factory.mktemp("samples"))}


@pytest.fixture(scope="module")
def extracted(samples: dict[str, bytes]) -> dict[str, list[ExtractedRecord]]:
    return {name: extract_document(data, name) for name, data in samples.items()}


def test_every_sample_gives_records(extracted: dict[str, list[ExtractedRecord]]) -> None:
    kinds = {name: {r.meta["kind"] for r in records} for name, records in extracted.items()}
    assert kinds == {
        "invoices.csv": {"row"},
        "invoices_semicolon.csv": {"row"},
        "ledger.xlsx": {"row", "preamble"},
        "ledger_1904.xlsx": {"row", "preamble"},
        "report.pdf": {"paragraph", "row"},
        "scan.png": {"ocr"},
        "notes_utf16.txt": {"paragraph"},
        "memo.txt": {"paragraph"},
    }


def test_record_keys_are_unique_per_document(extracted: dict[str, list[ExtractedRecord]]) -> None:
    for records in extracted.values():
        keys = [r.record_key for r in records]
        assert len(keys) == len(set(keys))


def test_every_row_record_range_slices_out_its_value(extracted: dict[str, list[ExtractedRecord]]) -> None:
    rows = [r for records in extracted.values() for r in records if r.meta["kind"] == "row"]
    assert len(rows) > 20
    for record in rows:
        rendered = " | ".join(
            f"{name}: {record.text[s:e]}" for name, (s, e) in record.meta["columns"].items()
        )
        assert rendered == record.text


def test_same_bytes_give_the_same_records(
    samples: dict[str, bytes], extracted: dict[str, list[ExtractedRecord]]
) -> None:
    for name, data in samples.items():
        assert extract_document(data, name) == extracted[name], name


def test_samples_are_byte_stable(samples: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory) -> None:
    again = {p.name: p.read_bytes() for p in write_samples(tmp_path_factory.mktemp("again"))}
    assert again == samples
    other_seed = {p.name: p.read_bytes() for p in write_samples(tmp_path_factory.mktemp("other"), seed=8)}
    assert other_seed["memo.txt"] != samples["memo.txt"]


def test_explicit_doc_type_skips_detection(samples: dict[str, bytes]) -> None:
    records = extract_document(samples["memo.txt"], "upload-7f3a", doc_type="text")
    assert records[0].text == "MEMO"


@pytest.mark.parametrize(
    ("data", "filename", "reason"),
    [
        (b"", "empty.csv", "empty file"),
        (b"hello", "report.pdf", "content is not pdf"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
            "old.xls",
            "unsupported document type 'unknown'",
        ),
        (b"%PDF-1.7\n" + b"\x00" * 50, "cut.pdf", "corrupt or truncated PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "scan.png", "cannot decode image"),
    ],
)
def test_bad_documents_raise_extraction_error_naming_the_file(
    data: bytes, filename: str, reason: str
) -> None:
    with pytest.raises(ExtractionError) as caught:
        extract_document(data, filename)
    assert caught.value.filename == filename
    assert reason in caught.value.reason


def test_any_failure_inside_an_extractor_becomes_an_extraction_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(data: bytes, filename: str) -> list[ExtractedRecord]:
        raise KeyError("sheet")

    monkeypatch.setattr(router, "extractor_for", lambda doc_type: explode)
    with pytest.raises(
        ExtractionError, match=r"^data\.csv: csv extraction failed: KeyError: 'sheet'"
    ) as caught:
        extract_document(b"a,b\n1,2\n", "data.csv")
    assert isinstance(caught.value.__cause__, KeyError)


def test_duplicate_record_keys_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    record = ExtractedRecord(record_key="para=1", text="x", meta={})
    monkeypatch.setattr(router, "extractor_for", lambda doc_type: lambda data, filename: [record, record])
    with pytest.raises(ExtractionError, match="duplicate record keys"):
        extract_document(b"x", "x.txt")
