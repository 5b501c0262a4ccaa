"""The python-backend model outside Triton, with a stand-in for triton_python_backend_utils."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from include.adapters.ner.backends import OnnxRuntimeBackend
from include.adapters.serving.repository import PYTHON_MODEL
from include.core.bundle.config import build_model_config
from tests.helpers.bundle import tiny_bundle


class _Capsule:
    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, **_):
        return self.capsule

    def __dlpack_device__(self):
        return (1, 0)


class FakeTensor:
    def __init__(self, name: str, array: np.ndarray) -> None:
        self.name, self.array = name, array

    def __dlpack__(self, **kwargs):
        return self.array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()

    @staticmethod
    def from_dlpack(name: str, capsule) -> FakeTensor:
        return FakeTensor(name, np.from_dlpack(_Capsule(capsule)).copy())


def fake_pb_utils() -> types.ModuleType:
    module = types.ModuleType("triton_python_backend_utils")
    module.Tensor = FakeTensor
    module.get_input_tensor_by_name = lambda request, name: FakeTensor(name, request[name])
    module.InferenceResponse = lambda output_tensors: {t.name: t.array for t in output_tensors}
    return module


@pytest.fixture
def model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "triton_python_backend_utils", fake_pb_utils())
    spec = importlib.util.spec_from_file_location("ner_python_model", PYTHON_MODEL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (tmp_path / "1").mkdir()
    os.symlink(tiny_bundle() / "onnx" / "model.onnx", tmp_path / "1" / "model.onnx")
    config = build_model_config("ner", 17, "python", parameters={"intra_op_thread_count": "1"})
    from google.protobuf import json_format

    instance = module.TritonPythonModel()
    instance.initialize(
        {
            "model_config": json.dumps(json_format.MessageToDict(config, preserving_proto_field_name=True)),
            "model_repository": str(tmp_path),
            "model_version": "1",
        }
    )
    return instance


def request(rows: list[list[int]]) -> dict[str, np.ndarray]:
    ids = np.array(rows, dtype=np.int64)
    return {"input_ids": ids, "attention_mask": (ids > 0).astype(np.int64)}


def test_a_list_of_ragged_requests_runs_once_and_splits_back(model):
    requests = [request([[101, 7592, 102]]), request([[101, 7592, 2088, 999, 102], [101, 102, 0, 0, 0]])]
    responses = model.execute(requests)
    ort = OnnxRuntimeBackend(tiny_bundle() / "onnx" / "model.onnx", intra_op_threads=1)
    assert len(responses) == 2
    for req, resp in zip(requests, responses, strict=True):
        expected = ort.infer(req["input_ids"], req["attention_mask"])
        assert resp["logits"].shape == expected.shape
        np.testing.assert_allclose(resp["logits"], expected, atol=1e-5)
