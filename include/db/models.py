"""Models and training runs: gold candidates, model versions along their life, runs and manifests."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from include.db.common import Connection, RepositoryError, dict_cursor


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
            """WITH per_annotation AS (
                   SELECT DISTINCT ON (ls_annotation_id) *
                   FROM record_versions
                   WHERE source IN ('annotation', 'tombstone') AND ls_annotation_id IS NOT NULL
                   ORDER BY ls_annotation_id, version DESC),
               latest AS (
                   SELECT DISTINCT ON (record_id) *
                   FROM per_annotation WHERE source = 'annotation'
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
