"""
### Prelabel the tasks Label Studio made from its storage

When the project's storage is synced (the inbox folder or S3 bucket connected to Label Studio), LS makes
one task per file, its text a link to the file. The shim notes those tasks from the TASKS_CREATED webhook;
this DAG, every 5 minutes, registers each file as a document (same bytes as an inbox file → the same
document, never a second set of tasks), extracts it, runs the NER model, and settles the task: a file of
one record is prelabeled in that task; a file of many records (a table, a PDF) becomes record tasks, and
the file's task is marked `split` with their ids.

Params: `project` (the LS project title), `scan` (also list the project's tasks for storage tasks the
webhook missed: LS never retries a webhook), `chunk_size` (tasks per LS import request).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag
from nerloop_airflow.operators import (
    BatchedNerInferOperator,
    DoclingExtractOperator,
    LabelStudioImportOperator,
    LabelStudioIntakeOperator,
)

from include.core.settings import get_settings

# Read once where the DAG is parsed (LABEL_STUDIO_PROJECT, INBOX_URI, LS_IMPORT_CHUNK_SIZE): the intake
# operator scans the same inbox (settings.store.inbox_uri) that extract reads.
SETTINGS = get_settings()


@dag(
    dag_id="label_studio_intake",
    schedule="*/5 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["prelabel", "label-studio", "storage"],
    doc_md=__doc__,
    default_args={"retries": 2, "retry_delay": pendulum.duration(seconds=30)},
    params={
        "project": Param(
            SETTINGS.label_studio.label_studio_project,
            type="string",
            description="Label Studio project title",
        ),
        "scan": Param(False, type="boolean", description="also list LS tasks for ones the webhook missed"),
        "chunk_size": Param(
            SETTINGS.label_studio.ls_import_chunk_size, type="integer", minimum=1, maximum=1000
        ),
    },
)
def label_studio_intake() -> None:
    intake = LabelStudioIntakeOperator(
        task_id="intake", project="{{ params.project }}", scan="{{ params.scan }}"
    )
    extract = DoclingExtractOperator.partial(
        task_id="extract", source=SETTINGS.store.inbox_uri, max_active_tis_per_dagrun=2
    ).expand(document_id=intake.output)
    infer = BatchedNerInferOperator(task_id="infer", document_ids=intake.output, trigger_rule="none_failed")
    import_tasks = LabelStudioImportOperator(
        task_id="import_to_label_studio",
        project="{{ params.project }}",
        chunk_size="{{ params.chunk_size }}",
        document_ids=intake.output,
        trigger_rule="none_failed",
    )
    extract >> infer >> import_tasks


label_studio_intake()
