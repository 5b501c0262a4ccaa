"""Lineage: from a record version back to its LS ids, model version, document and training runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from include.adapters.db.common import Connection, RepositoryError, dict_cursor


class Lineage(BaseModel):
    record_version_id: int
    version: int
    source: str
    record_id: int
    record_key: str
    document_id: int
    document_uri: str
    document_s3_key: str | None
    document_sha256: str
    ls_project_id: int | None
    ls_task_id: int | None
    ls_annotation_id: int | None
    model_version: str | None
    completed_by: int | None
    created_at: datetime
    training_runs: list[dict[str, Any]]


def record_version_lineage(conn: Connection, record_version_id: int) -> Lineage:
    """The chain record version → LS ids → model version → record → document → training runs."""
    with dict_cursor(conn) as cur:
        cur.execute(
            """SELECT v.id AS record_version_id, v.version, v.source, v.record_id, v.record_key,
                      d.id AS document_id, v.document_uri, d.s3_key AS document_s3_key,
                      v.document_sha256, v.ls_project_id, v.ls_task_id, v.ls_annotation_id,
                      v.model_version, v.completed_by, v.created_at
               FROM record_versions v
               JOIN records r ON r.id = v.record_id
               JOIN documents d ON d.id = r.document_id
               WHERE v.id = %s""",
            (record_version_id,),
        )
        row = cur.fetchone()
        if row is None:
            raise RepositoryError(f"record_version_id: no record version {record_version_id}")
        cur.execute(
            """SELECT t.id AS training_run_id, t.model_version, t.status, m.split, t.started_at
               FROM training_manifest m JOIN training_runs t ON t.id = m.training_run_id
               WHERE m.record_version_id = %s ORDER BY t.id""",
            (record_version_id,),
        )
        runs = [dict(r) for r in cur.fetchall()]
    return Lineage(**row, training_runs=runs)
