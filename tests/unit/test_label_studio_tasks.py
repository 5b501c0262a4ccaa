"""The LS task built for a record: its data ties it to the record and says where in the document it sits."""

from __future__ import annotations

from include.adapters.label_studio.tasks import build_task
from include.core.spans import Span


def test_task_data_carries_the_place_in_the_document_and_a_hidden_sheet_mark() -> None:
    text = "name: Alice | city: Paris"
    task = build_task(
        text=text,
        record_key="sheet=Old/row=3",
        meta={"sheet": "Old", "row": 3, "hidden": True, "columns": {"name": [6, 11]}},
        document_sha256="ab" * 32,
        document_uri="file:///inbox/book.xlsx",
        s3_key=None,
        doc_type="xlsx",
        spans=[Span(start=6, end=11, label="PERSON", text="Alice", score=0.4)],
        model_version="m-1",
    )
    data = task["data"]
    assert (data["sheet"], data["row"], data["hidden"]) == ("Old", 3, True)
    assert "columns" not in data, "column ranges stay in the database"
    (prediction,) = task["predictions"]
    assert prediction["model_version"] == "m-1" and prediction["score"] == 0.4
    assert prediction["result"][0]["value"] == {"start": 6, "end": 11, "text": "Alice", "labels": ["PERSON"]}
