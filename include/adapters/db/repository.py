"""The Intelligence DB's domain API in one namespace (`from include.adapters.db import repository as repo`).

The SQL lives in one module per aggregate: `documents` (documents, records, task links), `labelling`
(record versions, annotations, webhook events), `models` (gold candidates, model versions, training
runs), `lineage`, and `ls_state` (what reconcile knows of an LS project). Functions take an open
connection and never commit: the caller owns the transaction (`include.adapters.db.connection.transaction`).
"""

from __future__ import annotations

from include.adapters.db.common import Connection, RepositoryError
from include.adapters.db.documents import (
    DocStatus,
    DocType,
    Document,
    NewRecord,
    Record,
    add_document,
    add_records,
    find_record,
    get_document,
    get_record,
    link_ls_task,
    record_for_ls_task,
    set_document_status,
    unlink_ls_task,
)
from include.adapters.db.labelling import (
    NewRecordVersion,
    RecordVersion,
    VersionSource,
    append_record_version,
    latest_annotation_version,
    prediction_model_version,
)
from include.adapters.db.lineage import Lineage, record_version_lineage
from include.adapters.db.models import GoldCandidate, latest_human_versions, set_model_version_status

__all__ = [
    "Connection",
    "DocStatus",
    "DocType",
    "Document",
    "GoldCandidate",
    "Lineage",
    "NewRecord",
    "NewRecordVersion",
    "Record",
    "RecordVersion",
    "RepositoryError",
    "VersionSource",
    "add_document",
    "add_records",
    "append_record_version",
    "find_record",
    "get_document",
    "get_record",
    "latest_annotation_version",
    "latest_human_versions",
    "link_ls_task",
    "prediction_model_version",
    "record_for_ls_task",
    "record_version_lineage",
    "set_document_status",
    "set_model_version_status",
    "unlink_ls_task",
]
