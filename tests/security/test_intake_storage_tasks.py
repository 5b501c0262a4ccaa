"""Issue #23 with the real Label Studio: a task typed (or edited) to link a file outside the inbox is never
read. Each is settled `failed` with its reason, in Postgres and in the task; the secret's bytes reach
neither LS nor Postgres; the file LS's own storage sync made a task for is still prelabeled in place.

Hostile links: `/data/local-files/?d=secrets.json` (what leaked the demo's secrets), `…?d=<inbox>/../…`,
an absolute path, `s3://another-bucket/key`, another prefix of the inbox bucket, a symlink in the inbox to
a file outside, and the link of a real inbox file typed in by hand — each as a typed task and, where it
applies, written over the link of a task LS's storage sync made.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from psycopg2 import sql

from include.adapters.label_studio import client as ls_client
from include.adapters.label_studio.storage import S3Access, ensure_source_storage, sync_source_storage
from include.adapters.ner.backends import OnnxRuntimeBackend
from include.adapters.ner.client import NerClient
from include.adapters.objectstore import ObjectStore
from include.core.bundle.read import read_bundle
from include.workflows import prelabel
from include.workflows.intake.register import take_in
from include.workflows.intake.scan import scan_source_tasks
from tests.helpers.bundle import tiny_bundle

NOTE = "Jane Smith of Acme Corp signed the Berlin lease on 4 March 2024."
MARKER = "do-not-leak-" + uuid.uuid4().hex
SECRET = json.dumps({"webhook_secret": MARKER, "label_studio_password": MARKER}).encode()


@pytest.fixture(scope="module")
def ner() -> NerClient:
    bundle = tiny_bundle()
    return NerClient(
        bundle, OnnxRuntimeBackend(read_bundle(bundle).model_path, 1), batch_size=16, max_length=128
    )


def _tasks(ls: Any, project_id: int) -> dict[int, Any]:
    return {int(t.id): t for t in ls.tasks.list(project=project_id, fields="task_only", resolve_uri=False)}


def _import(ls: Any, project_id: int, texts: list[str]) -> dict[str, int]:
    """Tasks imported through LS's API, as any user with import rights can: text → task id."""
    before = set(_tasks(ls, project_id))
    ls.projects.import_tasks(id=project_id, request=[{"text": text} for text in texts])
    added = {tid: t for tid, t in _tasks(ls, project_id).items() if tid not in before}
    return {t.data["text"]: tid for tid, t in added.items()}


def _postgres_tables_holding(db: Any, needle: str) -> list[str]:
    """Every table of the schema whose rows, as text, contain `needle`."""
    with db.cursor() as cur:
        cur.execute(
            """SELECT table_name FROM information_schema.tables
               WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"""
        )
        tables = [row[0] for row in cur.fetchall()]
        hits = []
        for table in tables:
            cur.execute(
                sql.SQL("SELECT count(*) FROM {} t WHERE t::text LIKE %s").format(sql.Identifier(table)),
                (f"%{needle}%",),
            )
            if cur.fetchone()[0]:
                hits.append(table)
    db.commit()
    return hits


def _assert_nothing_leaked(db: Any, ls: Any, project_id: int) -> None:
    for task_id in _tasks(ls, project_id):
        shown = ls.tasks.get(str(task_id))  # as LS shows it: links resolved, predictions included
        assert MARKER not in json.dumps(shown.dict(), default=str), f"task {task_id} shows the secret"
    assert _postgres_tables_holding(db, MARKER) == []
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM documents WHERE sha256 = %s", (hashlib.sha256(SECRET).hexdigest(),))
        assert cur.fetchone()[0] == 0, "the secret file was registered as a document"
    db.commit()


def _settled(db: Any, project_id: int) -> dict[int, tuple[str, str | None]]:
    with db.cursor() as cur:
        cur.execute(
            "SELECT ls_task_id, state, detail FROM ls_source_tasks WHERE ls_project_id = %s", (project_id,)
        )
        rows = {int(r[0]): (r[1], r[2]) for r in cur.fetchall()}
    db.commit()
    return rows


def _prelabel(db: Any, ner: NerClient, ls: Any, project_id: int, ids: list[int], **kw: Any) -> Any:
    s3 = kw.pop("s3", None)
    for document_id in ids:
        assert (
            prelabel.extract_records(db, document_id, ObjectStore(client=s3) if s3 else None).status
            == "extracted"
        )
    prelabel.predict_pending(db, ner, ids)
    return prelabel.import_pending(db, ls, project_id, document_ids=ids, **kw)


