"""The quality pages as a FastAPI app, for Airflow's api-server (a plugin mounts it at /nerloop).

Every route needs the Airflow user (the auth manager's JWT, from the UI's cookie or a bearer token):
plugin endpoints are not protected by Airflow on their own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager, closing
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from include.adapters.db import quality
from include.adapters.db.common import Connection, RepositoryError
from include.adapters.db.connection import connect
from include.adapters.db.lineage import record_version_lineage
from include.core.settings import get_settings
from include.workflows.quality import pages

ConnectionFactory = Callable[[], AbstractContextManager[Connection]]
_ID = re.compile(r"[0-9]{1,18}")  # ASCII only: str.isdigit() takes "²", which int() then refuses


def _id_param(value: str) -> int | None:
    """A query parameter naming a row id (a bigint), or None when it is not one."""
    value = value.strip()
    return int(value) if _ID.fullmatch(value) else None


def _default_db() -> AbstractContextManager[Connection]:
    return closing(connect())


def airflow_user() -> Any:
    """The dependency that demands an Airflow user (imported late: the api-server has the auth manager)."""
    from airflow.api_fastapi.core_api.security import get_user

    return Depends(get_user)


def create_app(db: ConnectionFactory = _default_db, *, require_user: bool = True) -> FastAPI:
    """The app; `db` opens the Intelligence DB for one request (the plugin passes the PostgresHook's)."""
    app = FastAPI(title="nerloop quality", docs_url=None, redoc_url=None, openapi_url=None)
    router = APIRouter(dependencies=[airflow_user()] if require_user else [])
    ls_url = get_settings().label_studio.label_studio_url

    def read(fn: Callable[[Connection], Any]) -> Any:
        with db() as conn:
            try:
                return fn(conn)
            finally:
                conn.rollback()

    @router.get("/", response_class=HTMLResponse)
    def overview() -> str:
        return str(
            read(
                lambda c: pages.overview(
                    quality.model_timeline(c),
                    quality.drift(c),
                    quality.learning_curve(c),
                    quality.label_curve(c),
                    quality.uncertain_queue(c),
                    ls_url,
                )
            )
        )

    @router.get("/lineage", response_class=HTMLResponse)
    def lineage(record_version_id: str = Query(default=""), ls_task_id: str = Query(default="")) -> Response:
        asked = f"record version {record_version_id}" if record_version_id else f"LS task {ls_task_id}"
        wanted: dict[str, int | None] = {}
        for name, value in (("record_version_id", record_version_id), ("ls_task_id", ls_task_id)):
            wanted[name] = number = _id_param(value)
            if value.strip() and number is None:
                return JSONResponse(
                    {"error": f"{name} must be an id: up to 18 ASCII digits", "param": name}, status_code=400
                )

        def look(conn: Connection) -> HTMLResponse:
            version_id = wanted["record_version_id"]
            if version_id is None and (task_id := wanted["ls_task_id"]) is not None:
                found = quality.versions_of_task(conn, None, task_id)
                version_id = found[0] if found else None
            if version_id is None:
                status = 404 if (record_version_id or ls_task_id) else 200
                return HTMLResponse(pages.lineage(None, None, [], asked if status == 404 else ""), status)
            try:
                found_lineage = record_version_lineage(conn, version_id)
            except RepositoryError:
                return HTMLResponse(pages.lineage(None, None, [], asked), 404)
            record = quality.record_meta(conn, found_lineage.record_id)
            history = quality.record_history(conn, found_lineage.record_id)
            return HTMLResponse(pages.lineage(found_lineage, record, history, asked))

        response: HTMLResponse = read(look)
        return response

    @router.get("/api/drift")
    def drift_json(weekly: bool = False) -> list[dict[str, Any]]:
        rows = read(quality.drift_weekly if weekly else quality.drift)
        return [r.model_dump(mode="json") for r in rows]

    @router.get("/api/learning-curve")
    def curve_json() -> dict[str, Any]:
        return {
            "runs": [p.model_dump(mode="json") for p in read(quality.learning_curve)],
            "labels": [p.model_dump(mode="json") for p in read(quality.label_curve)],
        }

    @router.get("/api/timeline")
    def timeline_json() -> list[dict[str, Any]]:
        return [r.model_dump(mode="json") for r in read(quality.model_timeline)]

    @router.get("/api/uncertain")
    def uncertain_json(limit: int = Query(default=50, ge=1, le=1000)) -> list[dict[str, Any]]:
        return [r.model_dump(mode="json") for r in read(lambda c: quality.uncertain_queue(c, limit))]

    app.include_router(router)
    return app
