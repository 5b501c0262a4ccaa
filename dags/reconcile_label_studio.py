"""
### Reconcile Label Studio with the Intelligence DB

Label Studio sends each webhook once and never retries, so whatever the shim missed (database down, shim
restarting, network) is recovered here: every 10 minutes, and on demand, the project's tasks and
annotations are read from the LS API and what the database lacks is replayed through the shim's own code
path (exactly once: a delivery already stored is not stored again). Annotations LS no longer has are
tombstoned; tasks are linked to their records. The run also checks that the project's webhook is active.

If the LS API is unreachable and LS writes a target storage copy (`LS_TARGET_STORAGE_URI`), the run reads
that copy instead (its result says `source: target_storage`): it appends and links what the copy holds,
but cannot see every deletion, and says how much it could not check. Without a copy the run fails.

Params: `project` (the LS project title) and `full` (fetch every task in full instead of only those
changed since the watermark; a full pass also runs by itself once a day).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, get_current_context, task
from nerloop_airflow.reconcile import reconcile_label_studio_project

from include.core.settings import get_settings

SETTINGS = get_settings()


@dag(
    dag_id="reconcile_label_studio",
    schedule="*/10 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["label-studio", "reliability"],
    doc_md=__doc__,
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=1)},
    params={
        "project": Param(
            SETTINGS.label_studio.label_studio_project,
            type="string",
            description="Label Studio project title",
        ),
        "full": Param(False, type="boolean", description="fetch every task, not only changed ones"),
    },
)
def reconcile_label_studio() -> None:
    @task
    def reconcile() -> dict:
        params = get_current_context()["params"]
        return reconcile_label_studio_project(params["project"], bool(params["full"]))

    reconcile()


reconcile_label_studio()
