"""Publishing bundles to a model repository: local folder (renames) and S3 (moto server on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from include.adapters.objectstore import ObjectStore
from include.adapters.serving.repository import (
    STAGING,
    LocalRepository,
    open_repository,
    pin_version,
    pinned,
    publish_bundle,
    served_versions,
    version_info,
)
from include.core.bundle.config import parse_config
from include.core.bundle.format import BundleError
from include.core.bundle.read import read_bundle
from include.core.locations import S3Config
from tests.helpers.bundle import placeholder_bundle, tampered_bundle


@pytest.fixture
def bundles(tmp_path: Path) -> list[Path]:
    return [placeholder_bundle(tmp_path / f"bundle-{i}", f"m-{i}") for i in range(1, 6)]


def test_publish_writes_numbered_versions_and_pins_the_newest(tmp_path: Path, bundles: list[Path]):
    repo = tmp_path / "repo"
    first = publish_bundle(bundles[0], repo, "ner", "python")
    second = publish_bundle(bundles[1], repo, "ner", "python")
    assert (first.version, second.version, second.previous) == (1, 2, 1)
    assert sorted(p.name for p in (repo / "ner" / "2").iterdir()) == [
        "VERSION.json",
        "exporter_mode.txt",
        "model.onnx",
        "model.py",
    ]
    assert (repo / "ner" / "2" / "model.onnx").read_bytes() == b"onnx m-2"
    assert version_info(repo, "ner", 2)["model_version"] == "m-2"
    config = parse_config((repo / "ner" / "config.pbtxt").read_text())
    assert list(config.version_policy.specific.versions) == [2]
    assert config.parameters["model_version"].string_value == "m-2"
    assert config.backend == "python"
    assert sorted(p.name for p in (repo / "ner").iterdir()) == ["1", "2", "config.pbtxt"], "no staging left"


def test_the_published_config_is_the_bundles_pinned_to_the_version(tmp_path: Path):
    bundle = read_bundle(placeholder_bundle(tmp_path / "b", "m-1", max_batch_size=4))
    written = parse_config(bundle.config_path.read_text())
    publish_bundle(bundle.root, tmp_path / "repo", "ner")
    published = parse_config((tmp_path / "repo" / "ner" / "config.pbtxt").read_text())
    assert list(published.version_policy.specific.versions) == [1] and published.max_batch_size == 4
    published.ClearField("version_policy")
    assert published == written, "only the version pin differs"


def test_publishing_as_python_changes_where_it_runs_not_what_it_is(tmp_path: Path):
    bundle = read_bundle(placeholder_bundle(tmp_path / "b", "m-1", max_batch_size=4))
    written = parse_config(bundle.config_path.read_text())
    publish_bundle(bundle.root, tmp_path / "repo", "other", "python", intra_op_threads=3)
    published = parse_config((tmp_path / "repo" / "other" / "config.pbtxt").read_text())
    assert (published.name, published.backend, published.platform) == ("other", "python", "")
    assert written.platform == "onnxruntime_onnx"
    assert published.max_batch_size == 4 and list(published.output) == list(written.output)
    assert [(i.name, list(i.dims), i.allow_ragged_batch) for i in published.input] == [
        ("input_ids", [-1], True),
        ("attention_mask", [-1], True),
    ]
    assert published.parameters["model_version"].string_value == "m-1"
    assert published.parameters["intra_op_thread_count"].string_value == "3"


def test_a_changed_file_stops_the_publish_before_anything_is_written(tmp_path: Path, bundles: list[Path]):
    repo = tmp_path / "repo"
    publish_bundle(bundles[0], repo, "ner", "python")
    config_before = (repo / "ner" / "config.pbtxt").read_text()
    tampered = tampered_bundle(bundles[1], tmp_path / "tampered", b"onnx m-1")
    with pytest.raises(BundleError, match=r"tampered/onnx/model\.onnx: sha256 differs"):
        publish_bundle(tampered, repo, "ner", "python")
    assert served_versions(repo, "ner") == [1]
    assert (repo / "ner" / "config.pbtxt").read_text() == config_before


def test_onnxruntime_flavour_has_no_model_py(tmp_path: Path, bundles: list[Path]):
    publish_bundle(bundles[0], tmp_path, "ner", "onnxruntime")
    assert not (tmp_path / "ner" / "1" / "model.py").exists()
    assert parse_config((tmp_path / "ner" / "config.pbtxt").read_text()).platform == "onnxruntime_onnx"


def test_keeps_the_last_k_versions_and_never_the_served_one(tmp_path: Path, bundles: list[Path]):
    repo = tmp_path / "repo"
    for bundle in bundles[:4]:
        publish_bundle(bundle, repo, "ner", keep=3)
    assert served_versions(repo, "ner") == [2, 3, 4]
    pin_version(repo, "ner", 2)
    result = publish_bundle(bundles[4], repo, "ner", keep=2)
    assert result.previous == 2 and result.removed == [3]
    assert served_versions(repo, "ner") == [2, 4, 5]


def test_a_taken_version_number_moves_to_the_next(tmp_path: Path, bundles: list[Path]):
    repo = LocalRepository(tmp_path)
    publish_bundle(bundles[0], repo, "ner")
    (tmp_path / "ner" / "2").mkdir()
    (tmp_path / "ner" / "2" / "other-writer").write_text("x")
    assert publish_bundle(bundles[1], repo, "ner").version == 3


def test_pin_version_rewrites_config_for_rollback(tmp_path: Path, bundles: list[Path]):
    publish_bundle(bundles[0], tmp_path, "ner")
    publish_bundle(bundles[1], tmp_path, "ner")
    pin_version(tmp_path, "ner", 1)
    assert pinned(tmp_path, "ner") == 1
    config = parse_config((tmp_path / "ner" / "config.pbtxt").read_text())
    assert config.parameters["model_version"].string_value == "m-1"
    with pytest.raises(FileNotFoundError, match="no such version"):
        pin_version(tmp_path, "ner", 7)


def test_file_uri_is_a_local_repository(tmp_path: Path):
    assert open_repository(tmp_path.as_uri()) == LocalRepository(tmp_path)


def test_s3_repository_publishes_pins_and_prunes(
    moto_endpoint: str, bundles: list[Path], monkeypatch: pytest.MonkeyPatch
):
    import boto3

    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    s3.create_bucket(Bucket="models")
    repo = open_repository("s3://models/triton", ObjectStore(S3Config(endpoint_url=moto_endpoint)))
    for bundle in bundles[:4]:
        publish_bundle(bundle, repo, "ner", "python", keep=3)
    assert served_versions(repo, "ner") == [2, 3, 4]
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="models")["Contents"])
    assert "triton/ner/config.pbtxt" in keys
    assert {k.rsplit("/", 1)[1] for k in keys if k.startswith("triton/ner/4/")} == {
        "VERSION.json",
        "exporter_mode.txt",
        "model.onnx",
        "model.py",
    }
    assert not [k for k in keys if "/.staging/" in k], "staged uploads are removed"
    assert s3.get_object(Bucket="models", Key="triton/ner/4/model.onnx")["Body"].read() == b"onnx m-4"
    assert pinned(repo, "ner") == 4
    pin_version(repo, "ner", 3)
    assert pinned(repo, "ner") == 3
    assert version_info(repo, "ner", 3)["model_version"] == "m-3"


CRASHING_PUBLISH = """
import os, shutil, sys
from pathlib import Path
from include.adapters.serving import repository as r

