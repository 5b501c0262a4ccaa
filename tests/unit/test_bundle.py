"""The bundle package: writing, the strict reader (files, keys, consistency, hashes), the layout, and that
it imports nothing above it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from include.core.bundle.format import REQUIRED_FILES, VERSION_KEYS, BundleError, new_model_version
from include.core.bundle.layout import BundleLayout
from include.core.bundle.read import read_bundle
from include.core.bundle.write import ExportedModel, VersionRecord, write_bundle
from include.core.hashing import sha256_file
from include.core.labels import DEFAULT_LABELS, bio_tags
from include.core.settings import PROJECT_ROOT
from tests.helpers.bundle import base_encoder_dir, placeholder_bundle, placeholder_weights


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return placeholder_bundle(tmp_path / "b", "m-1")


def test_a_written_bundle_reads_back_with_every_file_hashed(bundle: Path) -> None:
    read = read_bundle(bundle)
    assert (read.model_version, read.labels, read.tags) == ("m-1", DEFAULT_LABELS, tuple(bio_tags()))
    assert read.model_path == read.onnx_path == bundle / "onnx" / "model.onnx"
    assert set(VERSION_KEYS) <= set(read.version)
    for name in REQUIRED_FILES:
        assert (bundle / name).is_file(), name
    files = read.version["files"]
    assert set(files) >= {n for n in REQUIRED_FILES if n != "onnx/VERSION.json"}
    assert files["onnx/model.onnx"] == sha256_file(read.model_path)
    assert "tokenizer/vocab.txt" in files
    assert 'string_value: "m-1"' in read.config_path.read_text()


@pytest.mark.parametrize(
    "name",
    [
        "onnx/model.onnx",
        "onnx/config.pbtxt",
        "onnx/exporter_mode.txt",
        "tokenizer/vocab.txt",
        "model/model.safetensors",
        "model/config.json",
    ],
)
def test_a_changed_file_is_named(bundle: Path, name: str) -> None:
    path = bundle / name
    path.write_bytes(path.read_bytes() + b"\n")
    with pytest.raises(BundleError, match=rf"{name}: .*(sha256 differs|VERSION.json says)"):
        read_bundle(bundle)


@pytest.mark.parametrize(
    "name",
    ["onnx/model.onnx", "tokenizer/tokenizer_config.json", "labels.json", "model/model.safetensors"],
)
def test_a_missing_file_is_named(bundle: Path, name: str) -> None:
    (bundle / name).unlink()
    with pytest.raises(BundleError, match=rf"{name}: missing"):
        read_bundle(bundle)


def test_a_bundle_without_weights_is_refused_when_written_and_when_read(bundle: Path, tmp_path: Path) -> None:
    no_weights = tmp_path / "no-weights"
    no_weights.mkdir()
    (no_weights / "config.json").write_text("{}")
    with pytest.raises(BundleError, match=r"model\.safetensors: missing \(the bundle carries the trained"):
        placeholder_bundle(tmp_path / "never", "m-9", weights_dir=no_weights)
    edit_version(bundle, lambda v: v["files"].pop("model/model.safetensors"))
    with pytest.raises(BundleError, match=r"no sha256 for \['model/model\.safetensors'\]"):
        read_bundle(bundle)


def test_a_hashed_extra_file_that_went_missing_is_named(bundle: Path) -> None:
    (bundle / "tokenizer" / "special_tokens_map.json").unlink()
    with pytest.raises(BundleError, match=r"special_tokens_map\.json: missing"):
        read_bundle(bundle)


def edit_version(bundle: Path, change) -> None:
    path = bundle / "onnx" / "VERSION.json"
    version = json.loads(path.read_text())
    change(version)
    path.write_text(json.dumps(version))


def test_missing_keys_and_hashes_are_refused(bundle: Path) -> None:
    edit_version(bundle, lambda v: v.pop("files"))
    with pytest.raises(BundleError, match=r"VERSION\.json: missing keys \['files'\]"):
        read_bundle(bundle)
    edit_version(bundle, lambda v: v.update(files={"onnx/model.onnx": "0" * 64}))
    with pytest.raises(BundleError, match=r"no sha256 for \['onnx/config.pbtxt'"):
        read_bundle(bundle)


def test_labels_that_disagree_with_version_json_are_refused(bundle: Path) -> None:
    edit_version(bundle, lambda v: v.update(labels=["PERSON"], tags=bio_tags(("PERSON",))))
    with pytest.raises(BundleError, match=r"labels\.json: labels/tags differ"):
        read_bundle(bundle)


def test_a_config_for_another_model_version_is_refused(bundle: Path) -> None:
    edit_version(bundle, lambda v: v.update(model_version="m-2"))
    with pytest.raises(BundleError, match=r"config\.pbtxt: model_version 'm-1' \(VERSION\.json says 'm-2'\)"):
        read_bundle(bundle)


def test_writing_is_all_or_nothing_and_never_over_a_bundle(bundle: Path, tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="already holds a bundle"):
        placeholder_bundle(bundle, "m-2")
    empty_tokenizer = tmp_path / "no-tokenizer"
    empty_tokenizer.mkdir()
    with pytest.raises(BundleError, match=r"tokenizer\.json: missing"):
        write_bundle(
            tmp_path / "never",
            ExportedModel(
                onnx_path=bundle / "onnx" / "model.onnx",
                exporter_mode="modern",
                tokenizer_dir=empty_tokenizer,
                weights_dir=placeholder_weights(),
            ),
            VersionRecord(
                labels=DEFAULT_LABELS, model_version="m-3", base_model="x", manifest={}, metrics={}
            ),
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "no-tokenizer"], "no staging left behind"


def test_an_unknown_exporter_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="exporter_mode 'magic'"):
        write_bundle(
            tmp_path / "b",
            ExportedModel(
                onnx_path=base_encoder_dir() / "vocab.txt",
                exporter_mode="magic",
                tokenizer_dir=base_encoder_dir(),
                weights_dir=placeholder_weights(),
            ),
            VersionRecord(labels=DEFAULT_LABELS, model_version="m", base_model="x", manifest={}, metrics={}),
        )


def test_layout_names_runs_and_repoints_current_atomically(tmp_path: Path) -> None:
    layout = BundleLayout(tmp_path / "bundles")
    assert layout.current() is None
    run = layout.new_run_dir(datetime(2026, 3, 1, 2, 0, 5, tzinfo=UTC))
    assert run == tmp_path / "bundles" / "run-20260301T020005"
    first, second = placeholder_bundle(run, "m-1"), placeholder_bundle(layout.named("bootstrap-0"), "m-0")
    assert layout.point_current(first) == layout.current_link == layout.current()
    assert read_bundle(layout.current_link).model_version == "m-1"
    layout.point_current(second)
    assert os.readlink(layout.current_link) == str(second.resolve())
    assert sorted(p.name for p in layout.root.iterdir()) == ["bootstrap-0", "current", run.name]
    with pytest.raises(ValueError, match="not a bundle folder name"):
        layout.named("current")


def test_layout_defaults_to_the_state_dir(tmp_path: Path) -> None:
    assert BundleLayout.from_state_dir(tmp_path).root == tmp_path / "bundles"


def test_model_version_names_time_and_manifest() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert new_model_version("ab" * 32, when) == "ner-20260102-030405-abababab"


def test_bundle_and_serving_import_without_torch_or_transformers() -> None:
    code = (
        "import sys, include.core.bundle.read, include.core.bundle.write, "
        "include.adapters.serving.repository, include.workflows.release; "
        "heavy = {'torch', 'transformers'} & set(sys.modules); assert not heavy, heavy"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_bundle_package_imports_nothing_above_it() -> None:
    """Format, config, layout, write and read load, and write and read a bundle, with no serving, training,
    database, NER or object-store module imported."""
    code = (
        "import sys, tempfile, pathlib; "
        "import include.core.bundle.format, include.core.bundle.config, include.core.bundle.layout, "
        "include.core.bundle.read; "
        "import include.core.bundle.write; "
        "from tests.helpers.bundle import placeholder_bundle; "
        "include.core.bundle.read.read_bundle(placeholder_bundle(pathlib.Path(tempfile.mkdtemp()) / 'b', "
        "'m-1')); "
        "above = ('include.adapters.serving', 'include.workflows.training', 'include.adapters.db', "
        "'include.adapters.ner', 'include.adapters.objectstore', "
        "'include.workflows.release', 'include.adapters.label_studio'); "
        "loaded = sorted(m for m in sys.modules if m.startswith(above)); assert not loaded, loaded"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]


def int8_placeholder(tmp_path: Path, gate: dict | None = None) -> Path:
    int8 = tmp_path / "int8.onnx"
    int8.write_bytes(b"onnx int8 m-1")
    record = {
        "quantization": {"weights": "QInt8, per channel"},
        "gate": gate or {"passed": True, "reason": "ok"},
    }
    return placeholder_bundle(tmp_path / "b8", "m-1", int8_onnx_path=int8, int8=record)


def test_the_int8_flavour_is_recorded_hashed_and_verified_by_the_strict_reader(tmp_path: Path) -> None:
    bundle = int8_placeholder(tmp_path)
    read = read_bundle(bundle)
    assert read.version["precision"] == "fp32"
    assert read.int8 is not None and read.int8["file"] == "onnx/model.int8.onnx"
    assert read.int8["quantization"] == {"weights": "QInt8, per channel"}
    assert read.int8_path == read.flavour_path("int8") == bundle / "onnx" / "model.int8.onnx"
    assert read.version["files"]["onnx/model.int8.onnx"] == sha256_file(bundle / "onnx" / "model.int8.onnx")
    assert read.int8_gate_passed
    path = bundle / "onnx" / "model.int8.onnx"
    path.write_bytes(b"another int8 model")
    with pytest.raises(BundleError, match=r"model\.int8\.onnx: sha256 differs from VERSION\.json"):
        read_bundle(bundle)
    path.unlink()
    with pytest.raises(BundleError, match=r"model\.int8\.onnx: missing"):
        read_bundle(bundle)


def test_an_int8_file_must_be_hashed_and_gated(tmp_path: Path) -> None:
    bundle = int8_placeholder(tmp_path)
    edit_version(bundle, lambda v: v["files"].pop("onnx/model.int8.onnx"))
    with pytest.raises(BundleError, match=r"no sha256 for \['onnx/model\.int8\.onnx'\]"):
        read_bundle(bundle)
    edit_version(bundle, lambda v: v["int8"].pop("gate"))
    with pytest.raises(BundleError, match=r"'int8' needs a 'gate' record"):
        read_bundle(bundle)


def test_a_bundle_without_int8_has_only_fp32(bundle: Path) -> None:
    read = read_bundle(bundle)
    assert (read.int8, read.int8_path, read.int8_gate_passed) == (None, None, False)
    assert read.flavour_path("fp32") == read.model_path
    with pytest.raises(BundleError, match="no 'int8' flavour"):
        read.flavour_path("int8")
