"""config.pbtxt built as a model_config_pb2 message: both flavours, version pinning, parameters."""

from __future__ import annotations

import pytest
from tritonclient.grpc import model_config_pb2 as pb

from include.core.bundle.config import build_config, parse_config, pinned_version, with_pinned_version


def test_onnxruntime_flavour_runs_on_gpu_with_preferred_batches():
    config = parse_config(build_config("ner", 17, "onnxruntime"))
    assert config.name == "ner" and config.platform == "onnxruntime_onnx" and not config.backend
    assert config.max_batch_size == 16
    assert [g.kind for g in config.instance_group] == [pb.ModelInstanceGroup.KIND_GPU]
    assert list(config.dynamic_batching.preferred_batch_size) == [8, 16]
    assert 0 < config.dynamic_batching.max_queue_delay_microseconds <= 10_000
    assert pinned_version(config) is None


def test_python_flavour_runs_one_cpu_instance_and_accepts_ragged_batches():
    config = parse_config(build_config("ner", 17, "python", max_batch_size=8))
    assert config.backend == "python" and not config.platform
    assert [(g.kind, g.count) for g in config.instance_group] == [(pb.ModelInstanceGroup.KIND_CPU, 1)]
    assert config.HasField("dynamic_batching")
    assert all(i.allow_ragged_batch for i in config.input)


@pytest.mark.parametrize("flavour", ["onnxruntime", "python"])
def test_inputs_and_output_match_the_token_classifier(flavour):
    config = parse_config(build_config("ner", 17, flavour))
    assert [(i.name, i.data_type, list(i.dims)) for i in config.input] == [
        ("input_ids", pb.TYPE_INT64, [-1]),
        ("attention_mask", pb.TYPE_INT64, [-1]),
    ]
    assert [(o.name, o.data_type, list(o.dims)) for o in config.output] == [
        ("logits", pb.TYPE_FP32, [-1, 17])
    ]


def test_version_pin_and_parameters_round_trip():
    text = build_config("ner", 17, "python", version=3, parameters={"model_version": "m-3"})
    assert "specific" in text and "versions: 3" in text
    repinned = parse_config(with_pinned_version(text, 2, {"model_version": "m-2"}))
    assert pinned_version(repinned) == 2
    assert repinned.parameters["model_version"].string_value == "m-2"


def test_unknown_flavour_is_refused():
    with pytest.raises(ValueError, match="flavour"):
        build_config("ner", 17, "tensorrt")  # type: ignore[arg-type]
