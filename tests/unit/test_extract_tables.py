"""CSV/TSV and XLSX to row records: dialects, encodings, quoting, ragged rows, sheets, merges, dates."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from devstack.samples import invoices, write_samples
from include.adapters.extract.records import ExtractedRecord, ExtractionError
from include.adapters.extract.tables import extract_csv, extract_xlsx, sniff_dialect, table_records


def values(record: ExtractedRecord) -> dict[str, str]:
    """Each column's rendered value, read back through its range (the row-record invariant)."""
    return {name: record.text[start:end] for name, (start, end) in record.meta["columns"].items()}


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in write_samples(tmp_path_factory.mktemp("samples"))}


@pytest.mark.parametrize(
    ("filename", "data", "delimiter"),
    [
        ("a.csv", 'name,company,amount\n"Doe, John","Acme, Inc.",12\n', ","),
        ("a.csv", 'name;company;amount\n"Doe; John";Acme, Inc.;"1,5"\nAnn;Initech;"2,0"\n', ";"),
        ("a.tsv", "name\tcompany\tamount\nJohn Doe\tAcme, Inc.\t12\n", "\t"),
        ("a.csv", "name\tcompany\tamount\nJohn Doe\tAcme; Inc.\t12\nAnn\tInitech\t3\n", "\t"),
        ("a.csv", "name|company|amount\nJohn Doe|Acme, Inc.|12\n", "|"),
    ],
)
def test_delimiter_is_sniffed(filename: str, data: str, delimiter: str) -> None:
    assert sniff_dialect(data, filename)[0] == delimiter
    records = extract_csv(data.encode(), filename)
    assert values(records[0])["name"] in {"Doe, John", "Doe; John", "John Doe"}
    assert len(values(records[0])) == 3


def test_single_column_falls_back_to_the_extension_default() -> None:
    assert sniff_dialect("name\nAda\nGrace\n", "people.tsv")[0] == "\t"
    assert [r.text for r in extract_csv(b"name\nAda\nGrace\n", "people.csv")] == ["name: Ada", "name: Grace"]


def test_quoted_commas_and_embedded_newlines() -> None:
    data = 'id,address,note\n1,"12 Main St,\nSpringfield","said ""hello"""\n2,"Elm Rd, Shelbyville",ok\n'
    records = extract_csv(data.encode(), "addresses.csv")
    assert [r.record_key for r in records] == ["row=1", "row=2"]
    assert values(records[0]) == {"id": "1", "address": "12 Main St, Springfield", "note": 'said "hello"'}


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16", "utf-8-sig"])
def test_csv_encodings(encoding: str) -> None:
    data = "Name;City;Amount\nJosé Müller;Zürich;€1.200,50\nFrançoise Dupré;Besançon;€300\n".encode(encoding)
    records = extract_csv(data, "legacy.csv")
    assert values(records[0]) == {"Name": "José Müller", "City": "Zürich", "Amount": "€1.200,50"}
    assert values(records[1])["City"] == "Besançon"