def _check_refusals(db: Any, ls: Any, project_id: int, expected: dict[int, str]) -> dict[int, str]:
    """Each refused task is `failed` with its reason, here and in LS; returns task → reason."""
    settled = _settled(db, project_id)
    tasks = _tasks(ls, project_id)
    reasons = {}
    for task_id, why in expected.items():
        state, detail = settled[task_id]
        assert state == "failed" and detail and why in detail, (task_id, detail)
        data = tasks[task_id].data
        assert data["nerloop_state"] == "failed" and data["nerloop_detail"] == detail
        reasons[task_id] = detail
    return reasons


def test_local_inbox_takes_only_its_own_files(label_studio, db, ner, tmp_path: Path) -> None:
    root = label_studio.document_root
    inbox = root / f"inbox-{uuid.uuid4().hex[:8]}"
    inbox.mkdir()
    (inbox / "note.txt").write_text(NOTE)
    for name in ("p1.txt", "p2.txt", "p3.txt"):
        (inbox / name).write_text(f"{name}: Bob Stone left Initech in Oslo.")
    in_root = root / "secrets.json"  # the demo's old document root held the state folder's secrets
    in_root.write_bytes(SECRET)
    outside = tmp_path / "secrets.json"
    outside.write_bytes(SECRET)
    (inbox / "leak.txt").symlink_to(outside)
    try:
        ls = ls_client.connect(label_studio.url, label_studio.token)
        project_id = ls_client.ensure_project(ls, f"intake-local-{uuid.uuid4().hex[:6]}")
        storage = ensure_source_storage(ls, project_id, inbox.as_uri(), files_root=root)
        sync_source_storage(ls, storage)
        synced = {Path(t.storage_filename).name: tid for tid, t in _tasks(ls, project_id).items()}
        assert set(synced) == {"note.txt", "p1.txt", "p2.txt", "p3.txt", "leak.txt"}

        # A user edits the links of tasks the sync made (their storage link stays the inbox file)...
        edited = {
            "p1.txt": "/data/local-files/?d=secrets.json",
            "p2.txt": f"/data/local-files/?d={inbox.name}/../secrets.json",
            "p3.txt": f"/data/local-files/?d={outside}",
        }
        for name, link in edited.items():
            ls.tasks.update(str(synced[name]), data={"text": link})
        # ...and imports tasks of their own through the API.
        typed = _import(
            ls,
            project_id,
            [
                "/data/local-files/?d=secrets.json",
                f"/data/local-files/?d={inbox.name}/../secrets.json",
                f"/data/local-files/?d={outside}",
                "s3://another-bucket/key",
                f"/data/local-files/?d={inbox.name}/note.txt",
            ],
        )
        intake = take_in(db, ls, project_id, inbox_uri=inbox.as_uri(), files_root=root, scan=True)
        assert intake.noted == 10
        assert intake.registered == 1 and len(intake.failed) == 9 and not intake.deferred

        not_synced = "did not make this task from a storage sync"
        reasons = _check_refusals(
            db,
            ls,
            project_id,
            {
                synced["p1.txt"]: "not inside the inbox",
                synced["p2.txt"]: "'..'",
                synced["p3.txt"]: "absolute",
                synced["leak.txt"]: "symlink",
                **{task_id: not_synced for task_id in typed.values()},
            },
        )
        for task_id, reason in sorted(reasons.items()):
            print(f"task {task_id}: {reason}")

        summary = _prelabel(db, ner, ls, project_id, intake.document_ids, files_root=root)
        assert summary.in_place == 1
        note = _tasks(ls, project_id)[synced["note.txt"]].data
        assert note["text"] == NOTE and note["nerloop_state"] == "in_place"
        assert len(ls.tasks.get(str(synced["note.txt"])).predictions or []) == 1
        _assert_nothing_leaked(db, ls, project_id)

        # A second run reads nothing more and leaves the settled tasks as they are.
        again = take_in(db, ls, project_id, inbox_uri=inbox.as_uri(), files_root=root)
        assert again.registered == 0 and not again.failed
    finally:
        in_root.unlink()


