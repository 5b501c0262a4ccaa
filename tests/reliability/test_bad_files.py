"""A batch with corrupt, truncated, zero-byte and mis-encoded files: each fails alone, the rest lands."""

from __future__ import annotations

import os
from pathlib import Path

from devstack.samples import write_samples
from include.workflows.ingest import ingest_source
from include.workflows.prelabel import extract_records
from tests.reliability.conftest import print_figures

GOOD = {"invoices.csv", "invoices_semicolon.csv", "ledger.xlsx", "memo.txt", "notes_utf16.txt", "cp1252.txt"}
BAD = {
    "truncated.pdf": "corrupt or truncated PDF",
    "truncated.xlsx": "not a readable XLSX workbook",
    "corrupt.xlsx": "not a readable XLSX workbook",
    "truncated.png": "cannot decode image",
    "empty.csv": "empty file",
    "random_bytes.txt": "cannot decode",
    "broken_utf16.txt": "invalid utf-16 after its BOM",
    "pdf_named.csv": "content is pdf but the extension says csv",
}


def write_batch(inbox: Path) -> None:
    samples = {p.name: p for p in write_samples(inbox)}
    pdf, xlsx = samples["report.pdf"].read_bytes(), samples["ledger.xlsx"].read_bytes()
    png = samples["scan.png"].read_bytes()
    for name in ("report.pdf", "scan.png", "ledger_1904.xlsx"):  # Docling/OCR files: slow, tested elsewhere
        samples[name].unlink()
    (inbox / "cp1252.txt").write_bytes(
        "Zoë Brontë paid 120 € to Café Müller on 1 March 2024.".encode("cp1252")
    )
    (inbox / "truncated.pdf").write_bytes(pdf[: len(pdf) // 3])
    (inbox / "truncated.xlsx").write_bytes(xlsx[: len(xlsx) // 2])
    (inbox / "corrupt.xlsx").write_bytes(b"PK\x03\x04" + os.urandom(3000))
    (inbox / "truncated.png").write_bytes(png[: len(png) // 2])  # the image path (img2table behind it)
    (inbox / "empty.csv").write_bytes(b"")
    (inbox / "random_bytes.txt").write_bytes(bytes(range(256)) * 16)
    (inbox / "broken_utf16.txt").write_bytes(b"\xff\xfe" + "Alice".encode("utf-16-le") + b"\x00\xd8")
    (inbox / "pdf_named.csv").write_bytes(pdf[:2000])


def test_bad_files_fail_alone_and_the_rest_lands(db, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    write_batch(inbox)
    documents = list(ingest_source(db, inbox.as_uri()))
    outcomes = {Path(d.uri).name: extract_records(db, d.document_id) for d in documents}
    with db.cursor() as cur:
        cur.execute(
            "SELECT text FROM records r JOIN documents d ON d.id = r.document_id WHERE d.uri LIKE %s",
            ("%cp1252.txt",),
        )
        (cp1252_text,) = cur.fetchone()
    db.commit()

    failed = {name: o.error for name, o in outcomes.items() if o.status == "failed"}
    landed = {name: o.records for name, o in outcomes.items() if o.status == "extracted"}
    print_figures(
        "bad_files",
        {
            "files": len(outcomes),
            "failed": len(failed),
            "landed": len(landed),
            "records": sum(landed.values()),
            "errors": failed,
        },
    )
    assert set(landed) == GOOD and all(landed.values())
    assert set(failed) == set(BAD)
    for name, reason in BAD.items():
        assert failed[name].startswith(f"{name}: ") and reason in failed[name], failed[name]
    assert "Zoë Brontë" in cp1252_text and "€" in cp1252_text
    # A second pass over the same batch changes nothing: the stored records and errors stay.
    again = {Path(d.uri).name: extract_records(db, d.document_id) for d in ingest_source(db, inbox.as_uri())}
    assert {n: (o.status, o.records) for n, o in again.items()} == {
        n: (o.status, o.records) for n, o in outcomes.items()
    }
