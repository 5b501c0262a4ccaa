"""The object store: one location type for "a local path or s3://", and the same operations on both."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from include.adapters.objectstore import ObjectStore
from include.core.locations import Location, S3Config


def test_locations_parse_paths_file_uris_and_s3_and_refuse_the_rest(tmp_path: Path) -> None:
    assert Location.parse(str(tmp_path)) == Location(path=tmp_path)
    assert Location.parse(tmp_path.as_uri()) == Location(path=tmp_path)
    assert Location.parse("file:///tmp/a%20b").local == Path("/tmp/a b")
    s3 = Location.parse("s3://bucket/in/coming/")
    assert (s3.is_s3, s3.bucket, s3.key, s3.uri) == (True, "bucket", "in/coming", "s3://bucket/in/coming")
    assert Location.parse("s3://bucket").uri == "s3://bucket"
    assert s3.child("a/b.txt").uri == "s3://bucket/in/coming/a/b.txt"
    assert s3.child("a/b.txt").parent == Location(bucket="bucket", key="in/coming/a")
    assert Location.parse(tmp_path).child("x/y").local == tmp_path / "x" / "y"
    for bad in ("http://host/x", "s3a://b/k", "s3:///key", "s3://b/in/../out", "/srv/in/../etc", ""):
        with pytest.raises(ValueError):
            Location.parse(bad)
    with pytest.raises(ValueError):
        s3.child("../other")
    assert Location.parse(tmp_path / "in" / "a.txt").under(tmp_path).as_posix() == "in/a.txt"
    assert Location.parse("/elsewhere/a.txt").under(tmp_path) is None
    assert s3.under(tmp_path) is None


def test_local_store_lists_without_hidden_files_or_symlinks_and_writes_in_one_step(tmp_path: Path) -> None:
    store = ObjectStore()
    (tmp_path / "in" / "deep").mkdir(parents=True)
    (tmp_path / "in" / "a.txt").write_bytes(b"a")
    (tmp_path / "in" / "deep" / "b.txt").write_bytes(b"bb")
    (tmp_path / "in" / ".hidden").write_bytes(b"h")
    (tmp_path / "secret.txt").write_bytes(b"s")
    os.symlink(tmp_path / "secret.txt", tmp_path / "in" / "link.txt")
    inbox = tmp_path / "in"
    assert [(o.name, o.size) for o in store.list(inbox)] == [("a.txt", 1), ("b.txt", 2)]
    assert [o.name for o in store.list(inbox.as_uri(), recursive=False)] == ["a.txt"]
    assert store.folders(inbox) == ["deep"]
    with pytest.raises(OSError):
        store.open(inbox / "link.txt")  # O_NOFOLLOW
    with pytest.raises(FileNotFoundError):
        store.list(tmp_path / "missing")
    page = Location.parse(inbox).child(".nerloop/pages/p.png")
    assert not store.exists(page)
    store.write(page, b"png")
    assert store.exists(page) and store.read(page) == b"png"
    assert not list(page.local.parent.glob("*.partial"))
    store.delete([page])
    assert not store.exists(page)


def test_s3_store_reads_writes_lists_copies_and_deletes(moto_s3) -> None:
    moto_s3.create_bucket(Bucket="store")
    store = ObjectStore(client=moto_s3)
    root = Location.parse("s3://store/in")
    store.write(root.child("a.txt"), b"a", content_type="text/plain")
    store.write(root.child("deep/b.txt"), b"bb")
    store.write(root.child(".nerloop/pages/p.png"), b"png")
    moto_s3.put_object(Bucket="store", Key="inbox-other/c.txt", Body=b"not under in/")
    assert [(o.uri, o.s3_key, o.size) for o in store.list(root)] == [
        ("s3://store/in/a.txt", "in/a.txt", 1),
        ("s3://store/in/deep/b.txt", "in/deep/b.txt", 2),
    ]
    assert [o.name for o in store.list(root, recursive=False)] == ["a.txt"]
    assert store.folders(root) == [".nerloop", "deep"]
    assert store.exists(root.child("a.txt")) and not store.exists(root.child("nope"))
    with pytest.raises(FileNotFoundError):
        store.read(root.child("nope"))
    store.copy(root.child("a.txt"), root.child("copy/a.txt"))
    assert store.read("s3://store/in/copy/a.txt") == b"a"
    store.delete(store.keys(root))
    assert store.list(root) == []


def test_the_s3_client_is_made_once_on_first_use_from_the_settings(moto_endpoint: str) -> None:
    made: list[S3Config] = []

    def connect(config: S3Config) -> object:
        made.append(config)
        return object()

    store = ObjectStore(S3Config(endpoint_url=moto_endpoint), connect=connect)
    assert not made, "a store of local files never makes an S3 client"
    assert store.s3 is store.s3 and made == [S3Config(endpoint_url=moto_endpoint)]


def test_a_task_store_takes_its_session_endpoint_and_botocore_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """What `nerloop_airflow.hooks.object_store` hands over from the AWS connection reaches the client."""
    import boto3
    from botocore.config import Config

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    session = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="eu-west-1")
    store = ObjectStore.from_settings(
        session=session,
        endpoint_url="http://127.0.0.1:9",
        config=Config(s3={"addressing_style": "path"}),
        verify=False,
    )
    client = store.s3
    assert (client.meta.endpoint_url, client.meta.region_name) == ("http://127.0.0.1:9", "eu-west-1")
    assert client.meta.config.s3 == {"addressing_style": "path"}
