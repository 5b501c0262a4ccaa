"""Workflows: the pipeline's steps (ingest, intake, prelabel, reconcile, annotations, training,
release, the quality pages), each composed of adapters and core; what a DAG task, the webhook shim or
the ML backend calls (checked by import-linter: `make lint`)."""
