"""Bulk tables on Spark: which engine extracts tables, and the SparkSubmitOperator that runs the job.

`NERLOOP_SPARK_CONN_ID` names an Airflow Spark connection (e.g. `AIRFLOW_CONN_NERLOOP_SPARK=
'{"conn_type": "spark", "host": "local[*]"}'`, or `spark://master:7077`, `yarn`, `k8s://...`):
set, the prelabel DAG submits apps/spark-jobs/tables_to_parquet.py and the extract step stores the
job's records; empty, tables are extracted in the task with pandas, as before.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

from include.core.settings import PROJECT_ROOT, child_environment, get_settings

JOB_APPLICATION = PROJECT_ROOT / "apps" / "spark-jobs" / "tables_to_parquet.py"


def table_engine() -> str:
    """ "spark" when a Spark connection is configured, else "pandas"."""
    return "spark" if get_settings().spark.spark_conn_id else "pandas"


def run_output_uri(root: str, run_id: str) -> str:
    """The job's output folder for one DAG run (run ids hold ':' and '+', which Hadoop paths refuse)."""
    return f"{root.rstrip('/')}/{re.sub(r'[^A-Za-z0-9._-]', '_', run_id)}"


class SparkTablesOperator(SparkSubmitOperator):
    """spark-submit the tables job over `source`, writing the run's Parquet under SPARK_OUTPUT_URI."""

    template_fields = (*SparkSubmitOperator.template_fields, "source")

    def __init__(self, *, source: str, output_root: str | None = None, **kwargs: Any) -> None:
        settings = get_settings()
        kwargs.setdefault("conn_id", settings.spark.spark_conn_id or "spark_default")
        kwargs.setdefault("properties_file", str(settings.spark.spark_properties_file))
        kwargs.setdefault("name", "nerloop-tables-to-parquet")
        super().__init__(application=str(JOB_APPLICATION), **kwargs)
        self.source = source
        self.output_root = output_root or settings.spark_output_root

    # The base returns None; this one also returns the job's counts, which Airflow pushes to XCom.
    def execute(self, context: Any) -> dict[str, Any]:  # type: ignore[override]
        from include.adapters.extract.parquet_records import ParquetRecords, output_location
        from nerloop_airflow import hooks

        output = run_output_uri(self.output_root, context["run_id"])
        self.application_args = ["--input", self.source, "--output", output]
        if self._is_local_master():
            # spark-submit and its Python workers from this environment (client mode on this host).
            self.env_vars = {
                "PYSPARK_PYTHON": sys.executable,
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{child_environment().get('PATH', '')}",
                **(self.env_vars or {}),
            }
        self.log.info("spark-submit tables job: %s → %s (connection %s)", self.source, output, self._conn_id)
        super().execute(context)
        records = ParquetRecords(output, hooks.object_store(output_location(output).uri))
        failed = [d["document_uri"] for d in records.documents.values() if d["error"]]
        total = sum(d["records"] for d in records.documents.values())
        self.log.info(
            "job output %s: %d documents, %d records, %d failed",
            output,
            len(records.documents),
            total,
            len(failed),
        )
        return {"output": output, "documents": len(records.documents), "records": total, "failed": failed}

    def _is_local_master(self) -> bool:
        from airflow.sdk import BaseHook

        try:
            connection = BaseHook.get_connection(self._conn_id)
        except Exception:  # an undefined connection: the hook falls back to yarn
            return False
        return (connection.host or "").startswith("local")
