"""The one LS-payload builder: a record and its predicted spans → a Label Studio task with a prediction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from include.adapters.label_studio.payloads import (
    TASK_DOCUMENT_SHA256,
    TASK_MODEL_VERSION,
    TASK_PAGE_IMAGES,
    TASK_RECORD_KEY,
    TASK_TEXT,
)
from include.adapters.label_studio.storage import ls_link
from include.core.labels import FROM_NAME, TO_NAME
from include.core.spans import Span, task_score


def prediction_result(spans: list[Span]) -> list[dict[str, Any]]:
    """LS result items for spans (labels on the text), each with its score."""
    return [
        {
            "id": f"p{i}",
            "from_name": FROM_NAME,
            "to_name": TO_NAME,
            "type": "labels",
            "value": {"start": s.start, "end": s.end, "text": s.text, "labels": [s.label]},
            **({"score": s.score} if s.score is not None else {}),
        }
        for i, s in enumerate(spans)
    ]


def build_task(
    *,
    text: str,
    record_key: str,
    meta: dict[str, Any],
    document_sha256: str,
    document_uri: str,
    s3_key: str | None,
    doc_type: str,
    spans: list[Span],
    model_version: str,
    files_root: Path | None = None,
) -> dict[str, Any]:
    """One LS task: data ties it to its record and document; the prediction carries model_version.

    `source` is the link LS opens for the document, `page_images` the page the record came from (PDF
    and image records), shown beside the text; `files_root` is LS's local-files document root.
    """
    data: dict[str, Any] = {
        TASK_TEXT: text,
        TASK_DOCUMENT_SHA256: document_sha256,
        TASK_RECORD_KEY: record_key,
        TASK_MODEL_VERSION: model_version,
        "source_uri": document_uri,
        "source": ls_link(document_uri, files_root) or document_uri,
        "source_title": f"{document_uri.rsplit('/', 1)[-1]} · {record_key}",
        "s3_key": s3_key,
        "doc_type": doc_type,
    }
    for key in ("page", "sheet", "row", "table", "para", "hidden"):
        if key in meta:
            data[key] = meta[key]
    page = ls_link(meta["page_image"], files_root) if isinstance(meta.get("page_image"), str) else None
    data[TASK_PAGE_IMAGES] = [page] if page else []
    return {
        "data": data,
        "predictions": [
            {"model_version": model_version, "score": task_score(spans), "result": prediction_result(spans)}
        ],
    }
