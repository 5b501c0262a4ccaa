"""A converted DoclingDocument to records: text items as paragraphs, tables through table_records."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from include.adapters.extract.records import ExtractedRecord
from include.adapters.extract.tables import table_records
from include.adapters.extract.text import DEFAULT_MAX_CHARS, paragraph_records


def docling_records(doc: Any, max_chars: int = DEFAULT_MAX_CHARS) -> list[ExtractedRecord]:
    """Records of a DoclingDocument in reading order. With page provenance (PDF): `page=P/para=N` and
    `page=P/table=T/row=R`; without (DOCX, HTML): `para=N` and `table=T/row=R`."""
    from docling_core.types.doc import TableItem, TextItem

    texts: dict[int | None, list[str]] = defaultdict(list)
    tables: dict[int | None, list[Any]] = defaultdict(list)
    for item, _level in doc.iterate_items():
        if isinstance(item, TableItem):
            tables[_page(item)].append(item)
        elif isinstance(item, TextItem) and not _inside_table(item, doc):
            texts[_page(item)].append(item.text)
    records: list[ExtractedRecord] = []
    for page in sorted(set(texts) | set(tables), key=lambda p: p or 0):
        prefix = f"page={page}/" if page is not None else ""
        page_meta = {"page": page} if page is not None else {}
        records += paragraph_records(texts[page], key_prefix=prefix, max_chars=max_chars, **page_meta)
        for t, table in enumerate(tables[page], start=1):
            frame = table.export_to_dataframe(doc=doc)
            records += table_records(frame, f"{prefix}table={t}", **page_meta, table=t)
    return records


def _page(item: Any) -> int | None:
    return item.prov[0].page_no if item.prov else None


def _inside_table(item: Any, doc: Any) -> bool:
    from docling_core.types.doc import TableItem

    parent = item.parent
    while parent is not None:
        node = parent.resolve(doc)
        if isinstance(node, TableItem):
            return True
        parent = getattr(node, "parent", None)
    return False
