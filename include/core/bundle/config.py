"""The Triton config.pbtxt of the token classifier: built as a model_config_pb2 message and written as text
into every bundle (onnx/config.pbtxt), parsed back by the strict reader, and rewritten as a model repository
serves it (named, pinned to a version, switched to a flavour)."""

from __future__ import annotations

from typing import Literal

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as pb

Flavour = Literal["onnxruntime", "python"]

PREFERRED_BATCH_SIZES = (8, 16)
MAX_QUEUE_DELAY_US = 2000


def build_model_config(
    model_name: str,
    num_tags: int,
    flavour: Flavour,
    max_batch_size: int = 16,
    version: int | None = None,
    parameters: dict[str, str] | None = None,
) -> pb.ModelConfig:
    """The config message: GPU onnxruntime for production, or a CPU python-backend model running ORT.

    `version` pins the served version (`version_policy: specific`), so a rollback is a config rewrite plus a
    load. `parameters` land in the config's string parameters (the python flavour reads its thread counts
    there; `model_version` names the bundle a served version came from).
    """
    config = pb.ModelConfig(name=model_name, max_batch_size=max_batch_size)
    ragged = flavour == "python"
    for name in ("input_ids", "attention_mask"):
        config.input.append(
            pb.ModelInput(name=name, data_type=pb.TYPE_INT64, dims=[-1], allow_ragged_batch=ragged)
        )
    config.output.append(pb.ModelOutput(name="logits", data_type=pb.TYPE_FP32, dims=[-1, num_tags]))
    if flavour == "onnxruntime":
        config.platform = "onnxruntime_onnx"
        config.instance_group.append(pb.ModelInstanceGroup(kind=pb.ModelInstanceGroup.KIND_GPU, count=1))
        config.dynamic_batching.preferred_batch_size.extend(
            [size for size in PREFERRED_BATCH_SIZES if size <= max_batch_size]
        )
        config.dynamic_batching.max_queue_delay_microseconds = MAX_QUEUE_DELAY_US
    elif flavour == "python":
        config.backend = "python"
        config.instance_group.append(pb.ModelInstanceGroup(kind=pb.ModelInstanceGroup.KIND_CPU, count=1))
        config.dynamic_batching.max_queue_delay_microseconds = MAX_QUEUE_DELAY_US
    else:
        raise ValueError(f"unknown flavour {flavour!r}: expected 'onnxruntime' or 'python'")
    if version is not None:
        config.version_policy.specific.versions.append(version)
    for key, value in (parameters or {}).items():
        config.parameters[key].string_value = str(value)
    return config


def build_config(
    model_name: str,
    num_tags: int,
    flavour: Flavour,
    max_batch_size: int = 16,
    version: int | None = None,
    parameters: dict[str, str] | None = None,
) -> str:
    """config.pbtxt text for the model; see `build_model_config`."""
    message = build_model_config(model_name, num_tags, flavour, max_batch_size, version, parameters)
    return text_format.MessageToString(message)


def parse_config(text: str) -> pb.ModelConfig:
    """A config.pbtxt back into its message (to read the pinned version, tags count, parameters)."""
    return text_format.Parse(text, pb.ModelConfig())


def pinned_version(config: pb.ModelConfig) -> int | None:
    versions = list(config.version_policy.specific.versions)
    return max(versions) if versions else None


def with_pinned_version(text: str, version: int, parameters: dict[str, str] | None = None) -> str:
    """The same config.pbtxt pinned to `version` instead, with `parameters` updated."""
    config = parse_config(text)
    config.version_policy.Clear()
    config.version_policy.specific.versions.append(version)
    for key, value in (parameters or {}).items():
        config.parameters[key].string_value = str(value)
    return text_format.MessageToString(config)


def flavour_of(config: pb.ModelConfig) -> Flavour:
    """Which of the two kinds a config is: the python backend or ONNX Runtime's platform."""
    return "python" if config.backend == "python" else "onnxruntime"


def as_published(
    text: str,
    *,
    name: str,
    version: int,
    flavour: Flavour | None = None,
    parameters: dict[str, str] | None = None,
) -> str:
    """A bundle's config.pbtxt as a model repository serves it: named `name`, pinned to `version`, and
    switched to `flavour` when that differs from the bundle's (where it runs: backend, instance group,
    batching, ragged inputs). Inputs, outputs, max batch size and the bundle's parameters stay as written;
    `parameters` adds deployment settings (the python flavour's thread counts)."""
    config = parse_config(text)
    config.name = name
    if flavour is not None and flavour != flavour_of(config):
        logits = next(o for o in config.output if o.name == "logits")
        target = build_model_config(name, logits.dims[-1], flavour, config.max_batch_size)
        config.platform, config.backend = target.platform, target.backend
        config.ClearField("instance_group")
        config.instance_group.extend(target.instance_group)
        config.dynamic_batching.CopyFrom(target.dynamic_batching)
        for tensor in config.input:
            tensor.allow_ragged_batch = flavour == "python"
    return with_pinned_version(text_format.MessageToString(config), version, parameters)