real_copy, real_write = shutil.copyfile, r.LocalRepository.write_text

def copy_then_die(src, dst, *args, **kwargs):
    real_copy(src, dst, *args, **kwargs)
    os._exit(137)

def die_before_config(self, model, name, text):
    if name == "config.pbtxt":
        os._exit(137)
    return real_write(self, model, name, text)

if sys.argv[3] == "mid-copy":
    shutil.copyfile = copy_then_die
else:
    r.LocalRepository.write_text = die_before_config
r.publish_bundle(Path(sys.argv[1]), Path(sys.argv[2]), "ner", "python")
"""


def _tree_digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("crash_point", ["mid-copy", "before-config"])
def test_a_publish_killed_midway_leaves_the_served_version_intact(
    tmp_path: Path, bundles: list[Path], crash_point: str
):
    repo = tmp_path / "repo"
    publish_bundle(bundles[0], repo, "ner", "python")
    config_before = (repo / "ner" / "config.pbtxt").read_text()
    files_before = _tree_digest(repo / "ner" / "1")

    root = Path(__file__).resolve().parents[2]
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_PUBLISH, str(bundles[1]), str(repo), crash_point],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert crashed.returncode == 137, crashed.stderr[-2000:]

    assert (repo / "ner" / "config.pbtxt").read_text() == config_before
    assert pinned(repo, "ner") == 1
    assert _tree_digest(repo / "ner" / "1") == files_before
    assert served_versions(repo, "ner") == ([1] if crash_point == "mid-copy" else [1, 2])

    after = publish_bundle(bundles[2], repo, "ner", "python")
    assert after.previous == 1 and pinned(repo, "ner") == after.version
    assert version_info(repo, "ner", after.version)["model_version"] == "m-3"
    assert _tree_digest(repo / "ner" / "1") == files_before


def test_staging_left_by_a_crash_is_swept_once_stale(tmp_path: Path, bundles: list[Path]):
    repo = tmp_path / "repo"
    publish_bundle(bundles[0], repo, "ner", "python")
    fresh, stale = repo / "ner" / STAGING / "fresh", repo / "ner" / STAGING / "stale"
    for leftover in (fresh, stale):
        leftover.mkdir(parents=True)
        (leftover / "model.onnx").write_bytes(b"half")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    publish_bundle(bundles[1], repo, "ner", "python")
    assert fresh.is_dir(), "a fresh staging folder may belong to a publisher still running"
    assert not stale.exists()
    assert served_versions(repo, "ner") == [1, 2]
