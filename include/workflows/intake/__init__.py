"""Intake of the tasks Label Studio creates from a storage sync (one task per file, its text a link).

One step per module, in the order a task goes through them:

- `note`: which tasks a storage sync made, recorded as pending (`ls_source_tasks`) from what LS reports —
  the shim's TASKS_CREATED (the event's plan), the scan, the reconcile run.
- `scan`: list the project's tasks for storage tasks the webhook missed (LS never retries a webhook).
- `register`: ask LS whether its own sync made the task from the project's storage of the inbox, check the
  link and the path (inside the inbox, no `..`, no symlink), then register the file as a document (sha256:
  the same bytes dropped in the inbox are the same document). Anything else is settled `failed` and nothing
  is read for it.
- `in_place`: a document of one record is prelabeled in the task LS made for its file.
- `settle`: mark each task `failed`, `in_place`, `split` or `duplicate`, with its reason, in LS and Postgres.

Entry points: the intake DAG's task calls `register.take_in` (scan when asked, then register); prelabel's
import step calls `settle.around_import` once, around its import of record tasks; the shim's event plan and
the reconcile run use `note`. SQL stays in `include.adapters.db.source_tasks`, LS's API in
`include.adapters.label_studio`.

Nothing is imported here: the shim imports `note` and must not load the Label Studio SDK.
"""
