"""What the database holds of an LS annotation: its versions, and who delivered each (shim or reconcile)."""

from __future__ import annotations


def versions_of(db, ls_annotation_id: int) -> list[tuple[str, str | None]]:
    """(source, delivered_by) of each version of the annotation, oldest first."""
    with db.cursor() as cur:
        cur.execute(
            """SELECT v.source, e.payload ->> 'delivered_by' FROM record_versions v
               LEFT JOIN webhook_events e ON e.id = v.webhook_event_id
               WHERE v.ls_annotation_id = %s ORDER BY v.id""",
            (ls_annotation_id,),
        )
        rows = cur.fetchall()
    db.commit()
    return rows
