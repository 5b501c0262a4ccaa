"""Table files with the row normalizer's quirks, for the Spark ↔ pandas parity tests."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from devstack.samples import write_samples

# The route each file must take: the parity test only proves something if the Spark route is used.
ROUTES = {
    "invoices.csv": "spark-multiline",  # a quoted address with a line break
    "invoices_semicolon.csv": "spark-multiline",
    "quirks.csv": "spark-multiline",
    "no_header.csv": "spark-lines",
    "pipes.csv": "spark-lines",
    "people.tsv": "spark-lines",
    "big.csv": "spark-lines",
    "stray_quotes.csv": "python",  # Python's csv reads "p"q as pq, Spark's reader does not
    "header_only.csv": "spark-lines",
    "gaps.csv": "python",
    "legacy_cp1252.csv": "python",
    "excel_utf16.csv": "python",
    "empty.csv": "python",
    "ledger.xlsx": "python",
    "ledger_1904.xlsx": "python",
    "broken.xlsx": "python",
}

_QUIRKS = (
    "Name,Name,,Amount,Note,  Spaced   header \r\n"
    '"Doe, John",Jane,x,12.50,"said ""hello""",  lots \t of\u00a0space  \r\n'
    'Ada,,,,"line one\r\nline two",\u2003\r\n'
    ",,,,,\r\n"
    "Zoë,Ωmega,😀 e\u0301,1e3,日本語のテキスト,\u3000wide\u3000\r\n"
    "short,row\r\n"
    'long,row,with,too,many,cells,"extra, quoted",last\r\n'
    '"ragged\nand multi-line",x\r\n'
    "back\\slash,'single',\"\",  ,tab\there,end\r\n"
)


def write_corpus(folder: Path) -> dict[str, bytes]:
    """Write every corpus file into `folder`; returns name → bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    samples = folder / "_samples"
    files = {
        p.name: p.read_bytes()
        for p in write_samples(samples)
        if p.name in {"invoices.csv", "invoices_semicolon.csv", "ledger.xlsx", "ledger_1904.xlsx"}
    }
    for p in samples.iterdir():
        p.unlink()
    samples.rmdir()
    files |= {
        "quirks.csv": b"\xef\xbb\xbf" + _QUIRKS.encode(),
        "no_header.csv": b"\xef\xbb\xbf1,2024-01-05,9.5\n2,2024-02-05,3\n3,,  \n",
        "pipes.csv": b"name|company|amount\nJohn Doe|Acme, Inc.|12\nAnn|Initech; Ltd|3\n",
        "people.tsv": b"name\tcity\tnote\nAda\tLondon\t\nGrace\t\tnavy\t\n\tx\t\n",
        "big.csv": _big_csv(4000),
        "stray_quotes.csv": b'a,b,c\n1, "x, y",3\n"p"q,r ,s\n',
        "header_only.csv": b"name,city\n",
        "gaps.csv": b"\n\nname,city\nAda,London\n,\n\nGrace,Arlington\n",
        "legacy_cp1252.csv": "Name;City;Amount\nJosé Müller;Zürich;€1.200,50\n".encode("cp1252"),
        "excel_utf16.csv": "Name\tCity\nFrançoise\tBesançon\n".encode("utf-16"),
        "empty.csv": b"",
        "broken.xlsx": _broken_xlsx(),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return files


def _big_csv(rows: int) -> bytes:
    """A file several input splits long (the tests use 64 KiB splits), with a ragged row inside."""
    lines = ["id,name,city,amount,note"]
    for i in range(1, rows + 1):
        if i == rows // 2:
            lines.append(f"{i},ragged,row")
        else:
            lines.append(f'{i},Person {i},"City, {i % 97}",{i * 1.25},naïve café ☕ {i}')
    return ("\n".join(lines) + "\n").encode()


def _broken_xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<not-a-workbook")
    return buffer.getvalue()
