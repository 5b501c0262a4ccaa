"""Ingest from s3://bucket/prefix through boto3 against a local S3 server (moto on 127.0.0.1)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from devstack.samples import write_samples
from include.adapters.objectstore import ObjectStore
from include.workflows import prelabel
from include.workflows.ingest import ingest_source, list_source


@pytest.fixture
def s3(moto_s3):
    moto_s3.create_bucket(Bucket="inbox")
    return moto_s3


def test_s3_documents_are_registered_with_key_and_sha256_then_extracted(s3, db, tmp_path: Path) -> None:
    files = write_samples(tmp_path)
    for path in files:
        s3.upload_file(str(path), "inbox", f"incoming/{path.name}")
    s3.put_object(Bucket="inbox", Key="incoming/dup-of-memo.txt", Body=(tmp_path / "memo.txt").read_bytes())
    s3.put_object(Bucket="inbox", Key="other/ignored.txt", Body=b"not under the prefix")

    store = ObjectStore(client=s3)
    objects = list_source("s3://inbox/incoming/", store)
    assert len(objects) == len(files) + 1
    docs = list(ingest_source(db, "s3://inbox/incoming/", store))
    assert sum(d.created for d in docs) == len(files)  # same bytes → same document
    memo_sha = hashlib.sha256((tmp_path / "memo.txt").read_bytes()).hexdigest()
    (memo,) = {d.document_id: d for d in docs if d.sha256 == memo_sha}.values()
    # The document keeps the key where its bytes were first found (keys are listed in order).
    assert memo.uri == "s3://inbox/incoming/dup-of-memo.txt"
    with db.cursor() as cur:
        cur.execute("SELECT s3_key FROM documents WHERE id = %s", (memo.document_id,))
        assert cur.fetchone()[0] == "incoming/dup-of-memo.txt"
    db.commit()
    outcome = prelabel.extract_records(db, memo.document_id, store)
    assert outcome.status == "extracted" and outcome.records >= 1
