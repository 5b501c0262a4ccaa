"""The bootstrap CLI builds a loadable version-0 bundle (tiny: 1 layer, a WNUT-17 slice, one epoch)."""

from __future__ import annotations

import json

import torch

from include.core.bundle.read import read_bundle
from include.workflows.training.bootstrap import BOOTSTRAP_VERSION, main


def test_bootstrap_cli_writes_a_cased_bundle_and_says_where(tmp_path, capsys) -> None:
    torch.set_num_threads(1)
    out = tmp_path / "bootstrap"
    args = ["--out", str(out), "--epochs", "1", "--layers", "1", "--max-length", "32"]
    args += ["--wnut-limit", "24", "--synthetic", "24", "--synthetic-test", "12", "--threads", "1"]
    assert main(args) == 0
    assert str(out.resolve()) in capsys.readouterr().out
    info = read_bundle(out)
    assert info.model_version == BOOTSTRAP_VERSION and info.exporter_mode == "modern"
    version = info.version
    assert set(version["metrics"]) == {"wnut17_dev", "synthetic_test", "bootstrap_heldout", "training"}
    assert version["manifest"]["heldout"]["writer"] == "include.workflows.training.unseen"
    assert set(version["manifest"]["sources"]) == {"wnut17", "synthetic"}
    assert version["metrics"]["training"]["stopped_because"] == "epochs done", "a step budget, no clock"
    assert version["manifest"]["counts"]["train"] == 48 and len(version["manifest"]["sha256"]) == 64
    assert info.int8 is not None and info.int8_path is not None, "the int8 flavour, gated on synthetic test"
    assert (info.int8["gate"]["split"], info.int8["gate"]["records"]) == ("synthetic_test", 12)
    tokenizer_config = json.loads((info.tokenizer_dir / "tokenizer_config.json").read_text())
    assert tokenizer_config["do_lower_case"] is False  # word shape reaches the model


def test_bootstrap_cli_reports_a_bundle_already_there(tmp_path, capsys) -> None:
    (tmp_path / "onnx").mkdir()
    (tmp_path / "onnx" / "VERSION.json").write_text("{}")
    assert main(["--out", str(tmp_path), "--wnut-limit", "8", "--synthetic", "8", "--layers", "1"]) == 1
    assert "already holds a bundle" in capsys.readouterr().err


def test_a_bootstrap_without_wnut17_names_only_its_generated_gold_as_sources() -> None:
    from include.workflows.training.bootstrap import BootstrapPlan, _manifest

    with_wnut = _manifest(BootstrapPlan(), {"train": 1})
    without = _manifest(BootstrapPlan(wnut17=False), {"train": 1})
    assert set(with_wnut["sources"]) == {"wnut17", "synthetic"} and set(without["sources"]) == {"synthetic"}
    assert with_wnut["sha256"] != without["sha256"]