def test_ragged_rows_are_padded_or_keep_extra_cells_and_are_flagged() -> None:
    records = extract_csv(b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n", "ragged.csv")
    assert [r.meta.get("ragged") for r in records] == [None, "short", "long"]
    assert values(records[1]) == {"a": "4", "b": "5"}
    assert values(records[2]) == {"a": "6", "b": "7", "c": "8", "column_4": "9"}


def test_blank_rows_keep_their_number_and_give_no_record() -> None:
    records = extract_csv(b"\n\nname,city\nAda,London\n,\n\nGrace,Arlington\n", "gaps.csv")
    assert [(r.record_key, r.meta["row"]) for r in records] == [("row=1", 1), ("row=4", 4)]


def test_numeric_first_row_is_data_not_header() -> None:
    records = extract_csv(b"1,2024-01-05,9.5\n2,2024-02-05,3\n", "noheader.csv")
    assert records[0].text == "column_1: 1 | column_2: 2024-01-05 | column_3: 9.5"
    assert len(records) == 2


def test_sample_csv_files_match_each_other(samples: dict[str, bytes]) -> None:
    comma = extract_csv(samples["invoices.csv"], "invoices.csv")
    semicolon = extract_csv(samples["invoices_semicolon.csv"], "invoices_semicolon.csv")
    assert len(comma) == len(semicolon) == 6
    first = values(comma[0])
    assert "\n" not in first["Address"] and ", " in first["Company"]
    assert {k: v for k, v in values(semicolon[0]).items() if k != "Amount (USD)"} == {
        k: v for k, v in first.items() if k != "Amount (USD)"
    }
    assert values(semicolon[0])["Amount (USD)"] == first["Amount (USD)"].replace(".", ",")


def test_xlsx_sheets_merged_cells_dates_and_preamble(samples: dict[str, bytes]) -> None:
    records = {r.record_key: r for r in extract_xlsx(samples["ledger.xlsx"], "ledger.xlsx")}
    items = invoices()
    assert records["sheet=Q1/row=1"].meta["kind"] == "preamble"
    assert records["sheet=Q1/row=1"].text == "Ledger Q1 2024 - Northwind Holdings"
    assert "sheet=Q1/row=2" not in records
    for row, item in zip(range(3, 7), items, strict=False):
        row_values = values(records[f"sheet=Q1/row={row}"])
        assert row_values["Region"] == "North America"
        assert row_values["Date"] == item.issued.isoformat()
        assert (row_values["Contact"], row_values["Contact_2"]) == (item.email, item.phone)
        assert records[f"sheet=Q1/row={row}"].meta["sheet"] == "Q1"
    assert "sheet=Vendors/row=4" not in records
    assert values(records["sheet=Vendors/row=5"]) == {
        "Vendor": "Acme Corporation",
        "City": "Denver",
        "Since": "2021-06-30",
        "Product": "Anvils",
    }


def test_xlsx_1904_date_system_gives_the_same_dates(samples: dict[str, bytes]) -> None:
    with zipfile.ZipFile(io.BytesIO(samples["ledger_1904.xlsx"])) as archive:
        assert re.search(rb'date1904="(1|true)"', archive.read("xl/workbook.xml"))
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    first = invoices()[0].issued
    serial = re.search(r'<c r="A3"[^>]*><v>([\d.]+)</v>', sheet_xml).group(1)
    assert int(float(serial)) == (first - date(1904, 1, 1)).days
    plain = extract_xlsx(samples["ledger.xlsx"], "ledger.xlsx")
    mac = extract_xlsx(samples["ledger_1904.xlsx"], "ledger_1904.xlsx")
    assert [r.text for r in mac] == [r.text for r in plain]
    assert values(mac[1])["Date"] == first.isoformat()


def test_xlsx_header_below_blank_rows_and_sheet_without_header() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Data"
    sheet["B3"], sheet["C3"] = "Name", "Joined"
    sheet["B4"], sheet["C4"] = "Ada", datetime(2024, 5, 6)
    numbers = workbook.create_sheet("Numbers")
    numbers.append([1, 2.0, 3.5])
    numbers.append([4, 5, 6])
    buffer = io.BytesIO()
    workbook.save(buffer)
    records = extract_xlsx(buffer.getvalue(), "book.xlsx")
    assert [(r.record_key, r.text) for r in records] == [
        ("sheet=Data/row=4", "Name: Ada | Joined: 2024-05-06"),
        ("sheet=Numbers/row=1", "column_1: 1 | column_2: 2 | column_3: 3.5"),
        ("sheet=Numbers/row=2", "column_1: 4 | column_2: 5 | column_3: 6"),
    ]


def test_broken_xlsx_raises_with_filename() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<not-a-workbook")
    with pytest.raises(ExtractionError, match=r"^broken\.xlsx: not a readable XLSX"):
        extract_xlsx(buffer.getvalue(), "broken.xlsx")


def test_table_records_from_rows_and_from_a_dataframe() -> None:
    import pandas as pd

    rows = [["Name", "Name", None], ["Ada", "Lovelace", "x"], [None, None, None], ["Grace", None, "y"]]
    from_rows = table_records(rows, "page=3/table=1", page=3, table=1)
    assert [r.record_key for r in from_rows] == ["page=3/table=1/row=1", "page=3/table=1/row=3"]
    assert from_rows[0].text == "Name: Ada | Name_2: Lovelace | column_3: x"
    assert from_rows[0].meta | {"columns": None} == {
        "kind": "row",
        "page": 3,
        "table": 1,
        "row": 1,
        "columns": None,
    }
    frame = pd.DataFrame([["Ada", 1.0], ["Grace", 2.5]], columns=["Name", "Score"])
    assert [r.text for r in table_records(frame, "table=1")] == [
        "Name: Ada | Score: 1",
        "Name: Grace | Score: 2.5",
    ]
