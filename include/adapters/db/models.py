"""Models and training runs: gold candidates, model versions along their life, runs and manifests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

import psycopg2.extras
from pydantic import BaseModel

from include.adapters.db.common import Connection, RepositoryError, dict_cursor


class GoldCandidate(BaseModel):
    """The latest live human version of a record, and whether it may be used as gold."""

    record_version_id: int
    record_id: int
    version: int
    text: str
    spans: list[dict[str, Any]]
    document_sha256: str
    record_key: str
    was_cancelled: bool
    spans_valid: bool

    @property
    def is_gold(self) -> bool:
        return not self.was_cancelled and self.spans_valid


def latest_human_versions(conn: Connection) -> list[GoldCandidate]:
    """Per record, the latest version of its annotations that are not tombstoned (gold candidates).

    An annotation whose newest version is a tombstone no longer counts; of the rest, the record's
    newest wins. Skipped (was_cancelled) and flagged (spans_valid false) ones come back with
    is_gold False so callers can count what they exclude.
    """
    with dict_cursor(conn) as cur:
        cur.execute(
            """WITH latest AS (
                   SELECT DISTINCT ON (record_id) *
                   FROM live_annotation_versions
                   ORDER BY record_id, version DESC)
               SELECT l.id AS record_version_id, l.record_id, l.version, r.text, l.spans,
                      l.document_sha256, l.record_key, l.was_cancelled, l.spans_valid
               FROM latest l JOIN records r ON r.id = l.record_id
               ORDER BY l.record_id"""
        )
        return [GoldCandidate(**row) for row in cur.fetchall()]


def set_model_version_status(
    conn: Connection,
    version: str,
    status: Literal["candidate", "rejected", "published", "serving", "failed", "retired"],
    *,
    triton_version: int | None = None,
    bundle_uri: str | None = None,
) -> None:
    """Move a model version along its life; the one serving before becomes `retired`."""
    with conn.cursor() as cur:
        if status == "serving":
            cur.execute(
                "UPDATE model_versions SET status = 'retired', updated_at = now() "
                "WHERE status = 'serving' AND version <> %s",
                (version,),
            )
        cur.execute(
            """UPDATE model_versions SET status = %s, updated_at = now(),
                   triton_version = COALESCE(%s, triton_version), bundle_uri = COALESCE(%s, bundle_uri)
               WHERE version = %s""",
            (status, triton_version, bundle_uri, version),
        )
        if cur.rowcount == 0:
            raise RepositoryError(f"version: no model version {version!r}")


# -- training runs -----------------------------------------------------------------------------


def insert_training_run(
    conn: Connection,
    *,
    status: Literal["running", "skipped"],
    manifest_sha256: str,
    counts: dict[str, Any],
    detail: dict[str, Any],
    manifest: Sequence[tuple[int, str]],
) -> int:
    """Insert a training_runs row and its training_manifest rows (record version id, split); its id."""
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO training_runs (status, manifest_sha256, counts, detail, finished_at)
               VALUES (%s, %s, %s, %s, CASE WHEN %s = 'skipped' THEN now() END) RETURNING id""",
            (status, manifest_sha256, json.dumps(counts), json.dumps(detail), status),
        )
        run_id: int = cur.fetchone()[0]
        psycopg2.extras.execute_values(
            cur,
            "INSERT INTO training_manifest (training_run_id, record_version_id, split) VALUES %s",
            [(run_id, record_version_id, split) for record_version_id, split in manifest],
        )
    return run_id


def record_model_version(
    conn: Connection,
    version: dict[str, Any],
    *,
    status: str = "candidate",
    bundle_uri: str | None = None,
) -> None:
    """Insert (or leave) the model_versions row for a bundle's VERSION.json. Caller commits."""
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO model_versions (version, base_model, exporter_mode, metrics, manifest_sha256,
                                           status, bundle_uri)
               VALUES (%s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (version) DO NOTHING""",
            (
                version["model_version"],
                version.get("base_model"),
                version.get("exporter_mode"),
                json.dumps(version.get("metrics", {})),
                (version.get("manifest") or {}).get("sha256"),
                status,
                bundle_uri,
            ),
        )


def restart_training_run(conn: Connection, run_id: int) -> str | None:
    """Mark a running or failed run running again; else the state that refuses it ("succeeded", ...,
    "missing"). Caller commits."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE training_runs SET status = 'running', finished_at = NULL
               WHERE id = %s AND status IN ('running', 'failed') RETURNING id""",
            (run_id,),
        )
        if cur.fetchone() is not None:
            return None
        cur.execute("SELECT status FROM training_runs WHERE id = %s", (run_id,))
        row = cur.fetchone()
    return str(row[0]) if row else "missing"


class StoredRun(BaseModel):
    """A training run as stored when it started: its manifest hash, counts and gold rows."""

    manifest_sha256: str | None
    counts: dict[str, Any]
    rows: list[dict[str, Any]]


def stored_run(conn: Connection, run_id: int) -> StoredRun | None:
    """A run's manifest rows with their record versions and texts, in record version order."""
    with dict_cursor(conn) as cur:
        cur.execute("SELECT manifest_sha256, counts FROM training_runs WHERE id = %s", (run_id,))
        run = cur.fetchone()
        if run is None:
            return None
        cur.execute(
            """SELECT m.record_version_id, m.split, v.record_id, v.document_sha256, v.record_key,
                      r.text, v.spans
               FROM training_manifest m
               JOIN record_versions v ON v.id = m.record_version_id
               JOIN records r ON r.id = v.record_id
               WHERE m.training_run_id = %s
               ORDER BY m.record_version_id""",
            (run_id,),
        )
        rows = [dict(row) for row in cur.fetchall()]
    return StoredRun(manifest_sha256=run["manifest_sha256"], counts=run["counts"], rows=rows)


def finish_training_run(
    conn: Connection,
    run_id: int,
    status: Literal["succeeded", "failed", "skipped"],
    *,
    model_version: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Close a run: status, finished_at, the model version it produced (already in model_versions)."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE training_runs SET status = %s, model_version = COALESCE(%s, model_version),
                      detail = detail || %s::jsonb, finished_at = now()
               WHERE id = %s""",
            (status, model_version, json.dumps(detail or {}), run_id),
        )
        if cur.rowcount == 0:
            raise ValueError(f"run_id: no training run {run_id}")