def test_s3_inbox_takes_only_its_bucket_and_prefix(label_studio, db, ner, moto_s3) -> None:
    bucket = f"own-inbox-{uuid.uuid4().hex[:6]}"
    other = f"another-bucket-{uuid.uuid4().hex[:6]}"
    for name in (bucket, other):
        moto_s3.create_bucket(Bucket=name)
    moto_s3.put_object(Bucket=bucket, Key="incoming/note.txt", Body=NOTE.encode())
    moto_s3.put_object(Bucket=bucket, Key="incoming/p1.txt", Body=b"Bob Stone left Initech.")
    moto_s3.put_object(Bucket=bucket, Key="outside/secret.json", Body=SECRET)
    moto_s3.put_object(Bucket=other, Key="key", Body=SECRET)
    inbox = f"s3://{bucket}/incoming/"

    ls = ls_client.connect(label_studio.url, label_studio.token)
    project_id = ls_client.ensure_project(ls, f"intake-s3-{uuid.uuid4().hex[:6]}")
    storage = ensure_source_storage(ls, project_id, inbox, files_root=None, s3=S3Access.from_env())
    sync_source_storage(ls, storage)
    synced = {t.storage_filename: tid for tid, t in _tasks(ls, project_id).items()}
    assert set(synced) == {"incoming/note.txt", "incoming/p1.txt"}
    ls.tasks.update(str(synced["incoming/p1.txt"]), data={"text": f"s3://{other}/key"})
    typed = _import(
        ls,
        project_id,
        [
            f"s3://{other}/key",
            f"s3://{bucket}/outside/secret.json",
            f"s3://{bucket}/incoming/../outside/secret.json",
            f"s3://{bucket}/incoming/note.txt",
        ],
    )
    intake = take_in(
        db, ls, project_id, inbox_uri=inbox, files_root=None, store=ObjectStore(client=moto_s3), scan=True
    )
    assert intake.noted == 6
    assert intake.registered == 1 and len(intake.failed) == 5
    reasons = _check_refusals(
        db,
        ls,
        project_id,
        {
            synced["incoming/p1.txt"]: "not the inbox bucket",
            **{task_id: "did not make this task from a storage sync" for task_id in typed.values()},
        },
    )
    for task_id, reason in sorted(reasons.items()):
        print(f"task {task_id}: {reason}")

    summary = _prelabel(db, ner, ls, project_id, intake.document_ids, s3=moto_s3)
    assert summary.in_place == 1
    note = _tasks(ls, project_id)[synced["incoming/note.txt"]].data
    assert note["text"] == NOTE and note["nerloop_state"] == "in_place"
    _assert_nothing_leaked(db, ls, project_id)


def test_a_task_of_another_project_is_never_touched(label_studio, db, tmp_path: Path) -> None:
    """A noted id that is another project's task (or none at all) is settled failed here, and only here."""
    from include.adapters.db import source_tasks
    from include.adapters.db.connection import transaction

    ls = ls_client.connect(label_studio.url, label_studio.token)
    mine = ls_client.ensure_project(ls, f"intake-mine-{uuid.uuid4().hex[:6]}")
    theirs = ls_client.ensure_project(ls, f"intake-theirs-{uuid.uuid4().hex[:6]}")
    their_task = _import(ls, theirs, ["Grace Hall met Frank Green."])["Grace Hall met Frank Green."]
    with transaction(db):
        source_tasks.note_source_tasks(
            db, mine, [(their_task, "/data/local-files/?d=inbox/a.txt"), (10**9, "s3://b/k")]
        )
    inbox = (label_studio.document_root / "inbox").as_uri()
    summary = take_in(db, ls, mine, inbox_uri=inbox, files_root=label_studio.document_root)
    assert summary.registered == 0 and len(summary.failed) == 2
    assert all(f"in project {mine}" in f["error"] for f in summary.failed)
    assert _tasks(ls, theirs)[their_task].data == {"text": "Grace Hall met Frank Green."}


def test_a_task_ls_cannot_be_asked_about_waits_and_the_rest_go_on(
    label_studio, db, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LS failing on one task (a fault, mocked) leaves it pending, unread; the batch goes on without it."""
    import httpx

    root = label_studio.document_root
    inbox = root / f"inbox-{uuid.uuid4().hex[:8]}"
    inbox.mkdir()
    (inbox / "a.txt").write_text(NOTE)
    (inbox / "b.txt").write_text("Grace Hall met Frank Green in Oslo.")
    ls = ls_client.connect(label_studio.url, label_studio.token)
    project_id = ls_client.ensure_project(ls, f"intake-fault-{uuid.uuid4().hex[:6]}")
    storage = ensure_source_storage(ls, project_id, inbox.as_uri(), files_root=root)
    sync_source_storage(ls, storage)
    assert scan_source_tasks(db, ls, project_id) == 2
    synced = {Path(t.storage_filename).name: tid for tid, t in _tasks(ls, project_id).items()}
    real_get = ls.tasks.get

    def flaky(task_id: str, **kwargs: Any) -> Any:
        if int(task_id) == synced["a.txt"]:
            raise httpx.ConnectError("LS went away")
        return real_get(task_id, **kwargs)

    monkeypatch.setattr(ls.tasks, "get", flaky)
    first = take_in(db, ls, project_id, inbox_uri=inbox.as_uri(), files_root=root)
    assert first.registered == 1 and not first.failed
    assert [d["task"] for d in first.deferred] == [synced["a.txt"]]
    assert _settled(db, project_id)[synced["a.txt"]] == ("pending", None)
    monkeypatch.undo()
    second = take_in(db, ls, project_id, inbox_uri=inbox.as_uri(), files_root=root)
    assert second.registered == 1 and not second.deferred and not second.failed
