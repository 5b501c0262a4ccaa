"""Triton python-backend model: runs its version folder's model.onnx with ONNX Runtime on CPU.

Triton hands `execute` a list of requests (dynamic batching, ragged sequence lengths allowed): they are padded
to one length, concatenated, run in one ONNX Runtime call and split back into one response per request.
Thread counts come from the config's string parameters `intra_op_thread_count` / `inter_op_thread_count`.
Tensors cross the stub boundary through DLPack, not `as_numpy()` / `Tensor(name, ndarray)`: the stub in
Triton 2.51 reads numpy's dtype struct with the numpy 1 layout, so under numpy 2 those give zero strides and
empty outputs. This file is copied into each version folder next to model.onnx; it imports nothing from the
project.
"""

import ctypes
import json
import os

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils

_USED_CAPSULE = b"used_dltensor"
_set_capsule_name = ctypes.pythonapi.PyCapsule_SetName
_set_capsule_name.argtypes = [ctypes.py_object, ctypes.c_char_p]


def to_numpy(tensor) -> np.ndarray:
    return np.from_dlpack(tensor)


def to_tensor(name: str, array: np.ndarray):
    capsule = np.ascontiguousarray(array).__dlpack__()
    tensor = pb_utils.Tensor.from_dlpack(name, capsule)
    # The stub marks a consumed capsule "used_dlpack", numpy expects "used_dltensor": without this rename
    # numpy's capsule destructor prints a ValueError on every request.
    _set_capsule_name(capsule, _USED_CAPSULE)
    return tensor


def pad_concat(arrays: list[np.ndarray]) -> np.ndarray:
    """[b_i, s_i] int64 arrays → one [sum b_i, max s_i] array, zero-padded on the right."""
    width = max(a.shape[1] for a in arrays)
    out = np.zeros((sum(a.shape[0] for a in arrays), width), dtype=np.int64)
    row = 0
    for a in arrays:
        out[row : row + a.shape[0], : a.shape[1]] = a
        row += a.shape[0]
    return out


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        config = json.loads(args["model_config"])
        params = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(params.get("intra_op_thread_count") or 1)
        options.inter_op_num_threads = int(params.get("inter_op_thread_count") or 1)
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        path = os.path.join(args["model_repository"], args["model_version"], "model.onnx")
        self.session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])

    def execute(self, requests: list) -> list:
        ids, masks = [], []
        for request in requests:
            ids.append(to_numpy(pb_utils.get_input_tensor_by_name(request, "input_ids")))
            masks.append(to_numpy(pb_utils.get_input_tensor_by_name(request, "attention_mask")))
        logits = self.session.run(
            ["logits"], {"input_ids": pad_concat(ids), "attention_mask": pad_concat(masks)}
        )[0]
        responses = []
        row = 0
        for a in ids:
            part = logits[row : row + a.shape[0], : a.shape[1]].astype(np.float32)
            row += a.shape[0]
            responses.append(pb_utils.InferenceResponse(output_tensors=[to_tensor("logits", part)]))
        return responses

    def finalize(self) -> None:
        self.session = None
