"""What the intake reads for a storage task: only a file of the project's own inbox (issue #23).

`inbox_file` decides from the link, LS's storage key and the project's storages; the ingest never follows a
symlink. These need no server; tests/security/test_intake_storage_tasks.py runs the same refusals through
the real Label Studio.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from include.adapters.objectstore import open_local
from include.workflows.ingest import list_source, read_object
from include.workflows.intake.register import InboxFile, NotOurFile, OwnStorage, inbox_file

SECRET = b'{"webhook_secret": "do-not-leak"}'


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A document root holding the inbox, with a secret beside it and another outside the root."""
    files = tmp_path / "files"
    (files / "inbox" / "sub").mkdir(parents=True)
    (files / "inbox" / "note.txt").write_text("Jane Smith joined Acme.")
    (files / "inbox" / "sub" / "deep.txt").write_text("Bob Stone left Initech.")
    (files / "secrets.json").write_bytes(SECRET)
    (tmp_path / "outside.json").write_bytes(SECRET)
    return files


def _local(link: str, key: str | None, root: Path, ls_path: str | None = None) -> InboxFile:
    storages = [OwnStorage("local", 1, path=ls_path or str(root / "inbox"))]
    return inbox_file(link, key, inbox_uri=(root / "inbox").as_uri(), files_root=root, storages=storages)


def test_a_file_the_storage_made_a_task_for_is_taken_in(root: Path) -> None:
    key = str(root / "inbox" / "note.txt")
    got = _local("/data/local-files/?d=inbox/note.txt", key, root)
    assert got == InboxFile(uri=(root / "inbox" / "note.txt").as_uri(), name="note.txt")
    # LS may see the same folder under its own mount (docker): its key names that path.
    mounted = _local(
        "http://ls:8080/data/local-files/?d=inbox/sub/deep.txt",
        "/label-studio/files/inbox/sub/deep.txt",
        root,
        ls_path="/label-studio/files/inbox",
    )
    assert mounted.name == "deep.txt"


@pytest.mark.parametrize(
    ("link", "key", "why"),
    [
        ("/data/local-files/?d=secrets.json", None, "did not make this task from a storage sync"),
        ("/data/local-files/?d=inbox/note.txt", None, "did not make this task from a storage sync"),
        ("/data/local-files/?d=secrets.json", "{inbox}/note.txt", "not inside the inbox"),
        ("/data/local-files/?d=inbox/../secrets.json", "{inbox}/note.txt", "'..'"),
        ("/data/local-files/?d=inbox/%2e%2e/secrets.json", "{inbox}/note.txt", "'..'"),
        ("/data/local-files/?d=inbox/./note.txt", "{inbox}/note.txt", "'..', '.'"),
        ("/data/local-files/?d={outside}", "{inbox}/note.txt", "absolute"),
        ("/data/local-files/?d=inbox\\..\\secrets.json", "{inbox}/note.txt", "malformed"),
        ("/data/local-files/?d=inbox/sub/deep.txt", "{inbox}/note.txt", "not the file LS's storage made"),
        ("/data/local-files/?d=inbox/.nerloop/pages/x.png", "{inbox}/.nerloop/pages/x.png", "hidden"),
        ("/data/local-files/?d=inbox/note.txt&d=secrets.json", "{inbox}/note.txt", "not a link"),
        ("s3://another-bucket/key", "{inbox}/note.txt", "not a link to LS's local files"),
        ("/data/local-files/?d=inbox/missing.txt", "{inbox}/missing.txt", "No such file"),
    ],
)
def test_anything_else_is_refused_with_its_reason(root: Path, link: str, key: str | None, why: str) -> None:
    outside = root.parent / "outside.json"
    link = link.format(outside=outside)
    key = key.format(inbox=root / "inbox") if key else None
    with pytest.raises(NotOurFile) as refused:
        _local(link, key, root)
    assert why in str(refused.value)


def test_a_symlink_in_the_inbox_is_never_followed(root: Path) -> None:
    inbox = root / "inbox"
    (inbox / "leak.txt").symlink_to(root.parent / "outside.json")
    (inbox / "linked-dir").symlink_to(root.parent, target_is_directory=True)
    for name in ("leak.txt", "linked-dir/outside.json"):
        with pytest.raises(NotOurFile, match="symlink"):
            _local(f"/data/local-files/?d=inbox/{name}", str(inbox / name), root)
    # The inbox ingest skips them too, and opening one by name fails rather than following it.
    assert sorted(o.name for o in list_source(inbox.as_uri())) == ["deep.txt", "note.txt"]
    with pytest.raises(OSError):
        open_local(inbox / "leak.txt")
    with pytest.raises(OSError):
        read_object((inbox / "leak.txt").as_uri())
    fifo = inbox / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        open_local(fifo)


def test_no_storage_or_no_root_takes_nothing(root: Path) -> None:
    key = str(root / "inbox" / "note.txt")
    inbox = (root / "inbox").as_uri()
    with pytest.raises(NotOurFile, match="no source storage"):
        inbox_file("/data/local-files/?d=inbox/note.txt", key, inbox_uri=inbox, files_root=root, storages=[])
    with pytest.raises(NotOurFile, match="LABEL_STUDIO_FILES_ROOT"):
        inbox_file(
            "/data/local-files/?d=inbox/note.txt",
            key,
            inbox_uri=inbox,
            files_root=None,
            storages=[OwnStorage("local", 1, path=str(root / "inbox"))],
        )


S3_STORAGE = [OwnStorage("s3", 7, bucket="own-inbox", prefix="incoming")]


def test_an_object_of_the_inbox_bucket_and_prefix_is_taken_in() -> None:
    got = inbox_file(
        "s3://own-inbox/incoming/a b.pdf",
        "incoming/a b.pdf",
        inbox_uri="s3://own-inbox/incoming/",
        files_root=None,
        storages=S3_STORAGE,
    )
    assert got == InboxFile(uri="s3://own-inbox/incoming/a b.pdf", name="a b.pdf", s3_key="incoming/a b.pdf")


@pytest.mark.parametrize(
    ("link", "key", "why"),
    [
        ("s3://another-bucket/key", None, "did not make this task from a storage sync"),
        ("s3://another-bucket/incoming/a.txt", "incoming/a.txt", "not the inbox bucket"),
        ("s3://own-inbox/outside/secret.txt", "incoming/a.txt", "not the object LS's storage made"),
        ("s3://own-inbox/outside/secret.txt", "outside/secret.txt", "not under the inbox prefix"),
        ("s3://own-inbox/incoming-evil/a.txt", "incoming-evil/a.txt", "not under the inbox prefix"),
        ("s3://own-inbox/incoming/../outside/s.txt", "incoming/../outside/s.txt", "'..'"),
        ("s3://own-inbox/incoming/.nerloop/pages/p.png", "incoming/.nerloop/pages/p.png", "hidden"),
        ("/data/local-files/?d=secrets.json", "incoming/a.txt", "not an object of the inbox bucket"),
    ],
)
def test_other_buckets_prefixes_and_keys_are_refused(link: str, key: str | None, why: str) -> None:
    with pytest.raises(NotOurFile) as refused:
        inbox_file(link, key, inbox_uri="s3://own-inbox/incoming/", files_root=None, storages=S3_STORAGE)
    assert why in str(refused.value)
